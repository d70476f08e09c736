//! `TokenVerifier`: the access-token pipeline every function runs before it trusts a request.
//!
//! The steps run in this order, and each failure is a 401 `invalid_token` that says which step
//! failed:
//!
//! 1. size (at most [`MAX_TOKEN_BYTES`]) and alphabet (base64url and two dots only);
//! 2. the protected header: `alg` must be exactly `RS256`, `crit` is refused, `kid` is required
//!    and used only as a lookup key; `jku`, `x5u`, `jwk` and `x5c` are ignored;
//! 3. the key for `kid` from the configured JWKS ([`JwksCache`]);
//! 4. the RS256 signature over the header and claims as sent, with that key (aws-lc-rs);
//! 5. the claims, parsed once and typed strictly (`claims.rs`): `exp`, `iss`, `aud` required;
//!    not expired, not before `nbf`, with the configured leeway; `iss` equal to the issuer;
//!    the audience in `aud`; `iat` not in the future; `sub` a non-empty string; `scope` a
//!    string; `permissions` an array of strings.
//!
//! Nothing in the claims is looked at before the signature has been verified.
//!
//! A token that passed every step is remembered (`cache.rs`): the next request with the same
//! token (same SHA-256) gets the same claims without steps 1–5, as long as it is before the
//! token's `exp` and the JWKS still publishes the key that verified it. Scopes are checked by
//! the caller on the claims, per route, hit or miss.

mod cache;
mod claims;

use std::cell::RefCell;
use std::num::NonZeroUsize;
use std::sync::Arc;

use aws_lc_rs::digest::{Context, Digest, SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::config::AuthConfig;
use crate::error::AuthError;
use crate::jwks::{JwksCache, KeyError, PublishedKey};
use crate::metrics::{self, Denial};
pub use cache::TOKEN_CACHE_CAPACITY;
use cache::{TokenCache, TokenDigest, Verified};
use claims::{Rules, TokenClaims, denied};

thread_local! {
    /// Where a token's parts are decoded: kept from one token to the next, so decoding does
    /// not allocate.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Tokens longer than this are refused before any parsing. Auth0 access tokens are about 1 KB.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
const MAX_KID_BYTES: usize = 256;

/// What a verified access token says about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user (`auth0|...`) or, for client credentials, `<client_id>@clients`. Owns the data.
    pub sub: String,
    /// Scopes from the space-separated `scope` claim, in token order.
    pub scopes: Vec<String>,
    /// Auth0 RBAC permissions, when the API adds them (`token_dialect: access_token_authz`):
    /// what the user's roles allow. Read and type-checked, never a grant (see `scope`).
    pub permissions: Vec<String>,
    /// The client the token was issued to (`azp`, or `client_id`).
    pub client_id: Option<String>,
    /// The thumbprint of the key the token is bound to (`cnf.jkt`, RFC 9449): such a token is
    /// accepted only as `Authorization: DPoP` with a proof by that key (see [`crate::access`]).
    /// `None` for a bearer token.
    pub jkt: Option<String>,
}

impl AccessClaims {
    /// The granted scopes as one space-separated string (for logs and authorizer context).
    pub fn scope_string(&self) -> String {
        self.scopes.join(" ")
    }
}

/// The header fields we look at, borrowed from the decoded bytes (a header whose `alg` or
/// `kid` needs JSON escapes is refused as malformed: no issuer writes them so).
#[derive(Deserialize)]
struct ProtectedHeader<'a> {
    #[serde(borrow)]
    alg: &'a str,
    #[serde(borrow)]
    kid: Option<&'a str>,
    crit: Option<serde::de::IgnoredAny>,
}

/// Whether every byte is of the base64url alphabet or a dot. Written without a lookup table
/// or an early exit, so that it compiles to vector instructions: 4x faster on a 1 KB token
/// than a table lookup per byte.
fn is_base64url_or_dot(token: &[u8]) -> bool {
    let mut bad = 0u8;
    for &c in token {
        let ok = c.is_ascii_alphanumeric() | (c == b'-') | (c == b'_') | (c == b'.');
        bad |= u8::from(!ok);
    }
    bad == 0
}

/// Verifies access tokens for one issuer and one audience. Built once at start-up; shared by
/// every request of a warm function, with its cache of verified tokens.
pub struct TokenVerifier {
    issuer: String,
    audience: String,
    leeway: u64,
    keys: JwksCache,
    cache: TokenCache,
}

impl TokenVerifier {
    pub fn new(config: &AuthConfig, keys: JwksCache) -> Self {
        Self::with_cache_capacity(config, keys, TOKEN_CACHE_CAPACITY)
    }

