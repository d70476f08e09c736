//! The DynamoDB store: one table per service (its name, index and index key in the manifest,
//! `services.yaml`), partitioned by owner.
//!
//! | table (default name)  | partition key | sort key | local secondary index (listing order) |
//! |-----------------------|---------------|----------|----------------------------------------|
//! | `organizer-contacts`  | `user_id`     | `id`     | `by-name`: `name_key` (lower-cased name, id) |
//! | `organizer-calendar`  | `user_id`     | `id`     | `by-start`: `start_key` (start, id)    |
//! | one per service       | `user_id`     | `id`     | the manifest's `index`: its `index_key` (the item's sort key) |
//!
//! Lists are Queries on the index with `user_id = :owner` (and the listing's key range, such
//! as the calendar's `from`/`to` window, in the key condition): never a Scan, never another
//! partition.
//!
//! # Items in one owner's partition
//!
//! | `id`               | what               | attributes besides `user_id` and `id` |
//! |--------------------|--------------------|---------------------------------------|
//! | the item's id      | an item            | its JSON members ([`item`]), the index key, `version` (N) |
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
//! | action                | [`DynamoStore`], for every service alike |
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
pub use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
pub use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, LocalSecondaryIndex,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification,
};

use super::idempotency::{IdempotencyRecord, TTL_ATTRIBUTE};
use super::model::{Stored, id_of_sort_key};
use super::{
    Item as ItemKind, KeyRange, Page, PageRequest, Store, StoreError, WriteError, into_page,
    key_bounds, spec,
};
use crate::manifest::ServiceSpec;

mod item;
mod replay;
mod write;

use item::{Codec, attribute, member_attributes, s};
pub use replay::{
    DEFAULT_REPLAY_TABLE, DynamoReplayStore, REPLAY_KEY, REPLAY_TTL, ensure_replay_table,
};
use write::ItemTable;
pub use write::TRANSACTION_ATTEMPTS;

/// How many times the SDK tries one DynamoDB call (the first try and two retries) when it is
/// throttled, fails with a 5xx, times out or loses its connection.
pub const DYNAMODB_MAX_ATTEMPTS: u32 = 3;
/// One try may take this long: DynamoDB answers in milliseconds, so a try this slow is stuck,
/// and another one is the better bet.
pub const DYNAMODB_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// All tries of one call, backoff included, stay within this: well inside the functions' 10 s
/// timeout, so the client gets a 503 with `Retry-After`, never Lambda's timeout.
pub const DYNAMODB_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// A DynamoDB client from the usual AWS configuration chain, with bounded retries and timeouts
/// (see the constants above; docs/api.md, "When DynamoDB fails"). `endpoint` (or the SDK's own
/// `AWS_ENDPOINT_URL_DYNAMODB`) points it at DynamoDB Local; for a local endpoint, a region and
/// placeholder credentials are supplied when the environment has none.
pub async fn client(endpoint: Option<&str>) -> Client {
    let endpoint = endpoint
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok());
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(DYNAMODB_ATTEMPT_TIMEOUT)
                .operation_timeout(DYNAMODB_OPERATION_TIMEOUT)
                .build(),
        )
        // Standard mode (retries throttling, 5xx, timeouts and lost connections; writes keep
        // their idempotency token across tries) with short waits: 50 ms, then up to 100 ms.
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(DYNAMODB_MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(50))
                .with_max_backoff(Duration::from_millis(500)),
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
    let config = aws_sdk_dynamodb::config::Builder::from(&loader.load().await)
        .interceptor(CallTiming)
        .build();
    Client::from_conf(config)
}

/// Times each DynamoDB call (its whole execution, retries included) and counts its attempts,
/// for the invocation's metrics (`DynamoDbCalls`, `DynamoDbRetries`, `DynamoDbLatency`), in a
/// span per call. The start is kept in the call's own config bag, so calls made side by side
/// never mix their times.
#[derive(Debug)]
struct CallTiming;

#[derive(Debug, Clone)]
struct CallStarted(std::time::Instant, f64);

