//! The writes both DynamoDB stores share, for either kind of item: conditional creates,
//! replaces and deletes with the quota counter and idempotency records in the same
//! transaction, the decoding of cancellation reasons, and retries of conflicting writes.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::classify;
use super::item::{
    COUNT_ATTRIBUTE, COUNTER_ID, Codec, Item, VERSION_ATTRIBUTE, n, record_from, record_id,
    record_item, s, stored,
};
use crate::store::idempotency::{IdempotencyRecord, TTL_ATTRIBUTE, epoch_now};
use crate::store::model::{Stored, is_valid_id};
use crate::store::{StoreError, WriteError, check_key_hash, check_new_id};

/// How many times a write that conflicts with a concurrent transaction (or is throttled) is
/// tried before the store answers [`StoreError::Unavailable`].
pub const TRANSACTION_ATTEMPTS: u32 = 8;
/// The first retry waits 10 to 20 ms, each next one up to twice as long, at most 500 ms: about
/// 1.6 s in all at worst, well within the functions' 10 s timeout.
const BACKOFF_BASE_MS: u64 = 20;
const BACKOFF_CAP_MS: u64 = 500;

fn build_error(error: BuildError) -> StoreError {
    StoreError::Backend(format!("building a DynamoDB request: {error}"))
}

/// Expression attribute names and values, collected while an expression is written (DynamoDB
/// refuses unused ones, and empty maps).
#[derive(Default, Clone)]
struct Names {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Names {
    fn name(&mut self, placeholder: &str, attribute: &str) -> &mut Self {
        self.names
            .insert(placeholder.to_string(), attribute.to_string());
        self
    }

    fn value(&mut self, placeholder: &str, value: AttributeValue) -> &mut Self {
        self.values.insert(placeholder.to_string(), value);
        self
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// The condition of a replace or delete: the item exists and, with `if_version`, is at
    /// that version (an item without a version is at version 1).
    fn existing(&mut self, if_version: Option<u64>) -> String {
        self.name("#id", "id");
        match if_version {
            None => "attribute_exists(#id)".to_string(),
            Some(version) => {
                self.name("#version", VERSION_ATTRIBUTE)
                    .value(":expected", n(version));
                if version == 1 {
                    "attribute_exists(#id) AND (#version = :expected OR attribute_not_exists(#version))"
                        .to_string()
                } else {
                    "attribute_exists(#id) AND #version = :expected".to_string()
                }
            }
        }
    }
}

/// The actions of a create's transaction, in order.
const CREATE_ITEM: usize = 0;
const CREATE_COUNTER: usize = 1;
const CREATE_RECORD: usize = 2;
/// The actions of a delete's transaction, in order (the counter is second).
const DELETE_ITEM: usize = 0;

fn condition_failed(reasons: &[CancellationReason], action: usize) -> bool {
    let failed =
        reasons.get(action).and_then(CancellationReason::code) == Some("ConditionalCheckFailed");
    if failed {
        crate::metrics::note(|t| t.conditional_check_failed += 1);
    }
    failed
}

/// What the cancellation reasons of a transaction no condition explains say: `Ok` when every
/// failure is a conflict with another transaction or throttling (another attempt may succeed),
/// a failure otherwise (a validation error, or no reasons at all).
fn retry_or_fail(reasons: &[CancellationReason]) -> Result<(), StoreError> {
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
    let failures: Vec<&str> = codes.iter().copied().filter(|c| *c != "None").collect();
    let transient = |c: &str| {
        matches!(
            c,
            "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
        )
    };
    if !failures.is_empty() && failures.iter().all(|c| transient(c)) {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "transaction cancelled: [{}]",
            codes.join(", ")
        )))
    }
}

/// Why a create was cancelled, decided from its reasons alone.
#[derive(Debug, PartialEq)]
enum CreateRefusal<'a> {
    /// A live record has the key; the reason carries it (ALL_OLD) unless DynamoDB left it out.
    KeyUsed(Option<&'a Item>),
    Exists,
    QuotaExceeded,
    /// Conflicts or throttling only: try again.
    Retry,
}

