//! Replay detection: a proof's `jti` is accepted once. [`ReplayStore`] is the one question
//! asked of storage ("record this key; was it new?"), so that it can be answered in one atomic
//! step by memory ([`MemoryReplayStore`]) or by a database shared by every instance.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The replay store could not answer. The proof is then refused (never accepted unchecked);
/// the caller answers 503, not 400: the client did nothing wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplayStoreError {
    /// A bounded store is full of entries that have not expired yet.
    #[error("the replay store is full")]
    Full,
    /// The store failed (a database error, a timeout); the detail is for the logs.
    #[error("the replay store failed: {0}")]
    Failed(String),
}

/// Remembers the proofs already seen until they would be refused as too old anyway.
///
/// `first_use(key, expires_at)` records `key` until `expires_at` (seconds since the epoch) and
/// answers `true` when it was not recorded before (or its record has expired), `false` when it
/// is a replay. It must be atomic: of two calls with the same key at once, exactly one gets
/// `true`. Keys are 43 characters of base64url (a SHA-256 digest, see
/// [`DpopVerifier`](super::DpopVerifier)).
///
/// On DynamoDB this is one conditional write: `PutItem` of `{pk: key, expires_at}` with
/// `ConditionExpression: attribute_not_exists(pk) OR expires_at <= :now`;
/// `ConditionalCheckFailedException` means `Ok(false)`, any other error
/// [`ReplayStoreError::Failed`]; `expires_at` as the table's TTL attribute removes old items.
#[async_trait]
pub trait ReplayStore: Send + Sync {
    async fn first_use(&self, key: &str, expires_at: u64) -> Result<bool, ReplayStoreError>;
}

/// Entries a [`MemoryReplayStore`] holds by default: at about 100 bytes each, 10 MB at most.
/// Proofs are remembered for about a minute (the verifier's `iat` window), so this is room
/// for some 1,500 proofs a second, sustained.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

type Key = [u8; 32];

/// A [`ReplayStore`] in memory, for one process: bounded, and forgetting entries once they
/// expire. When it holds `capacity` entries none of which has expired, a new key is refused
/// with [`ReplayStoreError::Full`] rather than evicting one: evicting would let the evicted
/// proof be replayed.
pub struct MemoryReplayStore {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// Keys (as SHA-256 digests: fixed size whatever the caller passes) and their expiry.
    expiry_of: HashMap<Key, u64>,
    /// The same entries, soonest expiry first, so forgetting costs no scan.
    by_expiry: BinaryHeap<Reverse<(u64, Key)>>,
}

impl Entries {
    fn forget_expired(&mut self, now: u64) {
        while let Some(Reverse((expires_at, key))) = self.by_expiry.peek().copied() {
            if expires_at > now {
                break;
            }
            self.by_expiry.pop();
            if self.expiry_of.get(&key) == Some(&expires_at) {
                self.expiry_of.remove(&key);
            }
        }
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl MemoryReplayStore {
    /// A store of at most `capacity` live entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Entries::default()),
        }
    }

    /// How many entries are held now (expired ones included until the next call forgets them).
    pub fn len(&self) -> usize {
        self.lock().expiry_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`ReplayStore::first_use`] at a given time.
    pub fn first_use_at(
        &self,
        key: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, ReplayStoreError> {
        let key: Key = Sha256::digest(key.as_bytes()).into();
        let mut entries = self.lock();
        entries.forget_expired(now);
        if entries.expiry_of.contains_key(&key) {
            return Ok(false);
        }
        if expires_at <= now {
            // Nothing to remember: it would be forgotten at once.
            return Ok(true);
        }
        if entries.expiry_of.len() >= self.capacity {
            return Err(ReplayStoreError::Full);
        }
        entries.expiry_of.insert(key, expires_at);
        entries.by_expiry.push(Reverse((expires_at, key)));
        Ok(true)
    }
}

#[async_trait]
impl ReplayStore for MemoryReplayStore {
    async fn first_use(&self, key: &str, expires_at: u64) -> Result<bool, ReplayStoreError> {
        self.first_use_at(key, expires_at, jsonwebtoken::get_current_timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_new_once_until_it_expires() {
        let store = MemoryReplayStore::new(10);
        assert_eq!(store.first_use_at("a", 160, 100), Ok(true));
        assert_eq!(store.first_use_at("a", 160, 159), Ok(false));
        assert_eq!(store.first_use_at("b", 160, 159), Ok(true));
        // Expired: forgotten, and new again.
        assert_eq!(store.first_use_at("a", 260, 160), Ok(true));
        assert_eq!(store.len(), 1, "b expired too");
    }

    #[test]
    fn full_of_live_entries_it_refuses_rather_than_evicts() {
        let store = MemoryReplayStore::new(3);
        for key in ["a", "b", "c"] {
            assert_eq!(store.first_use_at(key, 200, 100), Ok(true));
        }
        assert_eq!(
            store.first_use_at("d", 200, 100),
            Err(ReplayStoreError::Full)
        );
        // The ones held are still replays, not evicted.
        assert_eq!(store.first_use_at("a", 200, 150), Ok(false));
        // Once they expire, there is room again.
        assert_eq!(store.first_use_at("d", 300, 200), Ok(true));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_million_keys_through_a_small_store_stay_bounded() {
        let store = MemoryReplayStore::new(1000);
        for i in 0..1_000_000u64 {
            // Each second, 1000 new keys that live one second.
            let now = i / 1000;
            assert_eq!(store.first_use_at(&i.to_string(), now + 1, now), Ok(true));
        }
        assert!(store.len() <= 1000);
        assert!(store.lock().by_expiry.len() <= 1000);
    }

    #[test]
    fn twenty_at_once_one_first_use() {
        let store = std::sync::Arc::new(MemoryReplayStore::default());
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(20));
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    store.first_use_at("k", 200, 100)
                })
            })
            .collect();
        let firsts = handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Ok(false)))
            .filter(|r| *r == Ok(true))
            .count();
        assert_eq!(firsts, 1);
    }
}
