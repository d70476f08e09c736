//! DPoP (RFC 9449) at the dev tenant, as Auth0 does it: the token endpoint's proof check
//! (shared's `DpopVerifier`, with the tenant's own replay store and server nonces), and which
//! tokens get bound to the proof's key.
//!
//! - A `DPoP` header is verified whatever the API's settings: `htm` POST, `htu` the token
//!   endpoint as the issuer names it, ES256 (Auth0's one algorithm), each `jti` once. A bad
//!   proof is 400 `invalid_dpop_proof`.
//! - Public clients must put a server nonce in their proofs (Auth0: "Authorization server
//!   requires nonce in DPoP proof", 400 `use_dpop_nonce`); every answer to a request with a
//!   proof carries a fresh `DPoP-Nonce`. Nonces are stateless (an HMAC of their time, with a
//!   secret made at start-up), accepted for five minutes.
//! - Whether the access token is bound follows Auth0's table ([`access_token_binding`]): by
//!   the client's `require_proof_of_possession` and the API's `proof_of_possession`.
//! - Refresh tokens issued to a public client that sent a proof are bound to its key (RFC 9449
//!   §5), whatever the access token: see [`refresh`](super::refresh).
//! - `/userinfo` is a resource server: a bound token comes with `Authorization: DPoP` and a
//!   proof by its key, with `ath` ([`Dpop::resource_proof`]); sent as Bearer it is refused.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use organizer_shared::dpop::{
    DEFAULT_NONCE_LIFETIME, DpopError, DpopNonces, DpopVerifier, MemoryReplayStore, NoRandom,
    ProofRequest, VerifiedProof,
};

use super::config::{ClientSpec, ResourceServer, SenderConstraint};
use super::error::{Challenge, OAuthError};
use super::routes::TOKEN;

/// The request header that carries a proof, and the response header that carries a nonce.
pub const DPOP_HEADER: &str = "dpop";
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// Auth0's answer to a public client's proof without a nonce.
const NONCE_REQUIRED: &str = "Authorization server requires nonce in DPoP proof";

/// The tenant's DPoP machinery: built once, at start-up.
pub struct Dpop {
    verifier: DpopVerifier,
    nonces: DpopNonces,
    /// The token endpoint's URL as the issuer names it: the `htu` proofs must carry.
    token_url: String,
}

impl Dpop {
    pub fn new(issuer: &str) -> Result<Self, NoRandom> {
        Ok(Self {
            verifier: DpopVerifier::new(Arc::new(MemoryReplayStore::default())),
            nonces: DpopNonces::random(DEFAULT_NONCE_LIFETIME)?,
            token_url: format!("{}{TOKEN}", issuer.trim_end_matches('/')),
        })
    }

    /// `dpop_signing_alg_values_supported`.
    pub fn algorithms(&self) -> Vec<&'static str> {
        self.verifier
            .algorithms()
            .iter()
            .map(|a| a.name())
            .collect()
    }

    /// A fresh nonce, for the `DPoP-Nonce` header.
    pub fn nonce(&self) -> String {
        self.nonces.issue()
    }

    /// The token request's proof, verified; `None` without a `DPoP` header. A client that
    /// requires sender-constraining must send one.
    pub async fn token_request_proof(
        &self,
        headers: &HeaderMap,
        client: &ClientSpec,
    ) -> Result<Option<VerifiedProof>, OAuthError> {
        let Some(proof) = proof_header(headers)? else {
            if client.require_proof_of_possession {
                return Err(proof_required(
                    "the client requires sender-constrained tokens",
                ));
            }
            return Ok(None);
        };
        let mut request = ProofRequest::new("POST", &self.token_url);
        if !client.is_confidential() {
            request = request.with_nonces(&self.nonces);
        }
        self.verifier
            .verify(proof, &request)
            .await
            .map(Some)
            .map_err(|e| dpop_error(&e))
    }
}

impl Dpop {
    /// The proof of a request to one of the tenant's resources (`/userinfo`) with `token`, a
    /// token bound to `jkt`: by that key, for `method` and `url`, with the token's `ath`.
    /// Refusals are 401 with a `WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1).
    pub async fn resource_proof(
        &self,
        headers: &HeaderMap,
        method: &str,
        url: &str,
        token: &str,
        jkt: &str,
    ) -> Result<VerifiedProof, OAuthError> {
        let challenge = |error: OAuthError| self.challenged(error);
        let proof = proof_header(headers)
            .map_err(challenge)?
            .ok_or_else(|| challenge(invalid_proof("a DPoP-bound token needs a DPoP proof")))?;
        let request = ProofRequest::new(method, url)
            .with_access_token(token)
            .bound_to(jkt);
        self.verifier
            .verify(proof, &request)
            .await
            .map_err(|e| challenge(dpop_error(&e)))
    }

