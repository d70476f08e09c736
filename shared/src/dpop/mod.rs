//! `DpopVerifier`: the DPoP proof pipeline (RFC 9449 §4.3), shared by the dev tenant's token
//! endpoint and the resource servers (the APIs, the Lambda authorizer).
//!
//! The steps run in this order; each failure is one [`DpopError`] (`invalid_dpop_proof`, or
//! `use_dpop_nonce`, or for a key the token is not bound to `invalid_token`):
//!
//! 1. size (at most [`MAX_PROOF_BYTES`]) and shape: a compact JWS, three non-empty base64url
//!    parts;
//! 2. the protected header: `typ` exactly `dpop+jwt`; `crit` refused; `alg` asymmetric
//!    (`none` and `HS*` refused) and in the verifier's allow-list (ES256 by default); `jwk`
//!    required, public (no `d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`), not symmetric, of the
//!    type `alg` needs, well formed (a P-256 point on the curve; RSA of 2048 to 4096 bits);
//! 3. the signature over the header and claims as sent, with that key;
//! 4. the claims, only now: `jti` (1 to [`MAX_JTI_BYTES`] bytes), `htm` equal to the request's
//!    method, `htu` equal to its URL (`htu.rs`: query and fragment ignored, RFC 3986
//!    normalization), `iat` within the window (60 s old, 5 s ahead by default), `ath` when an
//!    access token comes with the proof, the key a token is bound to, a `nonce` the server
//!    issued when it asks for one;
//! 5. the `jti`'s first use, in the [`ReplayStore`]: keyed by the digest of the proof's `htu`,
//!    key thumbprint and `jti` (another key cannot squat a victim's `jti`), kept until the
//!    proof would be too old anyway.
//!
//! The result is the key's RFC 7638 thumbprint (`jkt`, what `cnf.jkt` carries), with the
//! `jti` and `iat`.

mod htu;
mod jwk;
mod nonce;
mod replay;

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};
use thiserror::Error;

pub use jwk::thumbprint;
pub use nonce::{DEFAULT_NONCE_LIFETIME, DpopNonces, NoRandom, NonceCheck};
pub use replay::{DEFAULT_REPLAY_CAPACITY, MemoryReplayStore, ReplayStore, ReplayStoreError};

/// Proofs longer than this are refused before any parsing. An ES256 proof is about 600 bytes;
/// one with a 4096-bit RSA key about 2 KB.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// The longest `jti` accepted. SDKs send 16 to 43 characters.
pub const MAX_JTI_BYTES: usize = 256;
/// The longest `nonce` claim looked at.
pub const MAX_NONCE_BYTES: usize = 512;
/// How old a proof may be by default (its `iat`).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);
/// How far ahead of the server's clock a proof's `iat` may be by default.
pub const DEFAULT_FUTURE_SKEW: Duration = Duration::from_secs(5);

/// The value of the `typ` header every proof carries.
pub const PROOF_TYPE: &str = "dpop+jwt";

/// The proof signature algorithms this verifier knows. All asymmetric: `none` and HMAC are
/// never accepted, whatever the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DpopAlg {
    /// ECDSA P-256 with SHA-256: what browsers (auth0-spa-js) and Auth0 use.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
}

impl DpopAlg {
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            _ => None,
        }
    }
}

