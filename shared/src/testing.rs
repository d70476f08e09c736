//! Helpers for tests and benchmarks: a test issuer whose tokens are really RS256-signed.
//!
//! Compiled only with the `test-support` feature (dev-dependencies and benchmarks).

use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};

use crate::config::AuthConfig;
use crate::jwks::JwksCache;
use crate::signing::{SigningKey, jwks_document};
use crate::token::TokenVerifier;

pub const TEST_ISSUER: &str = "https://tenant.example.test/";
pub const TEST_AUDIENCE: &str = "organize";

/// One RSA key per test process: generating keys is the slowest part of a test.
pub fn shared_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().unwrap_or_else(|e| panic!("test key: {e}")))
}

/// A second, unrelated key: the attacker's.
pub fn other_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().unwrap_or_else(|e| panic!("test key: {e}")))
}

/// An issuer for tests: mints tokens and builds verifiers that trust its key.
pub struct TestIssuer {
    pub key: &'static SigningKey,
    pub config: AuthConfig,
}

impl Default for TestIssuer {
    fn default() -> Self {
        Self::new()
    }
}

impl TestIssuer {
    pub fn new() -> Self {
        let mut config = AuthConfig::for_issuer(TEST_ISSUER, TEST_AUDIENCE);
        // Nothing listens on the discard port: a refresh fails at once, without DNS or network.
        config.jwks_uri = "http://127.0.0.1:9/.well-known/jwks.json".into();
        Self {
            key: shared_key(),
            config,
        }
    }

    /// A verifier whose JWKS cache already holds this issuer's key (no network).
    pub fn verifier(&self) -> Arc<TokenVerifier> {
        let cache = JwksCache::new(&self.config).unwrap_or_else(|e| panic!("cache: {e}"));
        let jwks = jwks_document([self.key]).to_string();
        cache
            .load(jwks.as_bytes())
            .unwrap_or_else(|e| panic!("jwks: {e}"));
        Arc::new(TokenVerifier::new(&self.config, cache))
    }

    /// Claims of a valid access token for `sub` with `scope`, valid for an hour from now.
    pub fn claims(&self, sub: &str, scope: &str) -> Value {
        let now = jsonwebtoken::get_current_timestamp();
        json!({
            "iss": self.config.issuer,
            "sub": sub,
            "aud": [self.config.audience, format!("{}userinfo", self.config.issuer)],
            "azp": "spa-client-id",
            "iat": now,
            "exp": now + 3600,
            "scope": scope,
        })
    }

    pub fn token(&self, sub: &str, scope: &str) -> String {
        self.sign(&self.claims(sub, scope))
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.key
            .sign(claims)
            .unwrap_or_else(|e| panic!("sign: {e}"))
    }
}

/// Builds API Gateway HTTP API (payload 2.0) events from a fixture file, the way API Gateway
/// would send them, and turns them into `lambda_http` requests.
pub struct EventBuilder {
    value: Value,
}

impl EventBuilder {
    pub fn from_fixture(json: &str) -> Self {
        Self {
            value: serde_json::from_str(json).unwrap_or_else(|e| panic!("fixture: {e}")),
        }
    }

    pub fn method(mut self, method: &str) -> Self {
        self.value["requestContext"]["http"]["method"] = json!(method);
        self
    }

    pub fn path(mut self, path: &str) -> Self {
        self.value["rawPath"] = json!(path);
        self.value["requestContext"]["http"]["path"] = json!(path);
        self
    }

    pub fn stage(mut self, stage: &str) -> Self {
        self.value["requestContext"]["stage"] = json!(stage);
        self
    }

    pub fn query(mut self, raw: &str) -> Self {
        self.value["rawQueryString"] = json!(raw);
        self
    }

    /// Sets a header; API Gateway lower-cases names and joins repeated headers with commas.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.value["headers"][name.to_ascii_lowercase()] = json!(value);
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        if let Some(headers) = self.value["headers"].as_object_mut() {
            headers.remove(&name.to_ascii_lowercase());
        }
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A text body, as API Gateway passes it (not base64).
    pub fn body(mut self, text: &str) -> Self {
        self.value["body"] = json!(text);
        self.value["isBase64Encoded"] = json!(false);
        self
    }

    /// A JSON body with its content type.
    pub fn json_body(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(&body.to_string())
    }

    pub fn json(&self) -> String {
        self.value.to_string()
    }

    pub fn build(self) -> lambda_http::Request {
        lambda_http::request::from_str(&self.json()).unwrap_or_else(|e| panic!("event: {e}"))
    }
}

/// The status, headers and JSON body of a response: what a handler test asserts on.
pub fn response_parts(
    response: &lambda_http::Response<lambda_http::Body>,
) -> (http::StatusCode, http::HeaderMap, Value) {
    (
        response.status(),
        response.headers().clone(),
        response_json(response),
    )
}

/// The JSON body of a response (`null` when it has none).
pub fn response_json(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    match response.body() {
        lambda_http::Body::Text(text) => {
            serde_json::from_str(text).unwrap_or_else(|e| panic!("body {text:?}: {e}"))
        }
        lambda_http::Body::Binary(bytes) => {
            serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("body: {e}"))
        }
        lambda_http::Body::Empty => Value::Null,
        _ => Value::Null,
    }
}
