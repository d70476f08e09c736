//! Storage: one generic store over a service's item type ([`Item`]), with a DynamoDB and an
//! in-memory implementation that pass the same contract suite (`crate::contract`, run by each
//! service's crate for its own item type).
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

use std::fmt::Debug;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::manifest::ServiceSpec;
pub use idempotency::IdempotencyRecord;
pub use model::Stored;

/// Default and largest page sizes of the list endpoints.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

/// The longest listing sort key an item may have: a cursor carries it (and DynamoDB allows
/// 1,024 bytes for an index's sort key).
pub const MAX_SORT_KEY_BYTES: usize = 512;

/// One kind of item a service keeps: what the generic stores, the generic handler and the
/// contract suite need to know of it. The item is one flat JSON object (its id, its fields
/// flattened, anything the service adds such as timestamps), as the API answers it and as it
/// is stored.
pub trait Item:
    Clone + Debug + PartialEq + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// The editable fields: all a `POST` or `PUT` body sets, as the manifest lists them.
    type Fields: Clone + Debug + PartialEq + Send + Sync + Serialize + DeserializeOwned;

    /// The service's name in the manifest (`services.yaml`).
    const SERVICE: &'static str;

    fn id(&self) -> &str;
    fn fields(&self) -> &Self::Fields;

    /// A new item, as a create makes it: its id, its fields, `now` (RFC 3339, UTC) for the
    /// timestamps it keeps.
    fn new(id: String, fields: Self::Fields, now: &str) -> Self;

    /// This item with its fields replaced at `now` (id and creation time kept).
    fn replaced(&self, fields: Self::Fields, now: &str) -> Self;

    /// What a replace sets besides the fields and the sort key (`updated_at`): stores that
    /// write without reading the item first set these.
    fn replace_extras(_now: &str) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }

    /// The listing order: the sort key of an item with this id and fields. At most
    /// [`MAX_SORT_KEY_BYTES`], and ending with a separator no id contains (not a letter, a
    /// digit, `-` or `_`) and the id, so the order is total and the id can be read back
    /// ([`model::id_of_sort_key`]).
    fn sort_key_for(id: &str, fields: &Self::Fields) -> String;

    fn sort_key(&self) -> String {
        Self::sort_key_for(self.id(), self.fields())
    }

    /// Whether `key` (from a cursor) has the shape of this kind's sort keys.
    fn is_sort_key(key: &str) -> bool;

    /// A fresh id: the manifest's prefix and 128 random bits.
    fn new_id() -> String {
        model::new_id(&spec::<Self>().id_prefix)
    }

    /// Sample items for `owner`, with ids derived from the owner (the seed command and the
    /// local stack, and the contract suite's items).
    fn samples(owner: &str) -> Vec<Self>;
}

/// The manifest entry of `T`'s service. Every `Item` names a service of the built-in manifest
/// (each service crate's tests check theirs), so a missing one is a bug found by those tests.
pub fn spec<T: Item>() -> &'static ServiceSpec {
    match crate::manifest::service(T::SERVICE) {
        Some(spec) => spec,
        None => panic!("services.yaml has no service {}", T::SERVICE),
    }
}

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

/// Which part of the listing order a listing reads: sort keys in `[from, to)`. The calendar's
/// window is one (its keys start with the start time); a status filter is another (keys that
/// start with the status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl KeyRange {
    /// The keys that start with `prefix`.
    pub fn prefix(prefix: &str) -> Self {
        Self {
            from: Some(prefix.to_string()),
            to: successor(prefix),
        }
    }
}

/// The least string greater than every string starting with `prefix` (`None` when there is
/// none: every character is the largest).
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(u32::from(last) + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
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

/// A service's data: one owner's items of one kind. Every method takes the owner (the token's
/// `sub`) first: no method can reach another user's items, whatever id or cursor it is given.
#[async_trait]
pub trait Store<T: Item>: Send + Sync {
    /// The owner's items with sort keys in `range`, in sort-key order, a page at a time.
    async fn list(
        &self,
        owner: &str,
        range: &KeyRange,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError>;
    /// One of the owner's items and its version; `None` for unknown ids and other users' ids
    /// alike.
    async fn get(&self, owner: &str, id: &str) -> Result<Option<Stored<T>>, StoreError>;
    /// Creates `item` at version 1, counting it against the owner's quota. With `record`,
    /// writes the idempotency record in the same transaction. Refused with
    /// [`WriteError::IdempotencyKeyUsed`] (first), [`WriteError::Exists`] or
    /// [`WriteError::QuotaExceeded`]. The id must be valid ([`model::is_valid_id`]).
    async fn create(
        &self,
        owner: &str,
        item: &T,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Stored<T>, WriteError<T>>;
    /// Replaces every editable field of an item at `now` ([`Item::replaced`]); its place in
    /// the listing follows the new fields; the version goes up by one. With `if_version`, only
    /// if the item is at that version ([`WriteError::Stale`] otherwise).
    async fn replace(
        &self,
        owner: &str,
        id: &str,
        fields: &T::Fields,
        now: &str,
        if_version: Option<u64>,
    ) -> Result<Stored<T>, WriteError<T>>;
    /// Deletes an item and gives its room in the quota back. With `if_version`, only if the
    /// item is at that version.
    async fn delete(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<T>>;
    /// The owner's live idempotency record with this key hash; `None` when there is none or it
    /// has expired.
    async fn idempotency_record(
        &self,
        owner: &str,
        key_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
}

/// Cuts `limit + 1` candidates down to one page: the extra item only says "there is more".
pub(crate) fn into_page<T: Item>(mut items: Vec<T>, limit: usize, more_hint: bool) -> Page<T> {
    let more = items.len() > limit || (more_hint && !items.is_empty());
    items.truncate(limit);
    let next_after = if more {
        items.last().map(Item::sort_key)
    } else {
        None
    };
    Page { items, next_after }
}

/// Where a listing starts and ends, with the cursor and the range combined:
/// `(lower bound, exclusive?, upper bound exclusive)`. `None` when the page is empty anyway.
pub(crate) fn key_bounds(
    range: &KeyRange,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_holds_exactly_the_keys_with_the_prefix() {
        let r = KeyRange::prefix("0#");
        let inside = |k: &str| {
            r.from.as_deref().is_none_or(|f| k >= f) && r.to.as_deref().is_none_or(|t| k < t)
        };
        assert!(inside("0#"));
        assert!(inside("0#2026-01-01#t-1"));
        assert!(inside("0#\u{10FFFF}"));
        assert!(!inside("0$"));
        assert!(!inside("1#x"));
        assert!(!inside("0"));
        assert_eq!(successor("a\u{10FFFF}"), Some("b".into()));
        assert_eq!(successor("\u{10FFFF}"), None);
    }
}
