//! `JwksCache`: the issuer's signing keys, fetched once and shared by every warm invocation.
//!
//! Keys come only from the configured JWKS URL, never from a token. The cache is built for
//! the hot path: a lookup of a known `kid` takes a read lock and never waits on the network.
//! An unknown `kid` (the issuer rotated its keys) triggers at most one fetch at a time
//! (single-flight) and at most one per cooldown, so a flood of made-up `kid`s cannot turn into
//! a flood of requests to the issuer. A failed or unusable answer never replaces good keys.
//!
//! A JWKS snapshot given at deploy time (`JWKS_SNAPSHOT`, see [`crate::config`]) is loaded
//! when the cache is built, so a cold start does not wait on the network for keys. Its keys
//! count as stale from the start: their first use refreshes the JWKS from the issuer in the
//! background (and an unknown `kid` fetches at once, as always), so a snapshot never outlives
//! a key rotation by more than that one refresh.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::time::Instant;

use crate::config::AuthConfig;
use crate::crypto::RsaPublicKey;

/// The longest JWKS document we read. Auth0's is about 3 KB; anything near this is not a JWKS.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// How long a JWKS fetch may take, connection included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// While no key was ever loaded, retry this soon rather than waiting a whole cooldown.
const EMPTY_RETRY: Duration = Duration::from_secs(1);
/// RSA moduli we accept: at least 2048 bits (RFC 8725 §3.5), at most 4096 (bounded verify cost).
const MIN_MODULUS_BYTES: usize = 256;
const MAX_MODULUS_BYTES: usize = 512;

/// Why a key could not be had.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    /// The JWKS is loaded but has no key with this `kid`.
    #[error("no signing key with this kid")]
    UnknownKid,
    /// No key was ever loaded: the JWKS URL is unreachable or answers garbage.
    #[error("signing keys are not available")]
    Unavailable,
}

/// Why a JWKS answer was refused.
#[derive(Debug, Error)]
pub enum JwksError {
    #[error("fetching the JWKS failed: {0}")]
    Fetch(String),
    #[error("the JWKS answered HTTP {0}")]
    Status(u16),
    #[error("the JWKS is larger than {MAX_JWKS_BYTES} bytes")]
    Oversized,
    #[error("the JWKS is not valid JSON with a keys array: {0}")]
    Malformed(String),
    #[error("the JWKS has no usable RS256 signing key")]
    NoUsableKey,
    /// `JWKS_SNAPSHOT` is not a JWKS with a usable key (a start-up error naming the variable).
    #[error("JWKS_SNAPSHOT: {0}")]
    Snapshot(Box<JwksError>),
}

/// A key the JWKS publishes: its `kid` and the parsed RSA key.
pub struct PublishedKey {
    kid: Box<str>,
    key: RsaPublicKey,
}

impl PublishedKey {
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Whether `signature` is this key's RS256 signature of the message whose SHA-256 is
    /// `digest`.
    pub fn verifies(&self, digest: &aws_lc_rs::digest::Digest, signature: &[u8]) -> bool {
        self.key.verifies(digest, signature)
    }

    /// The same key published under the same `kid`.
    pub fn same_as(&self, other: &PublishedKey) -> bool {
        self.kid == other.kid && self.key.same_key(&other.key)
    }
}

impl std::fmt::Debug for PublishedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublishedKey({}, {:?})", self.kid, self.key)
    }
}

type KeyMap = HashMap<String, Arc<PublishedKey>>;

/// Why a lookup found nothing: keys loaded but not this one, or no keys at all.
fn miss_of(set: &KeySet) -> KeyError {
    if set.fetched_at.is_some() {
        KeyError::UnknownKid
    } else {
        KeyError::Unavailable
    }
}

#[derive(Default)]
struct KeySet {
    keys: KeyMap,
    /// When the current keys were fetched (or loaded); `None` until the first good answer.
    fetched_at: Option<Instant>,
    /// The keys came from the snapshot and no fetch has replaced them yet: they are stale.
    from_snapshot: bool,
    /// When a fetch last finished, good or bad: the start of the cooldown.
    last_attempt: Option<Instant>,
    /// Counts finished fetches, so a task that waited on another's fetch does not fetch again.
    generation: u64,
}

