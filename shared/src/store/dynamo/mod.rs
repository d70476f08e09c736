//! DynamoDB stores: one table per microservice, each partitioned by owner.
//!
//! | table (default name)  | partition key | sort key | local secondary index (listing order) |
//! |-----------------------|---------------|----------|----------------------------------------|
//! | `organizer-contacts`  | `user_id`     | `id`     | `by-name`: `name_key` (lower-cased name, id) |
//! | `organizer-calendar`  | `user_id`     | `id`     | `by-start`: `start_key` (start, id)    |
//!
//! Lists are Queries on the index with `user_id = :owner` (and, for the calendar, the
//! `from`/`to` window in the key condition): never a Scan, never another partition.
//!
//! # Items in one owner's partition
//!
//! | `id`               | what               | attributes besides `user_id` and `id` |
//! |--------------------|--------------------|---------------------------------------|
//! | the item's id      | a contact or event | its fields, `name_key` / `start_key`, `version` (N) |
//! | `#count`           | the quota counter  | `item_count` (N): how many items the owner holds |
//! | `#idem#<key hash>` | idempotency record | `fingerprint`, `status` (N), `body`, `location`?, `etag`?, `expires_at` (N, the TTL attribute) |
//!
//! Item ids are `[A-Za-z0-9_-]{1,64}`, so a `#` sort key never collides with one, and the
//! stores refuse any other id. The counter and the records have no `name_key` / `start_key`, so
//! the (sparse) listing index never holds them.
//!
//! Items written before writes existed (by the old seeding) have no `version` and read as
//! version 1; they were never counted either, so such a user's counter starts below what they
//! hold, by at most the sample items (a delete of one can take the counter below zero).
//!
//! # Writes
//!
//! - create: one TransactWriteItems of a Put of the item (`attribute_not_exists(id)`), an
//!   Update of the counter (`ADD item_count :1` if `attribute_not_exists(item_count) OR
//!   item_count < :limit`) and, with an idempotency record, a Put of the record
//!   (`attribute_not_exists(id) OR expires_at <= :now`, so an expired record that TTL has not
//!   deleted yet is overwritten). The cancellation reasons, one per action, say which condition
//!   failed: the record's (the key is used; with `ReturnValuesOnConditionCheckFailure=ALL_OLD`
//!   the record comes back in the reason), the item's (it exists) or the counter's (quota).
//! - replace: one UpdateItem, on `attribute_exists(id)` and, with `if_version`, `version = :v`.
//!   `ReturnValuesOnConditionCheckFailure=ALL_OLD` returns the current item when the version
//!   differs, so a stale write costs no second read. The counter is not touched.
//! - delete: one TransactWriteItems of a Delete (the same conditions as a replace, ALL_OLD) and
//!   an Update of the counter (`ADD item_count :-1`). A refused replace or delete whose
//!   refusal carries no item found none: `NotFound`.
//!
//! Transactions on one owner's counter at the same time can be cancelled with
//! `TransactionConflict` (and an UpdateItem can meet a `TransactionConflictException`). The
//! stores retry those, and throttling, up to [`TRANSACTION_ATTEMPTS`] times with jittered
//! exponential backoff, then answer [`StoreError::Unavailable`]. Nothing is ever half written.
//!
//! # IAM: the actions each store calls
//!
//! Exactly these, on its own table and, for Query, its index; never Scan. A TransactWriteItems
//! call is authorized by the actions it contains (PutItem, UpdateItem, DeleteItem); the stores
//! use no ConditionCheck action, so they need no `dynamodb:ConditionCheckItem`.
//!
//! | action                | [`DynamoContactStore`] and [`DynamoEventStore`] alike |
//! |-----------------------|-------------------------------------------------------|
//! | `dynamodb:Query`      | list (on the `by-name` / `by-start` index) |
//! | `dynamodb:GetItem`    | get; `idempotency_record`; create, to read the record that refused it only if the cancellation reason left it out (neither DynamoDB nor DynamoDB Local does) |
//! | `dynamodb:PutItem`    | create (the item, and the idempotency record, in the transaction) |
//! | `dynamodb:UpdateItem` | create and delete (the counter, in the transaction); replace |
//! | `dynamodb:DeleteItem` | delete (in the transaction) |
//!
//! Reads (GetItem, and Query on the local secondary index) are strongly consistent: a user's
//! next read shows their last write, and a retry finds the record its first attempt wrote.
//!
//! [`ensure_table`] (local use and tests; in AWS the SAM template owns the tables) also calls
//! CreateTable, DescribeTable, UpdateContinuousBackups and UpdateTimeToLive.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, LocalSecondaryIndex,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification,
};