impl aws_smithy_types::config_bag::Storable for CallStarted {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl aws_sdk_dynamodb::config::Intercept for CallTiming {
    fn name(&self) -> &'static str {
        "CallTiming"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<
            '_,
        >,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        cfg.interceptor_state()
            .store_put(CallStarted(std::time::Instant::now(), crate::xray::now()));
        crate::metrics::note(|t| t.dynamodb_calls += 1);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        // The first attempt is the call; every other one a retry.
        // "DynamoDB_20120810.Query" → "Query".
        if let Some((_, operation)) = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit_once('.'))
        {
            cfg.interceptor_state()
                .store_put(CallOperation(operation.to_string()));
        }
        if cfg.load::<AttemptSeen>().is_some() {
            crate::metrics::note(|t| t.dynamodb_retries += 1);
        }
        cfg.interceptor_state().store_put(AttemptSeen);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if let Some(CallStarted(started, start)) = cfg.load::<CallStarted>() {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            crate::metrics::note(|t| t.dynamodb_ms += ms);
            let failed = context.output_or_error().is_some_and(|r| r.is_err());
            let operation = cfg.load::<CallOperation>().map(|op| op.0.clone());
            tracing::debug!(
                event = "dynamodb_call",
                ms,
                failed,
                operation = operation.as_deref().unwrap_or("-"),
                "dynamodb call"
            );
            crate::metrics::push_span(crate::xray::Span {
                name: "DynamoDB",
                namespace: Some("aws"),
                operation,
                start: *start,
                end: crate::xray::now(),
                error: failed,
            });
        }
        Ok(())
    }
}

/// The call's operation (`Query`), read from the request as it is sent.
#[derive(Debug, Clone)]
struct CallOperation(String);

impl aws_smithy_types::config_bag::Storable for CallOperation {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// Set once the first attempt of a call has started.
#[derive(Debug, Clone)]
struct AttemptSeen;

impl aws_smithy_types::config_bag::Storable for AttemptSeen {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: SdkError<E, HttpResponse>,
) -> StoreError {
    // Worth a retry by the client: throttling, a timeout, a lost connection or answer, and
    // DynamoDB's own 5xx (InternalServerError, ServiceUnavailable) — a 503, not a 500.
    let transient = matches!(
        error,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    ) || matches!(
        error.code(),
        Some(
            "ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "TransactionConflictException"
                | "InternalServerError"
                | "ServiceUnavailable"
        )
    ) || error
        .raw_response()
        .is_some_and(|r| r.status().as_u16() >= 500);
    let throttled = matches!(
        error.code(),
        Some(
            "ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
        )
    );
    if throttled {
        crate::metrics::note(|t| t.dynamodb_throttled += 1);
    }
    let detail = DisplayErrorContext(&error).to_string();
    if transient {
        StoreError::Unavailable(detail)
    } else {
        StoreError::Backend(detail)
    }
}

/// One service's items in its DynamoDB table. Holds at most the manifest's quota of items per
/// user unless given another with [`with_quota`](Self::with_quota).
pub struct DynamoStore<T: ItemKind> {
    table: ItemTable,
    kind: std::marker::PhantomData<fn() -> T>,
}

impl<T: ItemKind> Clone for DynamoStore<T> {
    fn clone(&self) -> Self {
        Self {
            table: self.table.clone(),
            kind: std::marker::PhantomData,
        }
    }
}

impl<T: ItemKind> DynamoStore<T> {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: ItemTable {
                client,
                name: table.into(),
                quota: spec::<T>().quota,
            },
            kind: std::marker::PhantomData,
        }
    }

    /// The same store, holding at most `quota` items per user.
    #[must_use]
    pub fn with_quota(mut self, quota: u32) -> Self {
        self.table.quota = quota;
        self
    }
}

