//! The DPoP replay store on DynamoDB: each proof's key recorded once, across every Lambda
//! instance, by one conditional write.
//!
//! | table (`DPOP_REPLAY_TABLE`) | partition key | other attributes |
//! |---|---|---|
//! | `organizer-dpop-replay` | `pk` (S): the proof's replay key (43 characters) | `expires_at` (N): the TTL attribute |
//!
//! [`ReplayStore::first_use`] is one `PutItem` with `ConditionExpression: attribute_not_exists(pk)
//! OR expires_at <= :now` (an expired record that TTL has not deleted yet — TTL deletes within
//! days, not at once — is overwritten): `ConditionalCheckFailedException` is a replay; any
//! other failure is [`ReplayStoreError::Failed`], which refuses the proof (503), never accepts
//! it. IAM: `dynamodb:PutItem` on the table, nothing else.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

use super::{AttributeValue, Client, classify};
use crate::dpop::{ReplayStore, ReplayStoreError};
use crate::store::StoreError;

/// The table's name when `DPOP_REPLAY_TABLE` is not set (the local stack on DynamoDB).
pub const DEFAULT_REPLAY_TABLE: &str = "organizer-dpop-replay";
/// The partition key.
pub const REPLAY_KEY: &str = "pk";
/// The TTL attribute: when the record may go (seconds since 1970).
pub const REPLAY_TTL: &str = "expires_at";

/// Proofs seen, in a DynamoDB table every instance shares.
#[derive(Clone)]
pub struct DynamoReplayStore {
    client: Client,
    table: String,
}

impl DynamoReplayStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

#[async_trait]
impl ReplayStore for DynamoReplayStore {
    async fn first_use(&self, key: &str, expires_at: u64) -> Result<bool, ReplayStoreError> {
        let now = jsonwebtoken::get_current_timestamp();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(REPLAY_KEY, AttributeValue::S(key.to_string()))
            .item(REPLAY_TTL, AttributeValue::N(expires_at.to_string()))
            .condition_expression("attribute_not_exists(#pk) OR #exp <= :now")
            .expression_attribute_names("#pk", REPLAY_KEY)
            .expression_attribute_names("#exp", REPLAY_TTL)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(ReplayStoreError::Failed(classify(e).to_string())),
        }
    }
}

/// Creates the replay table (on-demand, TTL on `expires_at`) when it does not exist, and waits
/// until it is active. For local use and tests: in AWS the SAM template owns it.
pub async fn ensure_replay_table(client: &Client, name: &str) -> Result<bool, StoreError> {
    let bad = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Backend(e.to_string());
    let created = match client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(REPLAY_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(bad)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(REPLAY_KEY)
                .key_type(KeyType::Hash)
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
    super::active_with_ttl(client, name, REPLAY_TTL, created).await?;
    Ok(created)
}
