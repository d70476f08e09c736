//! The resource server's access check, one pipeline for the functions ([`crate::api`]) and the
//! Lambda authorizer: the `Authorization` header (`Bearer` or `DPoP` scheme), the access token
//! ([`TokenVerifier`]), then, for a DPoP-bound token (`cnf.jkt`), its proof ([`DpopVerifier`],
//! RFC 9449 §7).
//!
//! What is accepted, by `DPOP_MODE` ([`DpopMode`]):
//!
//! | credentials | off | allowed | required |
//! |---|---|---|---|
//! | `Bearer` + bearer token | yes | yes | 401 `invalid_token` (DPoP challenge) |
//! | `Bearer` + DPoP-bound token | 401 `invalid_token` | 401 `invalid_token` | 401 `invalid_token` |
//! | `DPoP` + bound token + valid proof | 400 (unknown scheme) | yes | yes |
//! | `DPoP` + bound token + bad proof | 400 | 401 `invalid_dpop_proof` | 401 `invalid_dpop_proof` |
//! | `DPoP` + token not bound | 400 | 401 `invalid_token` | 401 `invalid_token` |
//!
//! A bound token is never a bearer token, in any mode: whoever copied it must not be able to
//! use it by dropping the proof (no downgrade).
//!
//! The proof must be for this request: `htm` its method, `htu` its URL as the client called it
//! ([`request_url`]), `ath` the token's hash, signed by the key of `cnf.jkt`, `iat` within 60 s,
//! and its `jti` used once. Where the `jti` is recorded is the [`Recording`] of the check: the
//! functions record it ([`Recording::Record`], in the replay store every instance shares); the
//! Lambda authorizer in front of them checks the proof fully but does not record it
//! ([`Recording::CheckOnly`]), or every request would be its own replay at the function.
//!
//! No server nonces (`DPoP-Nonce`) are asked for: the `iat` window and the shared replay store
//! bound a stolen proof to one use within a minute, and a nonce would cost every client an
//! extra round trip per nonce lifetime.

use std::sync::Arc;

use http::{HeaderMap, header};

use crate::config::{ConfigError, Env};
use crate::dpop::{DpopError, DpopVerifier, ProofRequest, ReplayStore};
use crate::error::{AuthError, Challenges};
use crate::token::{AccessClaims, TokenVerifier};

/// The `DPoP` request header (RFC 9449 §4.1).
pub const DPOP_HEADER: &str = "dpop";

/// Whether the API takes DPoP-bound tokens (`DPOP_MODE`). Defaults to [`DpopMode::Off`]: the
/// API as it was, bearer tokens only, so both apps work unchanged until DPoP is turned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DpopMode {
    /// Bearer tokens only; a DPoP-bound token is refused (it is not a bearer token).
    #[default]
    Off,
    /// Both: bearer tokens as `Bearer`, DPoP-bound tokens as `DPoP` with their proof.
    Allowed,
    /// DPoP-bound tokens with their proof only.
    Required,
}

impl DpopMode {
    pub const EXAMPLE: &'static str = "allowed";

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "off" => Some(Self::Off),
            "allowed" => Some(Self::Allowed),
            "required" => Some(Self::Required),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Allowed => "allowed",
            Self::Required => "required",
        }
    }
}

/// The access check's configuration: `DPOP_MODE` and `PUBLIC_API_URL`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessConfig {
    /// `DPOP_MODE`: `off` (the default), `allowed` or `required`.
    pub mode: DpopMode,
    /// `PUBLIC_API_URL`: the API's base URL as clients call it, when it is not what API
    /// Gateway's event says (behind CloudFront, or a custom domain with a base path). The `htu`
    /// of a proof is then this URL followed by the request's path without its stage. Defaults
    /// to none: the scheme, `Host` and raw path of the event.
    pub public_url: Option<String>,
}

