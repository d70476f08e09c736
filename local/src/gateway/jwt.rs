//! API Gateway's JWT authorizer, as an HTTP API runs it (AWS: "Control access to HTTP APIs
//! with JWT authorizers"):
//!
//! 1. the token from the identity source, with or without a `Bearer ` prefix; none:
//!    `401` with `www-authenticate: Bearer`;
//! 2. its signature by a key of the issuer's JWKS, found through the issuer's OpenID discovery
//!    document (RSA only: RS256 here, as every Auth0 tenant signs);
//! 3. `iss` equal to the configured issuer; `aud` — or `client_id` when there is no `aud` —
//!    one of the configured audiences; `exp` after now; `nbf` and `iat` not after now;
//! 4. one of the route's scopes (any one suffices) in `scope` or `scp`, else
//!    `403 {"message":"Forbidden"}`.
//!
//! A failure in 1–3 is `401 {"message":"Unauthorized"}` with `www-authenticate: Bearer
//! scope="<the route's scopes>" error="invalid_token" error_description="…"`, using AWS's
//! descriptions where AWS publishes them. Passed tokens give the function
//! `requestContext.authorizer.jwt`: every claim as a string (arrays as `[a b]`, objects as
//! JSON, nulls left out) and, on routes with scopes, the token's scopes.

use std::collections::HashMap;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::aws_lambda_events::apigw::ApiGatewayRequestAuthorizerJwtDescription;
use organizer_shared::AuthConfig;
use organizer_shared::config::is_acceptable_url;
use organizer_shared::jwks::{JwksCache, KeyError};
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::definition::JwtAuthorizerDef;

/// AWS's limit on the discovery endpoint's answer time.
const DISCOVERY_TIMEOUT: Duration = Duration::from_millis(1500);
/// After a failed discovery, requests wait this long before another attempt.
const DISCOVERY_RETRY: Duration = Duration::from_secs(5);
const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// What the JWT authorizer decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum JwtOutcome {
    Allowed(ApiGatewayRequestAuthorizerJwtDescription),
    /// 401, with this `www-authenticate` value.
    Unauthorized(String),
    /// 403: valid, without any of the route's scopes.
    Forbidden,
}

pub struct JwtAuthorizer {
    pub def: JwtAuthorizerDef,
    client: reqwest::Client,
    keys: Mutex<KeysState>,
}

#[derive(Default)]
enum KeysState {
    #[default]
    Unknown,
    Found(JwksCache),
    FailedAt(Instant),
}

impl JwtAuthorizer {
    pub fn new(def: JwtAuthorizerDef) -> Self {
        Self {
            def,
            client: reqwest::Client::builder()
                .timeout(DISCOVERY_TIMEOUT)
                .build()
                .unwrap_or_default(),
            keys: Mutex::new(KeysState::Unknown),
        }
    }

    /// An authorizer whose keys are given (for `organizer events`, which needs no network).
    pub fn with_keys(def: JwtAuthorizerDef, keys: JwksCache) -> Self {
        let authorizer = Self::new(def);
        authorizer
            .keys
            .try_lock()
            .map(|mut k| *k = KeysState::Found(keys))
            .ok();
        authorizer
    }

    /// The issuer's keys, found through its discovery document on first use.
    async fn keys(&self) -> Result<JwksCache, String> {
        let mut state = self.keys.lock().await;
        match &*state {
            KeysState::Found(keys) => return Ok(keys.clone()),
            KeysState::FailedAt(at) if at.elapsed() < DISCOVERY_RETRY => {
                return Err("the issuer's discovery document could not be read".into());
            }
            _ => {}
        }
        match self.discover().await {
            Ok(keys) => {
                *state = KeysState::Found(keys.clone());
                Ok(keys)
            }
            Err(why) => {
                tracing::warn!(event = "jwt_discovery_failed", issuer = %self.def.issuer, %why, "jwt authorizer: discovery failed");
                *state = KeysState::FailedAt(Instant::now());
                Err("the issuer's discovery document could not be read".into())
            }
        }
    }

