//! Storage: one small trait per microservice, each with a DynamoDB and an in-memory
//! implementation that pass the same contract tests (`tests/store_contract.rs`).
//!
//! Every method takes the owner (the token's `sub`) first: no method can reach another
//! user's items, whatever id or cursor it is given.
//!
//! Writes are conditional and atomic, in both implementations alike:
//! - every item carries a version (1 when created, one more on each replace), and a replace or
//!   delete given `if_version` happens only if the item is still at that version, decided by
//!   the store itself (in DynamoDB, a condition expression), never by a read before the write;
//! - each user may hold at most a quota of items per service; a per-user counter changes in the
//!   same transaction as the create or delete, so concurrent creates cannot overshoot it;
//! - a create may carry an [`IdempotencyRecord`], written in the same transaction, and refused
//!   with the existing record when a live one has that key.
//!
//! A write either happens entirely or not at all.

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
pub use model::{Contact, ContactFields, Event, EventFields, Stored};

/// Default and largest page sizes of the list endpoints.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

/// How many contacts one user may hold, unless a store is built with another quota.
pub const DEFAULT_CONTACT_QUOTA: u32 = 5_000;
/// How many events one user may hold, unless a store is built with another quota.
pub const DEFAULT_EVENT_QUOTA: u32 = 10_000;

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

/// A key hash a store can put in a sort key, or the error both stores answer. The API hashes
/// every key it is sent, so another value here is a bug, never a client's mistake.
pub(crate) fn check_key_hash(key_hash: &str) -> Result<(), StoreError> {
    if idempotency::is_valid_key_hash(key_hash) {
        Ok(())
    } else {
        Err(StoreError::Backend(
            "an idempotency key hash must be 1 to 128 letters or digits".into(),
        ))
    }
}

/// An id a store may create an item with, or the error both stores answer (the API makes ids,
/// so another one is a bug).
pub(crate) fn check_new_id(id: &str) -> Result<(), StoreError> {
    if model::is_valid_id(id) {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "refusing to create an item with id {id:?}"
        )))
    }
}

/// Why a write did not happen. Nothing was changed in every case.
#[derive(Debug, Error)]
pub enum WriteError<T> {
    /// A create's id is taken (409).
    #[error("an item with this id exists")]
    Exists,
    /// No item with this id in the owner's data: unknown ids and other users' ids alike (404).
    #[error("no such item")]
    NotFound,
    /// `if_version` is not the item's version: someone else changed it first (412). `current`
    /// is the item as it is now, read by the same request that was refused. (Boxed, as is the
    /// record below, so that every `Result` carrying this error stays small.)
    #[error("the item is at version {}, not the one given", current.version)]
    Stale { current: Box<Stored<T>> },
    /// The owner already holds `limit` items of this kind (409 `quota_exceeded`).
    #[error("quota of {limit} items reached")]
    QuotaExceeded { limit: u32 },
    /// A live idempotency record with this key exists for the owner: the create is a retry
    /// (or a reuse of the key), and the record holds the first answer.
    #[error("idempotency key already used")]
    IdempotencyKeyUsed(Box<IdempotencyRecord>),
    /// The store failed (503 or 500, as [`StoreError`] says).
    #[error(transparent)]
    Store(#[from] StoreError),
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
    /// One of the owner's contacts and its version; `None` for unknown ids and other users'
    /// ids alike.
    async fn get_contact(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<Stored<Contact>>, StoreError>;
    /// Creates `contact` at version 1, counting it against the owner's quota. With `record`,
    /// writes the idempotency record in the same transaction. Refused with
    /// [`WriteError::IdempotencyKeyUsed`] (first), [`WriteError::Exists`] or
    /// [`WriteError::QuotaExceeded`]. The id must be valid ([`model::is_valid_id`]).
    async fn create_contact(
        &self,
        owner: &str,
        contact: &Contact,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Stored<Contact>, WriteError<Contact>>;
    /// Replaces every editable field of a contact and sets `updated_at`; keeps its id and
    /// `created_at`; the version goes up by one. With `if_version`, only if the contact is at
    /// that version ([`WriteError::Stale`] otherwise).
    async fn replace_contact(
        &self,
        owner: &str,
        id: &str,
        fields: &ContactFields,
        updated_at: &str,
        if_version: Option<u64>,
    ) -> Result<Stored<Contact>, WriteError<Contact>>;
    /// Deletes a contact and gives its room in the quota back. With `if_version`, only if the
    /// contact is at that version.
    async fn delete_contact(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<Contact>>;
    /// The owner's live idempotency record with this key hash; `None` when there is none or it
    /// has expired.
    async fn idempotency_record(
        &self,
        owner: &str,
        key_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
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
    /// One of the owner's events and its version; `None` for unknown ids and other users' ids
    /// alike.
    async fn get_event(&self, owner: &str, id: &str) -> Result<Option<Stored<Event>>, StoreError>;
    /// Creates `event` at version 1, as [`ContactStore::create_contact`] does.
    async fn create_event(
        &self,
        owner: &str,
        event: &Event,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Stored<Event>, WriteError<Event>>;
    /// Replaces every editable field of an event (its place in the listing follows the new
    /// start); the version goes up by one. With `if_version`, only if the event is at that
    /// version.
    async fn replace_event(
        &self,
        owner: &str,
        id: &str,
        fields: &EventFields,
        if_version: Option<u64>,
    ) -> Result<Stored<Event>, WriteError<Event>>;
    /// Deletes an event and gives its room in the quota back, as
    /// [`ContactStore::delete_contact`] does.
    async fn delete_event(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<Event>>;
    /// The owner's live idempotency record with this key hash, for the calendar.
    async fn idempotency_record(
        &self,
        owner: &str,
        key_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
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