impl AccessConfig {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let mode = match env.get("DPOP_MODE").map(|v| v.trim().to_ascii_lowercase()) {
            None => DpopMode::Off,
            Some(v) if v.is_empty() => DpopMode::Off,
            Some(v) => DpopMode::parse(&v).ok_or_else(|| ConfigError {
                variable: "DPOP_MODE",
                problem: format!("{v:?} is not off, allowed or required"),
                example: DpopMode::EXAMPLE,
            })?,
        };
        let public_url = match env.get("PUBLIC_API_URL").map(|v| v.trim().to_string()) {
            Some(url) if !url.is_empty() => {
                let ok = (url.starts_with("https://") || crate::config::is_acceptable_url(&url))
                    && !url.contains(['?', '#', ' ']);
                if !ok {
                    return Err(ConfigError {
                        variable: "PUBLIC_API_URL",
                        problem: format!(
                            "{url:?} is not an https URL without query (http only for localhost)"
                        ),
                        example: "https://api.example.com",
                    });
                }
                Some(url.trim_end_matches('/').to_string())
            }
            _ => None,
        };
        Ok(Self { mode, public_url })
    }
}

/// Whether a proof's `jti` is recorded by this check (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// Record it in the replay store: a second use is refused (the functions).
    Record,
    /// Check the proof fully, record nothing (the Lambda authorizer, in front of a function
    /// that records it).
    CheckOnly,
}

/// The scheme of the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    Dpop,
}

/// The scheme and token of the one `Authorization` header: `Bearer <token>` or `DPoP
/// <token>`, held to the same rules (one header, one token, no whitespace or comma inside).
/// No header is `MissingCredentials`; anything else malformed `InvalidRequest`.
pub fn credentials(headers: &HeaderMap, dpop: bool) -> Result<(Scheme, &str), AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let dpop_value = values
        .next()
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_matches(' '))
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| dpop && scheme.eq_ignore_ascii_case("dpop"));
    let Some((_, rest)) = dpop_value else {
        return crate::bearer::bearer_token(headers).map(|token| (Scheme::Bearer, token));
    };
    if values.next().is_some() {
        return Err(AuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() || token.contains([' ', '\t', ',']) {
        return Err(AuthError::invalid_request(
            "the Authorization header must be DPoP followed by one token",
        ));
    }
    Ok((Scheme::Dpop, token))
}

/// The URL a client called, as a proof's `htu` names it (RFC 9449 §4.2: scheme, host, path;
/// the query is ignored by the verifier).
///
/// Behind API Gateway's HTTP API (payload 2.0): `x-forwarded-proto` (always `https` there),
/// the `Host` header (the `execute-api` domain or the custom domain the client used; else
/// `requestContext.domainName`), and the raw path exactly as sent (with the stage prefix of a
/// named stage, without the mapping's base path on a custom domain). With `public_url` set
/// (`PUBLIC_API_URL`): that URL followed by the path without the stage prefix.
pub fn request_url(
    public_url: Option<&str>,
    proto: Option<&str>,
    host: Option<&str>,
    raw_path: &str,
    stage: Option<&str>,
) -> String {
    match public_url {
        Some(base) => {
            let path = match stage.filter(|s| !s.is_empty() && *s != "$default") {
                Some(stage) => raw_path
                    .strip_prefix('/')
                    .and_then(|p| p.strip_prefix(stage))
                    .filter(|p| p.is_empty() || p.starts_with('/'))
                    .unwrap_or(raw_path),
                None => raw_path,
            };
            format!("{base}{path}")
        }
        None => format!(
            "{}://{}{raw_path}",
            proto.unwrap_or("https"),
            host.unwrap_or("localhost")
        ),
    }
}

/// The request a token came with, as far as the access check needs it.
pub struct RequestFacts<'a> {
    pub headers: &'a HeaderMap,
    pub method: &'a str,
    /// The URL the client called ([`request_url`]); only computed for a DPoP request.
    pub url: &'a (dyn Fn() -> String + Sync),
}

/// The access check of one API, built once at start-up and shared by every request.
pub struct AccessCheck {
    pub tokens: Arc<TokenVerifier>,
    pub config: AccessConfig,
    proofs: Option<DpopVerifier>,
    recording: Recording,
}