use super::idempotency::{IdempotencyRecord, TTL_ATTRIBUTE};
use super::model::{Contact, ContactFields, Event, EventFields, Stored, id_of_sort_key};
use super::{
    ContactStore, DEFAULT_CONTACT_QUOTA, DEFAULT_EVENT_QUOTA, EventStore, Page, PageRequest,
    StoreError, TimeRange, WriteError, event_bounds, into_page,
};

mod item;
mod write;

use item::{Codec, contact_fields, event_fields, s};
use write::ItemTable;
pub use write::TRANSACTION_ATTEMPTS;

pub const DEFAULT_CONTACTS_TABLE: &str = "organizer-contacts";
pub const DEFAULT_CALENDAR_TABLE: &str = "organizer-calendar";
const CONTACTS_INDEX: &str = "by-name";
const CALENDAR_INDEX: &str = "by-start";

/// A DynamoDB client from the usual AWS configuration chain. `endpoint` (or the SDK's own
/// `AWS_ENDPOINT_URL_DYNAMODB`) points it at DynamoDB Local; for a local endpoint, a region and
/// placeholder credentials are supplied when the environment has none.
pub async fn client(endpoint: Option<&str>) -> Client {
    let endpoint = endpoint
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok());
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(8))
            .build(),
    );
    if let Some(url) = endpoint.as_deref() {
        loader = loader.endpoint_url(url);
        let local = ["://localhost", "://127.0.0.1", "://[::1]"]
            .iter()
            .any(|h| url.contains(h));
        if local && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader = loader.credentials_provider(Credentials::new(
                "local",
                "local",
                None,
                None,
                "dynamodb-local",
            ));
        }
        if local
            && std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            loader = loader.region(Region::new("us-east-1"));
        }
    }
    Client::new(&loader.load().await)
}

fn classify<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    error: SdkError<E, R>,
) -> StoreError {
    let transient = matches!(
        error,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
    ) || matches!(
        error.code(),
        Some(
            "ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "TransactionConflictException"
        )
    );
    let detail = DisplayErrorContext(&error).to_string();
    if transient {
        StoreError::Unavailable(detail)
    } else {
        StoreError::Backend(detail)
    }
}

/// Contacts in a DynamoDB table. Holds at most [`DEFAULT_CONTACT_QUOTA`] contacts per user
/// unless given another quota with [`with_quota`](Self::with_quota).
#[derive(Clone)]
pub struct DynamoContactStore {
    table: ItemTable,
}

impl DynamoContactStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: ItemTable {
                client,
                name: table.into(),
                quota: DEFAULT_CONTACT_QUOTA,
            },
        }
    }

    /// The same store, holding at most `quota` contacts per user.
    #[must_use]
    pub fn with_quota(mut self, quota: u32) -> Self {
        self.table.quota = quota;
        self
    }
}

