//! Storage: one small trait per microservice, each with a DynamoDB and an in-memory
//! implementation that pass the same contract tests (`tests/store_contract.rs`).
//!
//! Every method takes the owner (the token's `sub`) first: no method can reach another
//! user's items, whatever id or cursor it is given.

pub mod cursor;
#[cfg(feature = "dynamodb")]
pub mod dynamo;
pub mod idempotency;
pub mod memory;
pub mod model;
pub mod sample;

use async_trait::async_trait;
use thiserror::Error;

pub use idempotency::IdempotencyRecord;
pub use model::{Contact, ContactFields, Event, EventFields};

/// Default and largest page sizes of the list endpoints.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

/// One page of a listing request: how many items, and after which sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    /// The sort key of the last item already seen (decoded from the cursor), exclusive.
    pub after: Option<String>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

/// One page of results, and the sort key to continue after when there are more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}

/// The window of a calendar listing: events whose start is in `[from, to)`.
/// Both bounds are normalized RFC 3339 UTC times (see [`model::normalize_time`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Error)]
pub enum StoreError {
    /// Throttled or briefly unreachable: worth a retry by the client (503).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else (500; the detail is logged, never sent).
    #[error("store failure: {0}")]
    Backend(String),
}

/// The contacts microservice's data.
#[async_trait]
pub trait ContactStore: Send + Sync {
    /// The owner's contacts ordered by name.
    async fn list_contacts(
        &self,
        owner: &str,
        page: &PageRequest,
    ) -> Result<Page<Contact>, StoreError>;
    /// One of the owner's contacts; `None` for unknown ids and other users' ids alike.
    async fn get_contact(&self, owner: &str, id: &str) -> Result<Option<Contact>, StoreError>;
    /// Creates or replaces a contact (seeding and tests).
    async fn put_contact(&self, owner: &str, contact: &Contact) -> Result<(), StoreError>;
}

/// The calendar microservice's data.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// The owner's events starting within `range`, ordered by start.
    async fn list_events(
        &self,
        owner: &str,
        range: &TimeRange,
        page: &PageRequest,
    ) -> Result<Page<Event>, StoreError>;
    /// One of the owner's events; `None` for unknown ids and other users' ids alike.
    async fn get_event(&self, owner: &str, id: &str) -> Result<Option<Event>, StoreError>;
    /// Creates or replaces an event (seeding and tests).
    async fn put_event(&self, owner: &str, event: &Event) -> Result<(), StoreError>;
}

/// Cuts `limit + 1` candidates down to one page: the extra item only says "there is more".
pub(crate) fn into_page<T>(
    mut items: Vec<T>,
    limit: usize,
    more_hint: bool,
    key: impl Fn(&T) -> String,
) -> Page<T> {
    let more = items.len() > limit || (more_hint && !items.is_empty());
    items.truncate(limit);
    let next_after = if more { items.last().map(key) } else { None };
    Page { items, next_after }
}

/// Where a calendar listing starts and ends, with the cursor and the window combined:
/// `(lower bound, exclusive?, upper bound exclusive)`. `None` when the page is empty anyway.
pub(crate) fn event_bounds(
    range: &TimeRange,
    after: Option<&str>,
) -> Option<(Option<String>, bool, Option<String>)> {
    let lower = match (range.from.as_deref(), after) {
        (Some(from), Some(after)) if after >= from => (Some(after.to_string()), true),
        (Some(from), _) => (Some(from.to_string()), false),
        (None, Some(after)) => (Some(after.to_string()), true),
        (None, None) => (None, false),
    };
    if let (Some(low), Some(to)) = (lower.0.as_deref(), range.to.as_deref())
        && low >= to
    {
        return None;
    }
    Some((lower.0, lower.1, range.to.clone()))
}
