//! The verified-token cache: what a token was found to say, kept for the next request that
//! carries the same token, so a warm function checks an RSA signature once per token, not once
//! per request.
//!
//! - keyed by the SHA-256 of the whole token (header, claims and signature): only the very
//!   same bytes hit;
//! - bounded: at most [`TOKEN_CACHE_CAPACITY`] entries, the least recently used evicted first;
//! - an entry never outlives the token's `exp`: a hit at or after `exp` is dropped, and the
//!   full pipeline runs again (which applies the leeway and refuses the token once past it);
//! - only tokens that passed every step are stored; a failure is never stored;
//! - one `Mutex` around the map, held for a lookup or an insert only, never across a fetch, a
//!   signature check or an `await`.

use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use lru::LruCache;

use super::AccessClaims;
use crate::jwks::PublishedKey;

/// Entries kept at most. About 0.3 KB each: 10,000 tokens take about 3 MB.
pub const TOKEN_CACHE_CAPACITY: usize = 10_000;

/// The SHA-256 digest of a whole token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenDigest(pub [u8; 32]);

/// A digest is already uniformly spread: its first eight bytes are its hash. (Only verified
/// tokens are stored, so nobody can choose the keys to crowd the map.)
impl Hash for TokenDigest {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut first = [0; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

/// The hasher of [`TokenDigest`]s: passes their `u64` through.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Map = LruCache<TokenDigest, Verified, BuildHasherDefault<PassThrough>>;

/// What a verified token said, and what it was verified with.
#[derive(Clone)]
pub(crate) struct Verified {
    /// The token's `exp`: the entry is worthless from then on.
    pub exp: u64,
    /// The key that verified it, with the `kid` of its header: a hit checks the JWKS still
    /// publishes that key under that `kid`, so a retired key stops its tokens at once.
    pub key: Arc<PublishedKey>,
    pub claims: Arc<AccessClaims>,
}

pub(crate) struct TokenCache {
    entries: Mutex<Map>,
}

impl TokenCache {
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self {
            entries: Mutex::new(LruCache::with_hasher(
                capacity,
                BuildHasherDefault::default(),
            )),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Map> {
        // A poisoned lock only means a panic elsewhere while holding it; the map is whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry for `digest` while `now` (seconds since the epoch) is before its `exp`;
    /// an entry found expired is removed.
    pub fn get(&self, digest: &TokenDigest, now: u64) -> Option<Verified> {
        let mut entries = self.lock();
        match entries.get(digest) {
            Some(entry) if now < entry.exp => Some(entry.clone()),
            Some(_) => {
                entries.pop(digest);
                None
            }
            None => None,
        }
    }

    /// Keeps a verified token, unless it expires by `now` already.
    pub fn insert(&self, digest: TokenDigest, verified: Verified, now: u64) {
        if now < verified.exp {
            self.lock().put(digest, verified);
        }
    }

    pub fn remove(&self, digest: &TokenDigest) {
        self.lock().pop(digest);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Arc<PublishedKey> {
        let jwks = crate::signing::jwks_document([crate::testing::shared_key()]).to_string();
        let keys = crate::jwks::parse_jwks(jwks.as_bytes()).unwrap();
        keys.into_values().next().unwrap()
    }

    fn verified(sub: &str, exp: u64) -> Verified {
        Verified {
            exp,
            key: key(),
            claims: Arc::new(AccessClaims {
                sub: sub.into(),
                scopes: vec!["read:contacts".into()],
                permissions: vec![],
                client_id: None,
                jkt: None,
            }),
        }
    }

    fn digest(i: usize) -> TokenDigest {
        let mut d = [0; 32];
        d[..8].copy_from_slice(&(i as u64).to_le_bytes());
        TokenDigest(d)
    }

    #[test]
    fn an_entry_serves_until_exp_and_not_at_exp() {
        let cache = TokenCache::new(NonZeroUsize::new(4).unwrap());
        cache.insert(digest(1), verified("a", 100), 10);
        assert_eq!(cache.get(&digest(1), 99).unwrap().claims.sub, "a");
        assert!(cache.get(&digest(1), 100).is_none());
        assert_eq!(cache.len(), 0, "an expired entry is dropped when found");
        // A token already expired is not kept.
        cache.insert(digest(2), verified("b", 100), 100);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let cache = TokenCache::new(NonZeroUsize::new(3).unwrap());
        for i in 0..3 {
            cache.insert(digest(i), verified(&format!("u{i}"), 100), 0);
        }
        assert!(cache.get(&digest(0), 1).is_some()); // 0 is now the most recent
        cache.insert(digest(3), verified("u3", 100), 0);
        assert_eq!(cache.len(), 3);
        assert!(
            cache.get(&digest(1), 1).is_none(),
            "1 was the least recently used"
        );
        for i in [0, 2, 3] {
            assert!(cache.get(&digest(i), 1).is_some(), "{i}");
        }
    }
}