/// The key first: a retry of a create that succeeded must get its first answer, although its
/// id now exists and its room in the quota is taken. Then the id, then the quota.
fn create_refusal(reasons: &[CancellationReason]) -> Result<CreateRefusal<'_>, StoreError> {
    Ok(if condition_failed(reasons, CREATE_RECORD) {
        CreateRefusal::KeyUsed(
            reasons
                .get(CREATE_RECORD)
                .and_then(CancellationReason::item),
        )
    } else if condition_failed(reasons, CREATE_ITEM) {
        CreateRefusal::Exists
    } else if condition_failed(reasons, CREATE_COUNTER) {
        CreateRefusal::QuotaExceeded
    } else {
        retry_or_fail(reasons)?;
        CreateRefusal::Retry
    })
}

fn exhausted() -> StoreError {
    StoreError::Unavailable(format!(
        "write still conflicting with concurrent writes (or throttled) after \
         {TRANSACTION_ATTEMPTS} attempts"
    ))
}

/// Sleeps before retry number `retry` (1, 2, ...): a random time between half of and all of
/// `BACKOFF_BASE_MS × 2^(retry - 1)`, at most `BACKOFF_CAP_MS`, so that writers that conflicted
/// once do not meet again.
async fn backoff(retry: u32) {
    let ceiling = BACKOFF_BASE_MS
        .saturating_mul(1 << retry.saturating_sub(1).min(10))
        .min(BACKOFF_CAP_MS);
    let random = uuid::Uuid::new_v4().as_u64_pair().0;
    let millis = ceiling / 2 + random % (ceiling / 2 + 1);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// What both stores share: the client, the table and the quota, and the writes, which are the
/// same for either kind of item.
#[derive(Clone)]
pub(super) struct ItemTable {
    pub(super) client: Client,
    pub(super) name: String,
    pub(super) quota: u32,
}

impl ItemTable {
    pub(super) async fn get<T: Codec>(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<Stored<T>>, StoreError> {
        if !is_valid_id(id) {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .key("user_id", s(owner))
            .key("id", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item().map(stored).transpose()
    }

    pub(super) async fn record(
        &self,
        owner: &str,
        key_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        check_key_hash(key_hash)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .key("user_id", s(owner))
            .key("id", s(&record_id(key_hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let record = out.item().map(record_from).transpose()?;
        Ok(record.filter(|r| r.is_live(epoch_now())))
    }

    /// One TransactWriteItems call: `None` when it committed, the cancellation reasons (one
    /// per action, in order) when it was cancelled.
    async fn transact(
        &self,
        actions: &[TransactWriteItem],
    ) -> Result<Option<Vec<CancellationReason>>, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions.to_vec()))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    Ok(Some(cancelled.cancellation_reasons().to_vec()))
                }
                _ => Err(classify(error)),
            },
        }
    }

    /// The counter's update: `delta` is 1 (with the quota as condition) or -1.
    fn count(&self, owner: &str, delta: i32) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.name)
            .key("user_id", s(owner))
            .key("id", s(COUNTER_ID))
            .update_expression("ADD #count :delta")
            .expression_attribute_names("#count", COUNT_ATTRIBUTE)
            .expression_attribute_values(":delta", n(delta));
        if delta > 0 {
            update = update
                .condition_expression("attribute_not_exists(#count) OR #count < :limit")
                .expression_attribute_values(":limit", n(self.quota));
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(build_error)?)
            .build())
    }

    /// The put of an idempotency record: only over no record, or over one expired at `now`
    /// that TTL has not deleted yet. On failure the live record comes back (ALL_OLD).
    fn record_put(
        &self,
        owner: &str,
        record: &IdempotencyRecord,
        now: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(record_item(owner, record)))
            .condition_expression("attribute_not_exists(#id) OR #expires <= :now")
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Creates `item` at version 1 with its counter update and, if given, its idempotency
    /// record, in one transaction (actions in this order: item, counter, record).
    pub(super) async fn create<T: Codec>(
        &self,
        owner: &str,
        item: &T,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Stored<T>, WriteError<T>> {
        check_new_id(item.id())?;
        if let Some(record) = record {
            check_key_hash(&record.key_hash)?;
        }
        let mut attributes: Item = item.attributes()?.into_iter().collect();
        attributes.insert("user_id".to_string(), s(owner));
        attributes.insert("id".to_string(), s(item.id()));
        attributes.insert(VERSION_ATTRIBUTE.to_string(), n(1));
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(attributes))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", "id")
            .build()
            .map_err(build_error)?;
        let actions = vec![
            TransactWriteItem::builder().put(put).build(),
            self.count(owner, 1)?,
        ];
        for attempt in 0..TRANSACTION_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            // "Expired" is decided afresh at each attempt.
            let mut attempt_actions = actions.clone();
            if let Some(record) = record {
                attempt_actions.push(self.record_put(owner, record, epoch_now())?);
            }
            let Some(reasons) = self.transact(&attempt_actions).await? else {
                return Ok(Stored {
                    item: item.clone(),
                    version: 1,
                });
            };
            match create_refusal(&reasons)? {
                CreateRefusal::KeyUsed(old) => {
                    let existing = match (old, record) {
                        (Some(old), _) => Some(record_from(old)?),
                        (None, Some(record)) => self.record(owner, &record.key_hash).await?,
                        (None, None) => None,
                    };
                    if let Some(existing) = existing {
                        return Err(WriteError::IdempotencyKeyUsed(Box::new(existing)));
                    }
                    // It expired in between: the next attempt overwrites it.
                }
                CreateRefusal::Exists => return Err(WriteError::Exists),
                CreateRefusal::QuotaExceeded => {
                    return Err(WriteError::QuotaExceeded { limit: self.quota });
                }
                CreateRefusal::Retry => {}
            }
        }
        Err(exhausted().into())
    }

    /// Sets `attributes` on an existing item, removes the `removed` ones and raises its
    /// version, in one UpdateItem.
    pub(super) async fn replace<T: Codec>(
        &self,
        owner: &str,
        id: &str,
        attributes: Vec<(String, AttributeValue)>,
        removed: &[String],
        if_version: Option<u64>,
    ) -> Result<Stored<T>, WriteError<T>> {
        if !is_valid_id(id) {
            return Err(WriteError::NotFound);
        }
        let mut names = Names::default();
        let mut assignments = Vec::with_capacity(attributes.len() + 1);
        for (i, (attribute, value)) in attributes.into_iter().enumerate() {
            names
                .name(&format!("#a{i}"), &attribute)
                .value(&format!(":a{i}"), value);
            assignments.push(format!("#a{i} = :a{i}"));
        }
        names
            .name("#version", VERSION_ATTRIBUTE)
            .value(":one", n(1));
        assignments.push("#version = if_not_exists(#version, :one) + :one".to_string());
        let mut expression = format!("SET {}", assignments.join(", "));
        if !removed.is_empty() {
            let mut removals = Vec::with_capacity(removed.len());
            for (i, attribute) in removed.iter().enumerate() {
                names.name(&format!("#r{i}"), attribute);
                removals.push(format!("#r{i}"));
            }
            expression.push_str(&format!(" REMOVE {}", removals.join(", ")));
        }
        let condition = names.existing(if_version);
        let update = self
            .client
            .update_item()
            .table_name(&self.name)
            .key("user_id", s(owner))
            .key("id", s(id))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(names.names())
            .set_expression_attribute_values(names.values())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for attempt in 0..TRANSACTION_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            match update.clone().send().await {
                Ok(out) => {
                    let new = out.attributes().ok_or_else(|| {
                        StoreError::Backend("UpdateItem returned no attributes".into())
                    })?;
                    return Ok(stored(new)?);
                }
                Err(error) => match error.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                        crate::metrics::note(|t| t.conditional_check_failed += 1);
                        return Err(refusal(failed.item()));
                    }
                    Some(UpdateItemError::TransactionConflictException(_)) => {}
                    _ => return Err(classify(error).into()),
                },
            }
        }
        Err(exhausted().into())
    }

    /// Deletes an existing item and gives its room in the quota back, in one transaction
    /// (actions: item, counter).
    pub(super) async fn delete<T: Codec>(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<T>> {
        if !is_valid_id(id) {
            return Err(WriteError::NotFound);
        }
        let mut names = Names::default();
        let condition = names.existing(if_version);
        let delete = Delete::builder()
            .table_name(&self.name)
            .key("user_id", s(owner))
            .key("id", s(id))
            .condition_expression(condition)
            .set_expression_attribute_names(names.names())
            .set_expression_attribute_values(names.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        let actions = [
            TransactWriteItem::builder().delete(delete).build(),
            self.count(owner, -1)?,
        ];
        for attempt in 0..TRANSACTION_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let Some(reasons) = self.transact(&actions).await? else {
                return Ok(());
            };
            if condition_failed(&reasons, DELETE_ITEM) {
                let old = reasons.get(DELETE_ITEM).and_then(CancellationReason::item);
                return Err(refusal(old));
            }
            retry_or_fail(&reasons)?;
        }
        Err(exhausted().into())
    }
}