impl AccessCheck {
    /// Bearer tokens only (`DPOP_MODE=off`).
    pub fn bearer_only(tokens: Arc<TokenVerifier>) -> Self {
        Self {
            tokens,
            config: AccessConfig::default(),
            proofs: None,
            recording: Recording::Record,
        }
    }

    /// As `config` says, proofs' `jti`s going to `replay` (unused when DPoP is off).
    pub fn new(
        tokens: Arc<TokenVerifier>,
        config: AccessConfig,
        replay: Arc<dyn ReplayStore>,
        recording: Recording,
    ) -> Self {
        let proofs = (config.mode != DpopMode::Off).then(|| DpopVerifier::new(replay));
        Self {
            tokens,
            config,
            proofs,
            recording,
        }
    }

    pub fn mode(&self) -> DpopMode {
        self.config.mode
    }

    /// The schemes this API answers with in `WWW-Authenticate`.
    pub fn challenges(&self, realm: &str) -> Challenges {
        Challenges {
            realm: realm.to_string(),
            bearer: self.config.mode != DpopMode::Required,
            dpop_algs: self.proofs.as_ref().map(DpopVerifier::algs_param),
        }
    }

    /// The token's claims, if the credentials are acceptable under the mode (the table of the
    /// module doc). Scopes are the caller's to check.
    pub async fn check(&self, request: &RequestFacts<'_>) -> Result<Arc<AccessClaims>, AuthError> {
        let (scheme, token) = credentials(request.headers, self.proofs.is_some())?;
        let claims = self.tokens.verify_shared(token).await?;
        let Some(proofs) = &self.proofs else {
            if claims.jkt.is_some() {
                return Err(AuthError::DpopRequired(
                    "the access token is DPoP-bound, and this API does not take DPoP".into(),
                ));
            }
            return Ok(claims);
        };
        match (scheme, claims.jkt.as_deref()) {
            (Scheme::Bearer, Some(_)) => Err(AuthError::DpopRequired(
                "the access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof"
                    .into(),
            )),
            (Scheme::Bearer, None) if self.config.mode == DpopMode::Required => {
                Err(AuthError::DpopRequired(
                    "this API requires DPoP-bound access tokens: send one as Authorization: DPoP with a DPoP proof"
                        .into(),
                ))
            }
            (Scheme::Bearer, None) => Ok(claims),
            (Scheme::Dpop, None) => Err(AuthError::DpopRequired(
                "the access token is not DPoP-bound".into(),
            )),
            (Scheme::Dpop, Some(jkt)) => {
                let proof = one_proof(request.headers)?;
                let url = (request.url)();
                let expected = ProofRequest::new(request.method, &url)
                    .with_access_token(token)
                    .bound_to(jkt);
                let result = match self.recording {
                    Recording::Record => proofs.verify(proof, &expected).await,
                    Recording::CheckOnly => proofs.verify_unrecorded(proof, &expected),
                };
                result.map_err(proof_error)?;
                Ok(claims)
            }
        }
    }
}

/// The value of the one `DPoP` header.
fn one_proof(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(DPOP_HEADER).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value
            .to_str()
            .ok()
            .filter(|v| !v.is_empty() && !v.contains(','))
            .ok_or_else(|| AuthError::InvalidDpopProof("the DPoP header is malformed".into())),
        (None, _) => Err(AuthError::InvalidDpopProof(
            "a DPoP-bound token needs a DPoP proof header".into(),
        )),
        (Some(_), Some(_)) => Err(AuthError::InvalidDpopProof(
            "more than one DPoP header".into(),
        )),
    }
}

fn proof_error(error: DpopError) -> AuthError {
    match error {
        DpopError::KeyNotBound => AuthError::DpopRequired(error.to_string()),
        DpopError::ReplayCheckUnavailable(detail) => {
            tracing::warn!(event = "dpop_replay_store_unavailable", %detail, "DPoP replay store unavailable");
            AuthError::ProofCheckUnavailable
        }
        other => AuthError::InvalidDpopProof(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