#[async_trait]
impl ContactStore for DynamoContactStore {
    async fn list_contacts(
        &self,
        owner: &str,
        page: &PageRequest,
    ) -> Result<Page<Contact>, StoreError> {
        let start_key = page.after.as_ref().map(|after| {
            HashMap::from([
                ("user_id".to_string(), s(owner)),
                ("id".to_string(), s(id_of_sort_key(after))),
                ("name_key".to_string(), s(after)),
            ])
        });
        let out = self
            .table
            .client
            .query()
            .table_name(&self.table.name)
            .index_name(CONTACTS_INDEX)
            .consistent_read(true)
            .key_condition_expression("user_id = :owner")
            .expression_attribute_values(":owner", s(owner))
            .set_exclusive_start_key(start_key)
            .limit(limit_plus_one(page.limit))
            .send()
            .await
            .map_err(classify)?;
        let items = out
            .items()
            .iter()
            .map(Contact::decode)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(
            items,
            page.limit,
            out.last_evaluated_key().is_some(),
            Contact::sort_key,
        ))
    }

    async fn get_contact(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<Stored<Contact>>, StoreError> {
        self.table.get(owner, id).await
    }

    async fn create_contact(
        &self,
        owner: &str,
        contact: &Contact,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Stored<Contact>, WriteError<Contact>> {
        self.table.create(owner, contact, record).await
    }

    async fn replace_contact(
        &self,
        owner: &str,
        id: &str,
        fields: &ContactFields,
        updated_at: &str,
        if_version: Option<u64>,
    ) -> Result<Stored<Contact>, WriteError<Contact>> {
        let mut attributes = contact_fields(id, fields);
        attributes.push(("updated_at", s(updated_at)));
        self.table.replace(owner, id, attributes, if_version).await
    }

    async fn delete_contact(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<Contact>> {
        self.table.delete(owner, id, if_version).await
    }

    async fn idempotency_record(
        &self,
        owner: &str,
        key_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.table.record(owner, key_hash).await
    }
}

/// Calendar events in a DynamoDB table. Holds at most [`DEFAULT_EVENT_QUOTA`] events per user
/// unless given another quota with [`with_quota`](Self::with_quota).
#[derive(Clone)]
pub struct DynamoEventStore {
    table: ItemTable,
}

impl DynamoEventStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: ItemTable {
                client,
                name: table.into(),
                quota: DEFAULT_EVENT_QUOTA,
            },
        }
    }

    /// The same store, holding at most `quota` events per user.
    #[must_use]
    pub fn with_quota(mut self, quota: u32) -> Self {
        self.table.quota = quota;
        self
    }
}

#[async_trait]
impl EventStore for DynamoEventStore {
    async fn list_events(
        &self,
        owner: &str,
        range: &TimeRange,
        page: &PageRequest,
    ) -> Result<Page<Event>, StoreError> {
        let Some((lower, exclusive, upper)) = event_bounds(range, page.after.as_deref()) else {
            return Ok(Page {
                items: Vec::new(),
                next_after: None,
            });
        };
        let mut query = self
            .table
            .client
            .query()
            .table_name(&self.table.name)
            .index_name(CALENDAR_INDEX)
            .consistent_read(true)
            .expression_attribute_values(":owner", s(owner))
            .limit(limit_plus_one(page.limit));
        // A key condition takes one comparison on the sort key: an exclusive lower bound is
        // expressed with ExclusiveStartKey instead.
        let condition = match (&lower, &upper) {
            (Some(low), Some(high)) if !exclusive => {
                query = query
                    .expression_attribute_values(":low", s(low))
                    .expression_attribute_values(":high", s(high));
                // BETWEEN is inclusive; no stored key equals a bare time (keys are time#id), so
                // `<= high` here means `< high` for every stored key.
                "user_id = :owner AND start_key BETWEEN :low AND :high"
            }
            (Some(low), None) if !exclusive => {
                query = query.expression_attribute_values(":low", s(low));
                "user_id = :owner AND start_key >= :low"
            }
            (_, Some(high)) => {
                query = query.expression_attribute_values(":high", s(high));
                "user_id = :owner AND start_key < :high"
            }
            _ => "user_id = :owner",
        };
        if exclusive && let Some(after) = &lower {
            query = query.set_exclusive_start_key(Some(HashMap::from([
                ("user_id".to_string(), s(owner)),
                ("id".to_string(), s(id_of_sort_key(after))),
                ("start_key".to_string(), s(after)),
            ])));
        }
        let out = query
            .key_condition_expression(condition)
            .send()
            .await
            .map_err(classify)?;
        let items = out
            .items()
            .iter()
            .map(Event::decode)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(
            items,
            page.limit,
            out.last_evaluated_key().is_some(),
            Event::sort_key,
        ))
    }

    async fn get_event(&self, owner: &str, id: &str) -> Result<Option<Stored<Event>>, StoreError> {
        self.table.get(owner, id).await
    }

    async fn create_event(
        &self,
        owner: &str,
        event: &Event,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Stored<Event>, WriteError<Event>> {
        self.table.create(owner, event, record).await
    }

    async fn replace_event(
        &self,
        owner: &str,
        id: &str,
        fields: &EventFields,
        if_version: Option<u64>,
    ) -> Result<Stored<Event>, WriteError<Event>> {
        self.table
            .replace(owner, id, event_fields(id, fields), if_version)
            .await
    }

    async fn delete_event(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<Event>> {
        self.table.delete(owner, id, if_version).await
    }

    async fn idempotency_record(
        &self,
        owner: &str,
        key_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.table.record(owner, key_hash).await
    }
}

fn limit_plus_one(limit: usize) -> i32 {
    i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX)
}