/// Why a replace or delete was refused: `old` is the item as the refused request found it
/// (`ReturnValuesOnConditionCheckFailure=ALL_OLD`, which DynamoDB fills whenever the item
/// exists), so no second read is needed: an item means a stale version, none a missing item.
fn refusal<T: Codec>(old: Option<&Item>) -> WriteError<T> {
    match old.map(stored) {
        Some(Ok(current)) => WriteError::Stale {
            current: Box::new(current),
        },
        Some(Err(error)) => error.into(),
        None => WriteError::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::types::CancellationReason;
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use serde_json::{Value, json};

    use super::*;
    use crate::testing::{Person as Contact, PersonFields as ContactFields};

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes
            .iter()
            .map(|code| CancellationReason::builder().code(*code).build())
            .collect()
    }

    #[test]
    fn cancellations_are_told_apart() {
        let decide = |codes: &[&str]| {
            create_refusal(&reasons(codes))
                .map(|refusal| format!("{refusal:?}"))
                .map_err(|e| e.to_string())
        };
        let ccf = "ConditionalCheckFailed";
        assert_eq!(decide(&["None", "None", ccf]), Ok("KeyUsed(None)".into()));
        // The key wins over the id and the quota; the id over the quota.
        assert_eq!(decide(&[ccf, ccf, ccf]), Ok("KeyUsed(None)".into()));
        assert_eq!(decide(&[ccf, ccf, "None"]), Ok("Exists".into()));
        assert_eq!(decide(&[ccf, ccf]), Ok("Exists".into()));
        assert_eq!(decide(&["None", ccf]), Ok("QuotaExceeded".into()));
        // A failed condition is an answer even when another action conflicted.
        assert_eq!(
            decide(&["None", "TransactionConflict", ccf]),
            Ok("KeyUsed(None)".into())
        );
        assert_eq!(decide(&["None", "TransactionConflict"]), Ok("Retry".into()));
        assert_eq!(
            decide(&["ThrottlingError", "TransactionConflict", "None"]),
            Ok("Retry".into())
        );
        for hopeless in [&["ValidationError", "None"][..], &["None", "None"], &[]] {
            assert!(decide(hopeless).is_err(), "{hopeless:?}");
        }
        assert!(retry_or_fail(&reasons(&["TransactionConflict", "ValidationError"])).is_err());
    }

    /// A stand-in for DynamoDB on port 0: answers each request with the next of `answers`
    /// (repeating the last) and notes each request's operation in `seen`.
    struct Fake {
        table: ItemTable,
        seen: Arc<Mutex<Vec<String>>>,
    }

    async fn fake(answers: Vec<(u16, Value)>) -> Fake {
        let answers = Arc::new(Mutex::new(VecDeque::from(answers)));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = Router::new().fallback(move |headers: HeaderMap| {
            let (answers, log) = (answers.clone(), log.clone());
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .trim_start_matches("DynamoDB_20120810.")
                    .to_string();
                log.lock().unwrap().push(target);
                let mut answers = answers.lock().unwrap();
                let (status, body) = if answers.len() > 1 {
                    answers.pop_front().unwrap()
                } else {
                    answers.front().cloned().unwrap()
                };
                (
                    StatusCode::from_u16(status).unwrap(),
                    [("content-type", "application/x-amz-json-1.0")],
                    body.to_string(),
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Fake {
            table: ItemTable {
                client: super::super::client(Some(&url)).await,
                name: "contacts".into(),
                quota: 10,
            },
            seen,
        }
    }

    fn cancelled(codes: &[&str]) -> (u16, Value) {
        let reasons: Vec<Value> = codes.iter().map(|c| json!({ "Code": c })).collect();
        (
            400,
            json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
                "CancellationReasons": reasons,
            }),
        )
    }

    fn ok(body: Value) -> (u16, Value) {
        (200, body)
    }

    fn contact() -> Contact {
        Contact {
            id: "c-1".into(),
            fields: ContactFields {
                name: "Ada".into(),
                ..ContactFields::default()
            },
        }
    }

    fn record() -> IdempotencyRecord {
        IdempotencyRecord {
            key_hash: "00ab".into(),
            fingerprint: "f1".into(),
            status: 201,
            body: "{}".into(),
            location: None,
            etag: None,
            expires_at: epoch_now() + 60,
        }
    }

    #[tokio::test]
    async fn conflicting_creates_are_tried_again() {
        let conflict = cancelled(&["None", "TransactionConflict"]);
        let server = fake(vec![conflict.clone(), conflict, ok(json!({}))]).await;
        let created = server
            .table
            .create("auth0|u", &contact(), None)
            .await
            .unwrap();
        assert_eq!(created.version, 1);
        assert_eq!(server.seen.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_create_conflicting_every_time_is_unavailable_after_the_last_attempt() {
        let server = fake(vec![cancelled(&[
            "TransactionConflict",
            "TransactionConflict",
        ])])
        .await;
        let result = server.table.create("auth0|u", &contact(), None).await;
        assert!(
            matches!(result, Err(WriteError::Store(StoreError::Unavailable(_)))),
            "{result:?}"
        );
        assert_eq!(
            server.seen.lock().unwrap().len(),
            TRANSACTION_ATTEMPTS as usize
        );
    }

    #[tokio::test]
    async fn other_cancellations_are_not_tried_again() {
        let server = fake(vec![cancelled(&["ValidationError", "None"])]).await;
        let result = server.table.create("auth0|u", &contact(), None).await;
        assert!(
            matches!(result, Err(WriteError::Store(StoreError::Backend(_)))),
            "{result:?}"
        );
        assert_eq!(*server.seen.lock().unwrap(), ["TransactWriteItems"]);
    }

    #[tokio::test]
    async fn a_used_key_without_the_record_in_the_reason_is_read() {
        let live = record();
        let stored = json!({ "Item": {
            "user_id": { "S": "auth0|u" },
            "id": { "S": "#idem#00ab" },
            "fingerprint": { "S": "f1" },
            "status": { "N": "201" },
            "body": { "S": "{}" },
            "expires_at": { "N": live.expires_at.to_string() },
        }});
        let server = fake(vec![
            cancelled(&["None", "None", "ConditionalCheckFailed"]),
            ok(stored),
        ])
        .await;
        let result = server
            .table
            .create("auth0|u", &contact(), Some(&live))
            .await;
        match result {
            Err(WriteError::IdempotencyKeyUsed(found)) => assert_eq!(*found, live),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            *server.seen.lock().unwrap(),
            ["TransactWriteItems", "GetItem"]
        );
    }

    #[tokio::test]
    async fn conflicting_replaces_and_deletes_are_tried_again() {
        let conflict = (
            400,
            json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
                "message": "Transaction is ongoing for the item",
            }),
        );
        let replaced = ok(json!({ "Attributes": {
            "user_id": { "S": "auth0|u" },
            "id": { "S": "c-1" },
            "name": { "S": "Ada" },
            "version": { "N": "2" },
        }}));
        let server = fake(vec![conflict, replaced]).await;
        let stored: Stored<Contact> = server
            .table
            .replace("auth0|u", "c-1", Vec::new(), &[], Some(1))
            .await
            .unwrap();
        assert_eq!(
            (stored.item.fields.name.as_str(), stored.version),
            ("Ada", 2)
        );
        assert_eq!(*server.seen.lock().unwrap(), ["UpdateItem", "UpdateItem"]);

        let server = fake(vec![
            cancelled(&["TransactionConflict", "None"]),
            ok(json!({})),
        ])
        .await;
        server
            .table
            .delete::<Contact>("auth0|u", "c-1", None)
            .await
            .unwrap();
        assert_eq!(server.seen.lock().unwrap().len(), 2);
    }
}