    /// A verifier that remembers at most `capacity` verified tokens (at least one).
    pub fn with_cache_capacity(config: &AuthConfig, keys: JwksCache, capacity: usize) -> Self {
        crate::crypto::install();
        Self {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway.as_secs(),
            keys,
            cache: TokenCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)),
        }
    }

    /// A verifier with its own [`JwksCache`] for the configured JWKS URL (holding the
    /// configuration's JWKS snapshot, if any).
    pub fn from_config(config: &AuthConfig) -> Result<Arc<Self>, crate::jwks::JwksError> {
        Ok(Arc::new(Self::new(config, JwksCache::new(config)?)))
    }

    pub fn keys(&self) -> &JwksCache {
        &self.keys
    }

    /// How many verified tokens are remembered now.
    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }

    /// Runs the whole pipeline on a bearer token (or finds it verified already).
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        self.verify_shared(token)
            .await
            .map(|claims| AccessClaims::clone(&claims))
    }

    /// [`TokenVerifier::verify`], sharing the remembered claims instead of copying them.
    pub async fn verify_shared(&self, token: &str) -> Result<Arc<AccessClaims>, AuthError> {
        // Step 1's size limit first: it also bounds the hashing below.
        if token.len() > MAX_TOKEN_BYTES {
            return Err(denied(
                Denial::Malformed,
                AuthError::invalid_token(format!(
                    "the token is longer than {MAX_TOKEN_BYTES} bytes"
                )),
            ));
        }
        // One pass of SHA-256: the signing input (header.claims) on its way to the digest of
        // the whole token. The first is what the signature covers, the second the cache key.
        let parts = Parts::of(token);
        let mut hash = Context::new(&SHA256);
        hash.update(parts.signing_input.as_bytes());
        let signed = hash.clone();
        hash.update(&token.as_bytes()[parts.signing_input.len()..]);
        let mut digest = TokenDigest([0; 32]);
        digest.0.copy_from_slice(hash.finish().as_ref());

        let now = jsonwebtoken::get_current_timestamp();
        if let Some(hit) = self.cache.get(&digest, now) {
            match self.keys.held_key(hit.key.kid()) {
                Some(key) if Arc::ptr_eq(&key, &hit.key) || key.same_as(&hit.key) => {
                    metrics::note(|t| t.token_cache_hits += 1);
                    return Ok(hit.claims);
                }
                // The key was retired (or replaced under its kid): verify from scratch.
                _ => self.cache.remove(&digest),
            }
        }

        metrics::note(|t| t.token_cache_misses += 1);
        // Steps 1 and 2, then 3 without waiting when the key is held (the usual case): the
        // header's kid is looked up where it was decoded.
        let signed = signed.finish();
        let held = SCRATCH
            .with_borrow_mut(|scratch| {
                check_shape(token, &parts)?;
                let kid = check_header(parts.header, scratch)?;
                Ok::<_, AuthError>(match self.keys.held_key(kid) {
                    Some(key) => Ok(key),
                    None => Err(kid.to_string()),
                })
            })
            .map_err(|e| denied(Denial::Malformed, e))?;
        let key = match held {
            Ok(key) => key,
            Err(kid) => self.keys.key(&kid).await.map_err(|e| match e {
                KeyError::UnknownKid => denied(
                    Denial::BadSignature,
                    AuthError::invalid_token("the token is signed with an unknown key"),
                ),
                KeyError::Unavailable => AuthError::KeysUnavailable,
            })?,
        };
        let (claims, exp) = SCRATCH
            .with_borrow_mut(|scratch| self.signed_claims(&key, &signed, &parts, now, scratch))?;
        self.cache.insert(
            digest,
            Verified {
                exp,
                key,
                claims: claims.clone(),
            },
            now,
        );
        Ok(claims)
    }

    /// Steps 4 and 5, once the key is known: the signature over the header and claims exactly
    /// as sent, then the claims. `scratch` holds what is decoded, reused from one token to the
    /// next.
    fn signed_claims(
        &self,
        key: &PublishedKey,
        signed: &Digest,
        parts: &Parts<'_>,
        now: u64,
        scratch: &mut Vec<u8>,
    ) -> Result<(Arc<AccessClaims>, u64), AuthError> {
        let malformed = || {
            denied(
                Denial::Malformed,
                AuthError::invalid_token("the token is malformed"),
            )
        };
        let signature = decode(parts.signature, scratch).map_err(|_| malformed())?;
        if !key.verifies(signed, signature) {
            return Err(denied(
                Denial::BadSignature,
                AuthError::invalid_token("invalid signature"),
            ));
        }
        // Only now are the claims read.
        let payload = decode(parts.payload, scratch).map_err(|_| malformed())?;
        let claims: TokenClaims = serde_json::from_slice(payload).map_err(|_| {
            denied(
                Denial::Malformed,
                AuthError::invalid_token("the token claims are malformed"),
            )
        })?;
        let exp = claims.check(
            &Rules {
                issuer: &self.issuer,
                audience: &self.audience,
                leeway: self.leeway,
            },
            now,
        )?;
        let claims = Arc::new(AccessClaims {
            sub: claims.sub,
            scopes: claims
                .scope
                .as_deref()
                .unwrap_or("")
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            permissions: claims.permissions.unwrap_or_default(),
            client_id: claims.azp.or(claims.client_id).map(String::from),
            jkt: claims.cnf.and_then(|c| c.jkt).map(String::from),
        });
        Ok((claims, exp))
    }
}