/// Why a proof was refused. Each variant's text is safe to send back (it names the rule, never
/// echoes the proof).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DpopError {
    #[error("the DPoP proof is longer than {MAX_PROOF_BYTES} bytes")]
    TooLong,
    #[error("the DPoP proof is not a compact JWS (three base64url parts)")]
    NotCompactJws,
    #[error("the DPoP proof header is malformed")]
    MalformedHeader,
    #[error("the DPoP proof typ must be dpop+jwt")]
    WrongType,
    #[error("critical header parameters are not supported")]
    CriticalHeader,
    #[error(
        "the DPoP proof must be signed with an asymmetric algorithm (none and HMAC are refused)"
    )]
    NotAsymmetric,
    #[error("the DPoP proof alg is not supported")]
    UnsupportedAlgorithm,
    #[error("the DPoP proof header has no jwk")]
    MissingKey,
    #[error("the DPoP proof jwk contains a private key")]
    PrivateKey,
    #[error("the DPoP proof jwk is a symmetric key")]
    SymmetricKey,
    #[error("the DPoP proof jwk does not match its alg")]
    KeyAlgMismatch,
    #[error("the DPoP proof jwk is not a usable public key")]
    BadKey,
    #[error("the DPoP proof signature is invalid")]
    BadSignature,
    #[error("the DPoP proof claims are malformed")]
    MalformedClaims,
    #[error("the DPoP proof has no {0} claim")]
    MissingClaim(&'static str),
    #[error("the DPoP proof jti is longer than {MAX_JTI_BYTES} bytes")]
    JtiTooLong,
    #[error("the DPoP proof htm does not match the HTTP method of the request")]
    MethodMismatch,
    #[error("the DPoP proof htu does not match the URL of the request")]
    UrlMismatch,
    #[error("the DPoP proof is too old (iat)")]
    TooOld,
    #[error("the DPoP proof is issued in the future (iat)")]
    IssuedInTheFuture,
    #[error("the DPoP proof ath does not match the access token")]
    AccessTokenHashMismatch,
    /// The proof is valid, but its key is not the one the access token is bound to
    /// (`cnf.jkt`): RFC 9449 answers this `invalid_token`.
    #[error("Invalid DPoP key binding")]
    KeyNotBound,
    #[error("a nonce is required in the DPoP proof")]
    NonceRequired,
    #[error("the DPoP proof nonce is invalid or has expired")]
    BadNonce,
    #[error("the DPoP proof has been used before")]
    Replayed,
    /// The replay store did not answer: not the client's fault (503).
    #[error("DPoP proofs cannot be checked right now")]
    ReplayCheckUnavailable(ReplayStoreError),
}

impl DpopError {
    /// The OAuth error code for this refusal: `invalid_dpop_proof`, `use_dpop_nonce` (answer
    /// with a fresh `DPoP-Nonce`), `invalid_token` (a proof by another key than the token's),
    /// or `temporarily_unavailable` (the replay store failed).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NonceRequired | Self::BadNonce => "use_dpop_nonce",
            Self::KeyNotBound => "invalid_token",
            Self::ReplayCheckUnavailable(_) => "temporarily_unavailable",
            _ => "invalid_dpop_proof",
        }
    }
}

/// What the proof must match: the request it came with, and what the server asks of it.
#[derive(Clone, Copy)]
pub struct ProofRequest<'a> {
    method: &'a str,
    url: &'a str,
    access_token: Option<&'a str>,
    bound_jkt: Option<&'a str>,
    nonces: Option<&'a dyn NonceCheck>,
}

impl<'a> ProofRequest<'a> {
    /// A request with this method (`POST`) to this URL (as the client addressed it: scheme,
    /// host and port as seen from outside; the query may be included, it is ignored).
    pub fn new(method: &'a str, url: &'a str) -> Self {
        Self {
            method,
            url,
            access_token: None,
            bound_jkt: None,
            nonces: None,
        }
    }

    /// The access token the proof accompanies: `ath` is then required and must be its hash.
    pub fn with_access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }

    /// The thumbprint the access token is bound to (`cnf.jkt`): the proof's key must be it.
    pub fn bound_to(mut self, jkt: &'a str) -> Self {
        self.bound_jkt = Some(jkt);
        self
    }

    /// Ask for a server nonce: the proof must carry one `nonces` accepts.
    pub fn with_nonces(mut self, nonces: &'a dyn NonceCheck) -> Self {
        self.nonces = Some(nonces);
        self
    }
}

/// A proof that passed every step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key, base64url: `cnf.jkt`.
    pub jkt: String,
    pub jti: String,
    pub iat: u64,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: Option<String>,
    jwk: Option<jwk::Jwk>,
    crit: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    /// A NumericDate: fractional seconds are allowed (Auth0's own sample sends
    /// `Date.now() / 1000`).
    iat: Option<serde_json::Number>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// Verifies DPoP proofs against the requests they come with. Built once; holds the replay