    async fn discover(&self) -> Result<JwksCache, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.def.issuer.trim_end_matches('/')
        );
        if !is_acceptable_url(&url) {
            return Err(format!(
                "{url}: the issuer must be https (http only on this machine)"
            ));
        }
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let bytes = response.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        if bytes.len() > MAX_DISCOVERY_BYTES {
            return Err(format!("{url}: the document is too large"));
        }
        let document: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{url}: {e}"))?;
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .filter(|u| is_acceptable_url(u))
            .ok_or_else(|| format!("{url}: no usable jwks_uri"))?;
        let config = AuthConfig {
            jwks_uri: jwks_uri.to_string(),
            ..AuthConfig::for_issuer(self.def.issuer.clone(), "")
        };
        JwksCache::new(&config).map_err(|e| e.to_string())
    }

    /// Decides one request; `value` is the identity source's value (`None` when absent).
    pub async fn decide(&self, value: Option<&str>, route_scopes: &[String]) -> JwtOutcome {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return JwtOutcome::Unauthorized("Bearer".into());
        };
        let invalid = |description: &str| {
            JwtOutcome::Unauthorized(format!(
                "Bearer scope=\"{}\" error=\"invalid_token\" error_description=\"{description}\"",
                route_scopes.join(" ")
            ))
        };
        let token = value
            .strip_prefix("Bearer ")
            .map(str::trim)
            .unwrap_or(value);
        let claims = match self.verify(token).await {
            Ok(claims) => claims,
            Err(description) => return invalid(&description),
        };
        let now = jsonwebtoken::get_current_timestamp();
        if let Err(description) = self.check_claims(&claims, now) {
            return invalid(description);
        }
        let token_scopes = scopes_of(&claims);
        if !route_scopes.is_empty() && !route_scopes.iter().any(|s| token_scopes.contains(s)) {
            return JwtOutcome::Forbidden;
        }
        let mut description = ApiGatewayRequestAuthorizerJwtDescription::default();
        description.claims = stringified(&claims);
        description.scopes = (!route_scopes.is_empty()).then_some(token_scopes);
        JwtOutcome::Allowed(description)
    }

    /// The token's claims, once its signature is verified.
    async fn verify(&self, token: &str) -> Result<Map<String, Value>, String> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, signature] = parts.as_slice() else {
            return Err("token contains an invalid number of segments".into());
        };
        let malformed = || "the token is malformed".to_string();
        let header: Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or_else(malformed)?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != "RS256" {
            return Err(format!("signing method {alg} is invalid"));
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or("the token has no kid")?;
        let keys = self.keys().await?;
        let key = keys.key(kid).await.map_err(|e| match e {
            KeyError::UnknownKid => "no signing key matches the token's kid".to_string(),
            KeyError::Unavailable => "the issuer's signing keys could not be read".to_string(),
        })?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed())?;
        let signed = &token[..header_and_payload_len(token)];
        if !key.verifies(&digest(&SHA256, signed.as_bytes()), &signature) {
            return Err("the token signature is invalid".into());
        }
        URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
            .and_then(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .ok_or_else(malformed)
    }

    fn check_claims(&self, claims: &Map<String, Value>, now: u64) -> Result<(), &'static str> {
        if claims.get("iss").and_then(Value::as_str) != Some(self.def.issuer.as_str()) {
            return Err("the token does not have a valid issuer");
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => self.def.audience.contains(a),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .any(|a| self.def.audience.iter().any(|x| x == a)),
            Some(_) => false,
            None => claims
                .get("client_id")
                .and_then(Value::as_str)
                .is_some_and(|c| self.def.audience.iter().any(|x| x == c)),
        };
        if !audience_ok {
            return Err("the token does not have a valid audience");
        }
        let time = |name: &str| claims.get(name).and_then(Value::as_u64);
        match time("exp") {
            Some(exp) if exp > now => {}
            Some(_) => return Err("the token has expired"),
            None => return Err("the token has no valid exp claim"),
        }
        if time("nbf").is_some_and(|nbf| nbf > now) {
            return Err("the token is not valid yet");
        }
        if time("iat").is_some_and(|iat| iat > now) {
            return Err("the token was issued in the future");
        }
        Ok(())
    }
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

/// The token's scopes: `scp` (a list or a string) first, else `scope` split on spaces.
fn scopes_of(claims: &Map<String, Value>) -> Vec<String> {
    let split = |s: &str| s.split_whitespace().map(str::to_string).collect();
    match claims.get("scp") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => split(s),
        _ => claims
            .get("scope")
            .and_then(Value::as_str)
            .map(split)
            .unwrap_or_default(),
    }
}

/// The claims as API Gateway passes them on: all strings.
fn stringified(claims: &Map<String, Value>) -> HashMap<String, String> {
    claims
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), claim_string(v)))
        .collect()
}

fn claim_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(claim_string).collect::<Vec<_>>().join(" ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn claims_are_passed_on_as_strings() {
        let claims = json!({"sub": "u", "aud": ["organize", "x"], "exp": 5, "ok": true, "n": null, "o": {"a": 1}});
        let out = stringified(claims.as_object().unwrap());
        assert_eq!(out["aud"], "[organize x]");
        assert_eq!(out["exp"], "5");
        assert_eq!(out["ok"], "true");
        assert_eq!(out["o"], r#"{"a":1}"#);
        assert!(!out.contains_key("n"));
    }

    #[test]
    fn scopes_come_from_scp_then_scope() {
        assert_eq!(
            scopes_of(json!({"scope": "a b"}).as_object().unwrap()),
            vec!["a", "b"]
        );
        assert_eq!(
            scopes_of(json!({"scp": ["c"], "scope": "a"}).as_object().unwrap()),
            vec!["c"]
        );
    }

    #[test]
    fn the_claims_are_checked_as_aws_documents() {
        let authorizer = JwtAuthorizer::new(JwtAuthorizerDef {
            name: "J".into(),
            identity_source: super::super::definition::IdentitySource::Header(
                "authorization".into(),
            ),
            issuer: "https://t/".into(),
            audience: vec!["organize".into()],
        });
        let check = |c: Value| authorizer.check_claims(c.as_object().unwrap(), 100);
        assert_eq!(
            check(json!({"iss": "https://t/", "aud": "organize", "exp": 101})),
            Ok(())
        );
        assert_eq!(
            check(json!({"iss": "https://t/", "client_id": "organize", "exp": 101})),
            Ok(())
        );
        assert_eq!(
            check(json!({"iss": "https://t/", "aud": "x", "client_id": "organize", "exp": 101})),
            Err("the token does not have a valid audience")
        );
        assert_eq!(
            check(json!({"iss": "https://u/", "aud": "organize", "exp": 101})),
            Err("the token does not have a valid issuer")
        );
        assert_eq!(
            check(json!({"iss": "https://t/", "aud": "organize", "exp": 100})),
            Err("the token has expired")
        );
        assert_eq!(
            check(json!({"iss": "https://t/", "aud": "organize", "exp": 200, "nbf": 150})),
            Err("the token is not valid yet")
        );
    }
}