/// A token cut at its first two dots (found once, with SIMD): header, payload and the rest.
struct Parts<'t> {
    header: &'t str,
    payload: &'t str,
    /// Everything after the second dot: the signature when the token has three parts.
    signature: &'t str,
    /// Header and payload with the dot between them: what the signature covers.
    signing_input: &'t str,
}

impl<'t> Parts<'t> {
    fn of(token: &'t str) -> Self {
        let bytes = token.as_bytes();
        let cut = memchr::memchr(b'.', bytes).and_then(|first| {
            memchr::memchr(b'.', &bytes[first + 1..]).map(|second| (first, first + 1 + second))
        });
        match cut {
            // Dots are ASCII: both cuts fall on character boundaries.
            Some((first, second)) => Parts {
                header: &token[..first],
                payload: &token[first + 1..second],
                signature: &token[second + 1..],
                signing_input: &token[..second],
            },
            None => Parts {
                header: token,
                payload: "",
                signature: "",
                signing_input: token,
            },
        }
    }
}

/// Step 1: refuses anything that is not three non-empty base64url parts joined by dots, at
/// most [`MAX_TOKEN_BYTES`] long.
fn check_shape(token: &str, parts: &Parts<'_>) -> Result<(), AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::invalid_token(format!(
            "the token is longer than {MAX_TOKEN_BYTES} bytes"
        )));
    }
    if !is_base64url_or_dot(token.as_bytes()) {
        return Err(AuthError::invalid_token(
            "the token has characters outside base64url",
        ));
    }
    // Parts cut the token at its first two dots: three parts when there is no third.
    if parts.signing_input.len() == token.len()
        || memchr::memchr(b'.', parts.signature.as_bytes()).is_some()
    {
        return Err(AuthError::invalid_token(
            "the token is not a signed JWT (three parts)",
        ));
    }
    if parts.header.is_empty() || parts.payload.is_empty() || parts.signature.is_empty() {
        return Err(AuthError::invalid_token("the token has an empty part"));
    }
    Ok(())
}

/// Decodes base64url into `scratch`, which only ever grows (no allocation, no zeroing, once
/// it has seen a token of the size).
fn decode<'s>(part: &str, scratch: &'s mut Vec<u8>) -> Result<&'s [u8], base64::DecodeSliceError> {
    let room = part.len() / 4 * 3 + 3;
    if scratch.len() < room {
        scratch.resize(room, 0);
    }
    let len = URL_SAFE_NO_PAD.decode_slice(part, scratch)?;
    Ok(&scratch[..len])
}

/// Step 2: decodes the header part into `scratch` and refuses anything but an RS256 header
/// with a `kid` and no `crit`. Returns the `kid`, borrowed from `scratch`.
fn check_header<'s>(header: &str, scratch: &'s mut Vec<u8>) -> Result<&'s str, AuthError> {
    let malformed = || AuthError::invalid_token("the token header is malformed");
    let header = decode(header, scratch).map_err(|_| malformed())?;
    let header: ProtectedHeader = serde_json::from_slice(header).map_err(|_| malformed())?;
    if header.crit.is_some() {
        return Err(AuthError::invalid_token(
            "critical header parameters are not supported",
        ));
    }
    if header.alg != "RS256" {
        return Err(AuthError::invalid_token(
            "unsupported algorithm: only RS256 is accepted",
        ));
    }
    match header.kid {
        Some(kid) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => Ok(kid),
        _ => Err(AuthError::invalid_token(
            "the token header has no usable kid",
        )),
    }
}

#[cfg(test)]
mod tests;