/// store every proof's `jti` goes through.
pub struct DpopVerifier {
    algorithms: Vec<DpopAlg>,
    max_age: u64,
    future_skew: u64,
    replay: Arc<dyn ReplayStore>,
}

impl DpopVerifier {
    /// ES256 proofs at most [`DEFAULT_MAX_AGE`] old and [`DEFAULT_FUTURE_SKEW`] ahead, each
    /// `jti` accepted once by `replay`.
    pub fn new(replay: Arc<dyn ReplayStore>) -> Self {
        Self {
            algorithms: vec![DpopAlg::Es256],
            max_age: DEFAULT_MAX_AGE.as_secs(),
            future_skew: DEFAULT_FUTURE_SKEW.as_secs(),
            replay,
        }
    }

    /// The algorithms accepted (an empty list refuses every proof).
    pub fn with_algorithms(mut self, algorithms: &[DpopAlg]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    /// How old (`max_age`) and how far ahead (`future_skew`) a proof's `iat` may be.
    pub fn with_iat_window(mut self, max_age: Duration, future_skew: Duration) -> Self {
        self.max_age = max_age.as_secs();
        self.future_skew = future_skew.as_secs();
        self
    }

    pub fn algorithms(&self) -> &[DpopAlg] {
        &self.algorithms
    }

    /// The accepted algorithms, space-separated: the `algs` of a `WWW-Authenticate: DPoP`
    /// challenge, the values of `dpop_signing_alg_values_supported`.
    pub fn algs_param(&self) -> String {
        let names: Vec<&str> = self.algorithms.iter().map(|a| a.name()).collect();
        names.join(" ")
    }

    /// Runs the whole pipeline on the value of a `DPoP` header.
    pub async fn verify(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        self.verify_at(proof, request, jsonwebtoken::get_current_timestamp())
            .await
    }

    /// [`DpopVerifier::verify`] at a given time.
    pub async fn verify_at(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
        now: u64,
    ) -> Result<VerifiedProof, DpopError> {
        let (verified, htu) = self.check(proof, request, now)?;
        // Step 5, last: only a proof that passed everything else is recorded.
        let key = replay_key(&htu, &verified.jkt, &verified.jti);
        let expires_at = verified.iat.saturating_add(self.max_age).saturating_add(1);
        match self.replay.first_use(&key, expires_at).await {
            Ok(true) => Ok(verified),
            Ok(false) => Err(DpopError::Replayed),
            Err(e) => Err(DpopError::ReplayCheckUnavailable(e)),
        }
    }

    /// Steps 1 to 4 only, now: the proof is checked but its `jti` is not recorded. For a
    /// checkpoint in front of the one that records it (the Lambda authorizer in front of the
    /// functions, `crate::access`): recording there too would make the request its own replay.
    pub fn verify_unrecorded(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        self.check(proof, request, jsonwebtoken::get_current_timestamp())
            .map(|(verified, _)| verified)
    }

    /// Steps 1 to 4; the proof and its normalized `htu`.
    fn check(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
        now: u64,
    ) -> Result<(VerifiedProof, String), DpopError> {
        // Step 1.
        if proof.len() > MAX_PROOF_BYTES {
            return Err(DpopError::TooLong);
        }
        let mut parts = proof.split('.');
        let (Some(raw_header), Some(raw_payload), Some(raw_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(DpopError::NotCompactJws);
        };
        let base64url = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !(base64url(raw_header) && base64url(raw_payload) && base64url(raw_signature)) {
            return Err(DpopError::NotCompactJws);
        }
        // Step 2.
        let header = URL_SAFE_NO_PAD
            .decode(raw_header)
            .map_err(|_| DpopError::MalformedHeader)?;
        let header: Header =
            serde_json::from_slice(&header).map_err(|_| DpopError::MalformedHeader)?;
        if header.crit.is_some() {
            return Err(DpopError::CriticalHeader);
        }
        if header.typ.as_deref() != Some(PROOF_TYPE) {
            return Err(DpopError::WrongType);
        }
        let alg = header.alg.as_deref().ok_or(DpopError::MalformedHeader)?;
        if alg.eq_ignore_ascii_case("none") || alg.starts_with("HS") {
            return Err(DpopError::NotAsymmetric);
        }
        let alg = DpopAlg::from_name(alg)
            .filter(|a| self.algorithms.contains(a))
            .ok_or(DpopError::UnsupportedAlgorithm)?;
        let key = header
            .jwk
            .ok_or(DpopError::MissingKey)?
            .into_proof_key(alg)?;
        // Step 3: the signature over the parts exactly as sent.
        let signature = URL_SAFE_NO_PAD
            .decode(raw_signature)
            .map_err(|_| DpopError::BadSignature)?;
        let signed = &proof[..raw_header.len() + 1 + raw_payload.len()];
        if !key.verifies(signed.as_bytes(), &signature) {
            return Err(DpopError::BadSignature);
        }
        // Step 4: only now are the claims read.
        let claims = URL_SAFE_NO_PAD
            .decode(raw_payload)
            .map_err(|_| DpopError::MalformedClaims)?;
        let claims: Claims =
            serde_json::from_slice(&claims).map_err(|_| DpopError::MalformedClaims)?;
        let jti = claims.jti.ok_or(DpopError::MissingClaim("jti"))?;
        if jti.is_empty() {
            return Err(DpopError::MissingClaim("jti"));
        }
        if jti.len() > MAX_JTI_BYTES {
            return Err(DpopError::JtiTooLong);
        }
        let htm = claims.htm.ok_or(DpopError::MissingClaim("htm"))?;
        let htu = claims.htu.ok_or(DpopError::MissingClaim("htu"))?;
        let iat = claims.iat.ok_or(DpopError::MissingClaim("iat"))?;
        if htm != request.method {
            return Err(DpopError::MethodMismatch);
        }
        let htu = match (htu::normalize(&htu), htu::normalize(request.url)) {
            (Some(sent), Some(expected)) if sent == expected => sent,
            _ => return Err(DpopError::UrlMismatch),
        };
        let iat = iat
            .as_f64()
            .filter(|t| t.is_finite() && *t >= 0.0)
            .ok_or(DpopError::MalformedClaims)?;
        // Whole seconds: a fraction never makes a proof older or younger than a second.
        let iat = iat.floor();
        if iat > (now.saturating_add(self.future_skew)) as f64 {
            return Err(DpopError::IssuedInTheFuture);
        }
        // iat is at most now + skew here, so it fits a u64.
        let iat = iat as u64;
        if now.saturating_sub(iat) > self.max_age {
            return Err(DpopError::TooOld);
        }
        if let Some(token) = request.access_token {
            let ath = claims.ath.ok_or(DpopError::MissingClaim("ath"))?;
            let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
            if verify_slices_are_equal(ath.as_bytes(), expected.as_bytes()).is_err() {
                return Err(DpopError::AccessTokenHashMismatch);
            }
        }
        if let Some(bound) = request.bound_jkt
            && verify_slices_are_equal(bound.as_bytes(), key.jkt.as_bytes()).is_err()
        {
            return Err(DpopError::KeyNotBound);
        }
        // The nonce last: a proof wrong in any other way is invalid, not merely nonce-less
        // (the client would retry it with a nonce, and fail again).
        if let Some(nonces) = request.nonces {
            match claims.nonce {
                None => return Err(DpopError::NonceRequired),
                Some(nonce) if nonce.len() > MAX_NONCE_BYTES || !nonces.accepts(&nonce, now) => {
                    return Err(DpopError::BadNonce);
                }
                Some(_) => {}
            }
        }
        Ok((
            VerifiedProof {
                jkt: key.jkt,
                jti,
                iat,
            },
            htu,
        ))
    }
}

/// The replay store's key for a proof: base64url SHA-256 of its normalized `htu`, key
/// thumbprint and `jti` (43 characters, whatever their length).
fn replay_key(htu: &str, jkt: &str, jti: &str) -> String {
    let mut hash = Sha256::new();
    for part in [htu, jkt, jti] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

#[cfg(test)]
mod tests;
