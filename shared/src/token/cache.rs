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

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use lru::LruCache;

use super::AccessClaims;
use crate::crypto::RsaPublicKey;

/// Entries kept at most. About 0.4 KB each: 10,000 tokens take about 4 MB.
pub const TOKEN_CACHE_CAPACITY: usize = 10_000;

/// The SHA-256 digest of a whole token.
pub(crate) type TokenDigest = [u8; 32];

/// What a verified token said, and what it was verified with.
pub(crate) struct Verified {
    /// The token's `exp`: the entry is worthless from then on.
    pub exp: u64,
    /// The `kid` of its header and the key that verified it: a hit checks the JWKS still
    /// publishes that key under that `kid`, so a retired key stops its tokens at once.
    pub kid: Box<str>,
    pub key: Arc<RsaPublicKey>,
    pub claims: Arc<AccessClaims>,
}

pub(crate) struct TokenCache {
    entries: Mutex<LruCache<TokenDigest, Arc<Verified>>>,
}

impl TokenCache {
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<TokenDigest, Arc<Verified>>> {
        // A poisoned lock only means a panic elsewhere while holding it; the map is whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry for `digest` while `now` (seconds since the epoch) is before its `exp`;
    /// an entry found expired is removed.
    pub fn get(&self, digest: &TokenDigest, now: u64) -> Option<Arc<Verified>> {
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
            self.lock().put(digest, Arc::new(verified));
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

    fn key() -> Arc<RsaPublicKey> {
        use base64::Engine;
        let jwk = crate::testing::shared_key().public_jwk();
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(v.as_str().unwrap())
                .unwrap()
        };
        Arc::new(RsaPublicKey::from_components(&b64(&jwk["n"]), &b64(&jwk["e"])).unwrap())
    }

    fn verified(sub: &str, exp: u64) -> Verified {
        Verified {
            exp,
            kid: "k".into(),
            key: key(),
            claims: Arc::new(AccessClaims {
                sub: sub.into(),
                scopes: vec!["read:contacts".into()],
                permissions: vec![],
                client_id: None,
            }),
        }
    }

    fn digest(i: usize) -> TokenDigest {
        let mut d = [0; 32];
        d[..8].copy_from_slice(&(i as u64).to_le_bytes());
        d
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