struct Inner {
    uri: String,
    client: reqwest::Client,
    cooldown: Duration,
    max_age: Duration,
    keys: RwLock<KeySet>,
    /// Held while a fetch is under way: the single-flight gate.
    refresh: Arc<tokio::sync::Mutex<()>>,
}

/// The issuer's public keys by `kid`. Cheap to clone; clones share one cache.
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

impl JwksCache {
    /// A cache for the configuration's JWKS URL, holding the snapshot's keys when the
    /// configuration has one (`JWKS_SNAPSHOT`). Nothing is fetched until the first lookup
    /// (or [`JwksCache::refresh`]).
    pub fn new(config: &AuthConfig) -> Result<Self, JwksError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            // Keys come from the configured URL and nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("organizer-jwks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| JwksError::Fetch(e.to_string()))?;
        let cache = Self {
            inner: Arc::new(Inner {
                uri: config.jwks_uri.clone(),
                client,
                cooldown: config.jwks_cooldown,
                max_age: config.jwks_max_age,
                keys: RwLock::new(KeySet::default()),
                refresh: Arc::new(tokio::sync::Mutex::new(())),
            }),
        };
        if let Some(snapshot) = &config.jwks_snapshot {
            cache
                .load_snapshot(snapshot.as_bytes())
                .map_err(|e| JwksError::Snapshot(Box::new(e)))?;
        }
        Ok(cache)
    }

    /// Loads a JWKS snapshot (a JWKS document, minimized or not): its keys serve at once and
    /// count as stale, so their first use refreshes them from the issuer in the background.
    pub fn load_snapshot(&self, jwks: &[u8]) -> Result<usize, JwksError> {
        let keys = parse_jwks(jwks)?;
        let count = keys.len();
        let mut set = self.write();
        set.keys = keys;
        set.fetched_at = Some(Instant::now());
        set.from_snapshot = true;
        tracing::info!(
            event = "jwks_snapshot_loaded",
            keys = count,
            "JWKS snapshot loaded; refreshed from the issuer on first use"
        );
        Ok(count)
    }

    /// Whether the keys held are the snapshot's, not yet replaced by a fetch.
    pub fn serving_snapshot(&self) -> bool {
        self.read().from_snapshot
    }

    /// Loads keys from a JWKS document already in hand (tests, benchmarks, an in-process
    /// issuer). The same rules apply as for a fetched answer.
    pub fn load(&self, jwks: &[u8]) -> Result<usize, JwksError> {
        let keys = parse_jwks(jwks)?;
        self.store(Ok(keys))
    }

    /// The key for `kid` if it is held, without waiting: stale keys are refreshed in the
    /// background. `None` when it is not held: [`JwksCache::key`] then decides whether to fetch.
    pub fn held_key(&self, kid: &str) -> Option<Arc<PublishedKey>> {
        let (found, refresh) = {
            let set = self.read();
            let found = set.keys.get(kid).cloned();
            let refresh = found.is_some() && self.is_stale(&set) && self.may_fetch(&set);
            (found, refresh)
        };
        if refresh {
            self.refresh_in_background();
        }
        found
    }

    /// The key for `kid`, fetching the JWKS when the `kid` is unknown and the cooldown allows.
    pub async fn key(&self, kid: &str) -> Result<Arc<PublishedKey>, KeyError> {
        if let Some(key) = self.held_key(kid) {
            return Ok(key);
        }
        // Each block takes the read lock once and drops it before anything else locks: std's
        // RwLock may deadlock when a thread re-reads while a writer waits.
        let (generation, may_fetch, miss) = {
            let set = self.read();
            if let Some(key) = set.keys.get(kid) {
                return Ok(key.clone());
            }
            (set.generation, self.may_fetch(&set), miss_of(&set))
        };
        if !may_fetch {
            return Err(miss);
        }
        let _gate = self.inner.refresh.lock().await;
        {
            let set = self.read();
            if let Some(key) = set.keys.get(kid) {
                return Ok(key.clone());
            }
            // Another task fetched while we waited, or the cooldown started meanwhile.
            if set.generation != generation || !self.may_fetch(&set) {
                return Err(miss_of(&set));
            }
        }
        let result = self.fetch().await;
        let _ = self.store(result);
        let set = self.read();
        set.keys.get(kid).cloned().ok_or_else(|| miss_of(&set))
    }

    /// Fetches the JWKS now (at start-up, to warm the cache). Keeps the old keys on failure,
    /// and returns the failure as it was (unreachable, a status, oversized, malformed, no key).
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        let _gate = self.inner.refresh.lock().await;
        let result = self.fetch().await;
        self.store(result)
    }

    /// The `kid`s currently held, sorted (for diagnostics and tests).
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.read().keys.keys().cloned().collect();
        kids.sort();
        kids
    }

    /// Fetches the JWKS once and returns it minimized: the usable keys only (the rules of
    /// [`parse_jwks`]), each with `kty`, `kid`, `use`, `alg`, `n` and `e` and nothing else
    /// (Auth0 adds `x5c` certificates, which would not fit Lambda's 4 KB of environment).
    /// What `organizer jwks-snapshot` prints, for `JWKS_SNAPSHOT`.
    pub async fn fetch_snapshot(&self) -> Result<String, JwksError> {
        let body = self.fetch_body().await?;
        minimize_jwks(&body)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        // A poisoned lock only means a panic elsewhere while holding it; the data is still whole.
        self.inner.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, KeySet> {
        self.inner.keys.write().unwrap_or_else(|e| e.into_inner())
    }

    fn is_stale(&self, set: &KeySet) -> bool {
        set.from_snapshot
            || set
                .fetched_at
                .is_none_or(|at| at.elapsed() >= self.inner.max_age)
    }

    fn may_fetch(&self, set: &KeySet) -> bool {
        let wait = if set.fetched_at.is_some() {
            self.inner.cooldown
        } else {
            EMPTY_RETRY.min(self.inner.cooldown)
        };
        set.last_attempt.is_none_or(|at| at.elapsed() >= wait)
    }

    /// Refreshes stale keys without making the current request wait; skipped when a fetch is
    /// already under way or the cooldown has not passed.
    fn refresh_in_background(&self) {
        let Ok(gate) = self.inner.refresh.clone().try_lock_owned() else {
            return;
        };
        let cache = self.clone();
        tokio::spawn(async move {
            let result = cache.fetch().await;
            let _ = cache.store(result);
            drop(gate);
        });
    }

    /// Keeps good keys, counts the attempt either way, and hands the outcome back.
    fn store(&self, result: Result<KeyMap, JwksError>) -> Result<usize, JwksError> {
        let mut set = self.write();
        let now = Instant::now();
        set.last_attempt = Some(now);
        set.generation += 1;
        match result {
            Ok(mut keys) => {
                let count = keys.len();
                tracing::info!(event = "jwks_loaded", uri = %self.inner.uri, keys = count, "JWKS loaded");
                // A key that is still published stays the same object, so what was verified
                // with it (the token cache) still recognises it.
                for (kid, key) in keys.iter_mut() {
                    if let Some(old) = set.keys.get(kid)
                        && old.same_as(key)
                    {
                        *key = old.clone();
                    }
                }
                set.keys = keys;
                set.fetched_at = Some(now);
                set.from_snapshot = false;
                Ok(count)
            }
            Err(error) => {
                tracing::warn!(event = "jwks_refresh_failed", uri = %self.inner.uri, %error, kept = set.keys.len(), "JWKS refresh failed; keeping the last good keys");
                Err(error)
            }
        }
    }

    /// One fetch of the key set, counted in the invocation's metrics (`JwksFetch`,
    /// `JwksFetchFailed`) and timed in a span of its own.
    async fn fetch(&self) -> Result<KeyMap, JwksError> {
        use tracing::Instrument;
        let span = tracing::info_span!("jwks_fetch", uri = %self.inner.uri);
        let start = crate::xray::now();
        let fetched = async { parse_jwks(&self.fetch_body().await?) }
            .instrument(span)
            .await;
        crate::metrics::span("JWKS fetch", start, fetched.is_err());
        crate::metrics::note(|t| {
            t.jwks_fetches += 1;
            t.jwks_failures += u32::from(fetched.is_err());
        });
        fetched
    }

    async fn fetch_body(&self) -> Result<Vec<u8>, JwksError> {
        let fetch = |e: reqwest::Error| JwksError::Fetch(e.to_string());
        let mut response = self
            .inner
            .client
            .get(&self.inner.uri)
            .send()
            .await
            .map_err(fetch)?;
        if !response.status().is_success() {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err(JwksError::Oversized);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwksError::Oversized);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RsaJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// A usable key of a JWKS: its JWK fields as published, and the parsed key.
struct UsableKey {
    kid: String,
    n: String,
    e: String,
    key: RsaPublicKey,
}

/// Keeps the RSA keys meant for RS256 signatures: `use` is `sig` or absent, `alg` is `RS256`
/// or absent, a `kid` is present, and the modulus is 2048 to 4096 bits. Other keys are skipped.
pub fn parse_jwks(bytes: &[u8]) -> Result<KeyMap, JwksError> {
    Ok(usable_keys(bytes)?
        .into_iter()
        .map(|k| {
            let key = Arc::new(PublishedKey {
                kid: k.kid.as_str().into(),
                key: k.key,
            });
            (k.kid, key)
        })
        .collect())
}

/// The JWKS with its usable keys only ([`parse_jwks`]), each reduced to `kty`, `kid`, `use`,
/// `alg`, `n` and `e`: about 450 bytes per RSA-2048 key, against 1.8 KB with Auth0's `x5c`.
pub fn minimize_jwks(bytes: &[u8]) -> Result<String, JwksError> {
    #[derive(Serialize)]
    struct MinimalJwk<'a> {
        kty: &'static str,
        kid: &'a str,
        #[serde(rename = "use")]
        use_: &'static str,
        alg: &'static str,
        n: &'a str,
        e: &'a str,
    }
    let keys = usable_keys(bytes)?;
    let keys: Vec<MinimalJwk> = keys
        .iter()
        .map(|k| MinimalJwk {
            kty: "RSA",
            kid: &k.kid,
            use_: "sig",
            alg: "RS256",
            n: &k.n,
            e: &k.e,
        })
        .collect();
    serde_json::to_string(&serde_json::json!({ "keys": keys }))
        .map_err(|e| JwksError::Malformed(e.to_string()))
}

fn usable_keys(bytes: &[u8]) -> Result<Vec<UsableKey>, JwksError> {
    if bytes.len() > MAX_JWKS_BYTES {
        return Err(JwksError::Oversized);
    }
    let set: JwkSet =
        serde_json::from_slice(bytes).map_err(|e| JwksError::Malformed(e.to_string()))?;
    let mut keys: Vec<UsableKey> = Vec::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<RsaJwk>(value) else {
            continue;
        };
        if jwk.kty != "RSA"
            || jwk.use_.as_deref().is_some_and(|u| u != "sig")
            || jwk.alg.as_deref().is_some_and(|a| a != "RS256")
        {
            continue;
        }
        let (Some(kid), Some(n64), Some(e64)) = (jwk.kid, jwk.n, jwk.e) else {
            continue;
        };
        if kid.is_empty() || keys.iter().any(|k| k.kid == kid) {
            continue;
        }
        let (Ok(n), Ok(e)) = (URL_SAFE_NO_PAD.decode(&n64), URL_SAFE_NO_PAD.decode(&e64)) else {
            continue;
        };
        let modulus = strip_leading_zeros(&n);
        let exponent = strip_leading_zeros(&e);
        if !(MIN_MODULUS_BYTES..=MAX_MODULUS_BYTES).contains(&modulus.len())
            || exponent.is_empty()
            || exponent.len() > 4
        {
            continue;
        }
        // Parsed once here: a key the crypto library refuses is skipped, and the parsed key is
        // ready for the first token.
        let Ok(key) = RsaPublicKey::from_components(modulus, exponent) else {
            continue;
        };
        keys.push(UsableKey {
            kid,
            n: n64,
            e: e64,
            key,
        });
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKey);
    }
    Ok(keys)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