#[async_trait]
impl<T: ItemKind> Store<T> for DynamoStore<T> {
    async fn list(
        &self,
        owner: &str,
        range: &KeyRange,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let Some((lower, exclusive, upper)) = key_bounds(range, page.after.as_deref()) else {
            return Ok(Page {
                items: Vec::new(),
                next_after: None,
            });
        };
        let table = &spec::<T>().table;
        let mut query = self
            .table
            .client
            .query()
            .table_name(&self.table.name)
            .index_name(&table.index)
            .consistent_read(true)
            .expression_attribute_names("#key", &table.index_key)
            .expression_attribute_values(":owner", s(owner))
            .limit(limit_plus_one(page.limit));
        // A key condition takes one comparison on the sort key: an exclusive lower bound is
        // expressed with ExclusiveStartKey instead.
        let condition = match (&lower, &upper) {
            (Some(low), Some(high)) if !exclusive => {
                query = query
                    .expression_attribute_values(":low", s(low))
                    .expression_attribute_values(":high", s(high));
                // BETWEEN is inclusive: an item whose key is the upper bound itself is dropped
                // below (the bound is exclusive).
                "user_id = :owner AND #key BETWEEN :low AND :high"
            }
            (Some(low), None) if !exclusive => {
                query = query.expression_attribute_values(":low", s(low));
                "user_id = :owner AND #key >= :low"
            }
            (_, Some(high)) => {
                query = query.expression_attribute_values(":high", s(high));
                "user_id = :owner AND #key < :high"
            }
            _ => {
                // DynamoDB refuses an unused name.
                query = query.set_expression_attribute_names(None);
                "user_id = :owner"
            }
        };
        if exclusive && let Some(after) = &lower {
            query = query.set_exclusive_start_key(Some(HashMap::from([
                ("user_id".to_string(), s(owner)),
                ("id".to_string(), s(id_of_sort_key(after))),
                (table.index_key.clone(), s(after)),
            ])));
        }
        let out = query
            .key_condition_expression(condition)
            .send()
            .await
            .map_err(classify)?;
        let mut items = out
            .items()
            .iter()
            .map(T::decode)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(high) = &upper {
            items.retain(|item| item.sort_key() < *high);
        }
        Ok(into_page(
            items,
            page.limit,
            out.last_evaluated_key().is_some(),
        ))
    }

    async fn get(&self, owner: &str, id: &str) -> Result<Option<Stored<T>>, StoreError> {
        self.table.get(owner, id).await
    }

    async fn create(
        &self,
        owner: &str,
        item: &T,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Stored<T>, WriteError<T>> {
        self.table.create(owner, item, record).await
    }

    async fn replace(
        &self,
        owner: &str,
        id: &str,
        fields: &T::Fields,
        now: &str,
        if_version: Option<u64>,
    ) -> Result<Stored<T>, WriteError<T>> {
        // Without reading the item first: its fields, the sort key that follows them, and what
        // the item sets at each replace (`updated_at`); the rest (`created_at`) stays.
        let fields_json = serde_json::to_value(fields)
            .map_err(|e| StoreError::Backend(format!("cannot serialize fields: {e}")))?;
        let mut attributes = member_attributes(&fields_json)?;
        // An optional field now absent (null: a due date taken away) is removed, not left.
        let removed: Vec<String> = fields_json
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, value)| value.is_null())
            .map(|(name, _)| name.clone())
            .collect();
        for (name, value) in T::replace_extras(now) {
            if let Some(value) = attribute(&value) {
                attributes.push((name.to_string(), value));
            }
        }
        attributes.push((
            spec::<T>().table.index_key.clone(),
            s(&T::sort_key_for(id, fields)),
        ));
        self.table
            .replace(owner, id, attributes, &removed, if_version)
            .await
    }

    async fn delete(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<T>> {
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
    pub index: &'a str,
    pub index_key: &'a str,
}

impl<'a> TableSpec<'a> {
    /// The table of `service` (its index from the manifest), named `name`.
    pub fn of(service: &'a ServiceSpec, name: &'a str) -> Self {
        Self {
            name,
            index: &service.table.index,
            index_key: &service.table.index_key,
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
    active_with_ttl(client, spec.name, TTL_ATTRIBUTE, created).await?;
    if created {
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
    Ok(created)
}

/// Waits (up to 20 s) until the table `name` is active, then, when this call `created` it, turns
/// on TTL for `ttl_attribute`, best effort, as the SAM template does in AWS: the stores never
/// rely on TTL (they ignore or overwrite expired records).
pub(crate) async fn active_with_ttl(
    client: &Client,
    name: &str,
    ttl_attribute: &str,
    created: bool,
) -> Result<(), StoreError> {
    for _ in 0..100 {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(classify)?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            if created
                && let Ok(ttl) = TimeToLiveSpecification::builder()
                    .attribute_name(ttl_attribute)
                    .enabled(true)
                    .build()
            {
                let _ = client
                    .update_time_to_live()
                    .table_name(name)
                    .time_to_live_specification(ttl)
                    .send()
                    .await;
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(StoreError::Unavailable(format!(
        "table {name} did not become active"
    )))
}
