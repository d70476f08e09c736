//! DynamoDB stores: one table per microservice, each partitioned by owner.
//!
//! | table (default name)  | partition key | sort key | local secondary index (listing order) |
//! |-----------------------|---------------|----------|----------------------------------------|
//! | `organizer-contacts`  | `user_id`     | `id`     | `by-name`: `name_key` (lower-cased name, id) |
//! | `organizer-calendar`  | `user_id`     | `id`     | `by-start`: `start_key` (start, id)    |
//!
//! Lists are Queries on the index with `user_id = :owner` (and, for the calendar, the
//! `from`/`to` window in the key condition): never a Scan, never another partition.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    LocalSecondaryIndex, PointInTimeRecoverySpecification, Projection, ProjectionType,
    ScalarAttributeType, TableStatus,
};

use super::model::{Contact, ContactFields, Event, EventFields, id_of_sort_key};
use super::{
    ContactStore, EventStore, Page, PageRequest, StoreError, TimeRange, event_bounds, into_page,
};

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
        )
    );
    let detail = DisplayErrorContext(&error).to_string();
    if transient {
        StoreError::Unavailable(detail)
    } else {
        StoreError::Backend(detail)
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

type Item = HashMap<String, AttributeValue>;

fn text(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        None => Ok(String::new()),
        Some(_) => Err(StoreError::Backend(format!(
            "attribute {name} is not a string"
        ))),
    }
}

fn contact_from(item: &Item) -> Result<Contact, StoreError> {
    Ok(Contact {
        id: text(item, "id")?,
        fields: ContactFields {
            name: text(item, "name")?,
            email: text(item, "email")?,
            phone: text(item, "phone")?,
            company: text(item, "company")?,
        },
        created_at: text(item, "created_at")?,
        updated_at: text(item, "updated_at")?,
    })
}

fn event_from(item: &Item) -> Result<Event, StoreError> {
    let attendees = match item.get("attendees") {
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| {
                v.as_s()
                    .cloned()
                    .map_err(|_| StoreError::Backend("attendee is not a string".into()))
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
        Some(_) => return Err(StoreError::Backend("attendees is not a list".into())),
    };
    Ok(Event {
        id: text(item, "id")?,
        fields: EventFields {
            title: text(item, "title")?,
            start: text(item, "start")?,
            end: text(item, "end")?,
            location: text(item, "location")?,
            attendees,
        },
    })
}

/// Contacts in a DynamoDB table.
#[derive(Clone)]
pub struct DynamoContactStore {
    client: Client,
    table: String,
}

impl DynamoContactStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
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
            .client
            .query()
            .table_name(&self.table)
            .index_name(CONTACTS_INDEX)
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
            .map(contact_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(
            items,
            page.limit,
            out.last_evaluated_key().is_some(),
            Contact::sort_key,
        ))
    }

    async fn get_contact(&self, owner: &str, id: &str) -> Result<Option<Contact>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("user_id", s(owner))
            .key("id", s(id))
            .send()
            .await
            .map_err(classify)?;
        out.item().map(contact_from).transpose()
    }

    async fn put_contact(&self, owner: &str, c: &Contact) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("user_id", s(owner))
            .item("id", s(&c.id))
            .item("name_key", s(&c.sort_key()))
            .item("name", s(&c.fields.name))
            .item("email", s(&c.fields.email))
            .item("phone", s(&c.fields.phone))
            .item("company", s(&c.fields.company))
            .item("created_at", s(&c.created_at))
            .item("updated_at", s(&c.updated_at))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

/// Calendar events in a DynamoDB table.
#[derive(Clone)]
pub struct DynamoEventStore {
    client: Client,
    table: String,
}

impl DynamoEventStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
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
            .client
            .query()
            .table_name(&self.table)
            .index_name(CALENDAR_INDEX)
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
            .map(event_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(
            items,
            page.limit,
            out.last_evaluated_key().is_some(),
            Event::sort_key,
        ))
    }

    async fn get_event(&self, owner: &str, id: &str) -> Result<Option<Event>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("user_id", s(owner))
            .key("id", s(id))
            .send()
            .await
            .map_err(classify)?;
        out.item().map(event_from).transpose()
    }

    async fn put_event(&self, owner: &str, e: &Event) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("user_id", s(owner))
            .item("id", s(&e.id))
            .item("start_key", s(&e.sort_key()))
            .item("title", s(&e.fields.title))
            .item("start", s(&e.fields.start))
            .item("end", s(&e.fields.end))
            .item("location", s(&e.fields.location))
            .item(
                "attendees",
                AttributeValue::L(e.fields.attendees.iter().map(|a| s(a)).collect()),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
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