/// Which table to create: its name and the attribute its listing index sorts on.
pub struct TableSpec<'a> {
    pub name: &'a str,
    pub index: &'static str,
    pub index_key: &'static str,
}

impl<'a> TableSpec<'a> {
    pub fn contacts(name: &'a str) -> Self {
        Self {
            name,
            index: CONTACTS_INDEX,
            index_key: "name_key",
        }
    }

    pub fn calendar(name: &'a str) -> Self {
        Self {
            name,
            index: CALENDAR_INDEX,
            index_key: "start_key",
        }
    }
}

/// Creates the table (on-demand, point-in-time recovery on where supported) when it does not
/// exist, and waits until it is active. Returns whether it was created. For local use and
/// tests: in AWS the SAM template owns the tables.
pub async fn ensure_table(client: &Client, spec: &TableSpec<'_>) -> Result<bool, StoreError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let bad = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Backend(e.to_string());
    let created = match client
        .create_table()
        .table_name(spec.name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("user_id").map_err(bad)?)
        .attribute_definitions(attr("id").map_err(bad)?)
        .attribute_definitions(attr(spec.index_key).map_err(bad)?)
        .key_schema(key("user_id", KeyType::Hash).map_err(bad)?)
        .key_schema(key("id", KeyType::Range).map_err(bad)?)
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(spec.index)
                .key_schema(key("user_id", KeyType::Hash).map_err(bad)?)
                .key_schema(key(spec.index_key, KeyType::Range).map_err(bad)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(bad)?,
        )
        .send()
        .await
    {
        Ok(_) => true,
        Err(e) if e.code() == Some("ResourceInUseException") => false,
        Err(e) => return Err(classify(e)),
    };
    for _ in 0..100 {
        let out = client
            .describe_table()
            .table_name(spec.name)
            .send()
            .await
            .map_err(classify)?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            if created {
                // Best effort, as the SAM template does in AWS: idempotency records expire by
                // TTL. The stores never rely on it (they ignore expired records).
                if let Ok(ttl) = TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                {
                    let _ = client
                        .update_time_to_live()
                        .table_name(spec.name)
                        .time_to_live_specification(ttl)
                        .send()
                        .await;
                }
                // Best effort: DynamoDB Local accepts and ignores it; AWS turns it on.
                let pitr = PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build();
                if let Ok(pitr) = pitr {
                    let _ = client
                        .update_continuous_backups()
                        .table_name(spec.name)
                        .point_in_time_recovery_specification(pitr)
                        .send()
                        .await;
                }
            }
            return Ok(created);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(StoreError::Unavailable(format!(
        "table {} did not become active",
        spec.name
    )))
}