    /// `error` as a resource server answers it: 401 (503 stays 503) with a DPoP challenge
    /// naming the accepted algorithms.
    pub fn challenged(&self, mut error: OAuthError) -> OAuthError {
        if error.status != StatusCode::SERVICE_UNAVAILABLE {
            error.status = StatusCode::UNAUTHORIZED;
        }
        let quoted: String = error
            .description
            .chars()
            .filter(|c| (c.is_ascii_graphic() || *c == ' ') && *c != '"' && *c != '\\')
            .collect();
        let value = format!(
            "DPoP error=\"{}\", error_description=\"{quoted}\", algs=\"{}\"",
            error.code,
            self.verifier.algs_param()
        );
        error.with_challenge(Challenge::Dpop(value))
    }
}

/// The `DPoP` header's value: none, or exactly one (RFC 9449 §4.3: not more than one).
pub fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut values = headers.get_all(DPOP_HEADER).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(invalid_proof("more than one DPoP header"));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| invalid_proof("the DPoP header is not a JWT"))
}

fn invalid_proof(description: &str) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
}

/// A refused proof as the token endpoint answers it.
pub fn dpop_error(error: &DpopError) -> OAuthError {
    match error {
        DpopError::NonceRequired => {
            OAuthError::new(StatusCode::BAD_REQUEST, "use_dpop_nonce", NONCE_REQUIRED)
        }
        DpopError::ReplayCheckUnavailable(why) => {
            tracing::error!(event = "dpop_replay_store_unavailable", error = %why, "DPoP replay store unavailable");
            OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                error.to_string(),
            )
        }
        other => OAuthError::new(StatusCode::BAD_REQUEST, other.code(), other.to_string()),
    }
}

fn proof_required(why: &str) -> OAuthError {
    OAuthError::invalid_request(format!("A DPoP proof is required: {why}."))
}

/// Whether the access token for `api` (`None`: the userinfo endpoint only) is bound to the
/// proof's key (`Some(jkt)`), issued as a Bearer token (`None`), or not issued at all, as
/// Auth0's table says:
///
/// | API's method | client requires, no proof | client requires, proof | proof | no proof |
/// |---|---|---|---|---|
/// | (userinfo only) | refused | bound | bound | Bearer |
/// | none | refused | refused | Bearer | Bearer |
/// | dpop, not required | refused | bound | bound | Bearer |
/// | dpop, required (for this client) | refused | bound | bound | refused |
pub fn access_token_binding(
    client: &ClientSpec,
    api: Option<&ResourceServer>,
    proof: Option<&VerifiedProof>,
) -> Result<Option<String>, OAuthError> {
    let requires = client.require_proof_of_possession;
    if requires && proof.is_none() {
        return Err(proof_required(
            "the client requires sender-constrained tokens",
        ));
    }
    let bound = proof.map(|p| p.jkt.clone());
    let Some(api) = api else {
        return Ok(bound);
    };
    match api.sender_constraint(client.is_confidential()) {
        SenderConstraint::None if requires => Err(OAuthError::invalid_request(format!(
            "The client requires sender-constrained tokens, but API {} has no sender-constraining method.",
            api.identifier
        ))),
        SenderConstraint::None => Ok(None),
        SenderConstraint::Allowed => Ok(bound),
        SenderConstraint::Required if proof.is_none() => Err(proof_required(&format!(
            "API {} only issues sender-constrained tokens",
            api.identifier
        ))),
        SenderConstraint::Required => Ok(bound),
    }
}

/// The key a refresh token issued now is bound to: a public client's proof key (RFC 9449 §5:
/// "MUST be bound"). A confidential client's refresh tokens are bound by its authentication.
pub fn refresh_token_binding(client: &ClientSpec, proof: Option<&VerifiedProof>) -> Option<String> {
    proof
        .filter(|_| !client.is_confidential())
        .map(|p| p.jkt.clone())
}
