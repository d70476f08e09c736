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

/// A client's DPoP key pair that signs real proofs: ES256 (as browsers make them), or RS256 and
/// PS256 for verifiers that accept them. [`DpopKey::sign`] signs any header and claims, so
/// tests can build hostile proofs too.
pub struct DpopKey {
    signer: DpopSigner,
    alg: &'static str,
    jwk: Value,
}

enum DpopSigner {
    Ec(aws_lc_rs::signature::EcdsaKeyPair),
    Rsa(
        aws_lc_rs::rsa::KeyPair,
        &'static dyn aws_lc_rs::signature::RsaEncoding,
    ),
}

impl DpopKey {
    /// A fresh P-256 key.
    pub fn es256() -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .unwrap_or_else(|e| panic!("P-256 key: {e}"));
        // The uncompressed point: 0x04 || x || y.
        let point = pair.public_key().as_ref().to_vec();
        assert_eq!(point.len(), 65, "an uncompressed P-256 point");
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(&point[1..33]),
            "y": b64url(&point[33..65]),
        });
        Self {
            signer: DpopSigner::Ec(pair),
            alg: "ES256",
            jwk,
        }
    }

    /// A fresh RSA-2048 key signing RS256 (PKCS#1 v1.5).
    pub fn rs256() -> Self {
        Self::rsa("RS256", &aws_lc_rs::signature::RSA_PKCS1_SHA256)
    }

    /// A fresh RSA-2048 key signing PS256 (PSS).
    pub fn ps256() -> Self {
        Self::rsa("PS256", &aws_lc_rs::signature::RSA_PSS_SHA256)
    }

    fn rsa(alg: &'static str, encoding: &'static dyn aws_lc_rs::signature::RsaEncoding) -> Self {
        use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
        use aws_lc_rs::signature::KeyPair as _;
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap_or_else(|e| panic!("RSA key: {e}"));
        let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let jwk = json!({"kty": "RSA", "n": b64url(&components.n), "e": b64url(&components.e)});
        Self {
            signer: DpopSigner::Rsa(pair, encoding),
            alg,
            jwk,
        }
    }

    pub fn alg(&self) -> &'static str {
        self.alg
    }

    /// The public key, as a proof's `jwk` header carries it.
    pub fn public_jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// The key's RFC 7638 thumbprint: the `jkt` of tokens bound to it.
    pub fn thumbprint(&self) -> String {
        crate::dpop::thumbprint(&self.jwk).unwrap_or_else(|e| panic!("thumbprint: {e}"))
    }

    /// The header of this key's proofs: `typ`, `alg`, `jwk`.
    pub fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk})
    }

    /// The claims of a proof for `method` and `url`, issued now, with a fresh `jti`.
    pub fn claims(&self, method: &str, url: &str) -> Value {
        json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": url,
            "iat": jsonwebtoken::get_current_timestamp(),
        })
    }

    /// A valid proof for `method` and `url`, issued now.
    pub fn proof(&self, method: &str, url: &str) -> String {
        self.sign(&self.header(), &self.claims(method, url))
    }

    /// A valid proof for `method` and `url` that accompanies the access token `token` (its
    /// `ath`), issued now: what a client sends to a resource server.
    pub fn proof_for(&self, method: &str, url: &str, token: &str) -> String {
        use base64::Engine;
        use sha2::Digest;
        let ath = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(token.as_bytes()));
        self.proof_with(method, url, |c| c["ath"] = json!(ath))
    }

    /// A proof with `edit` applied to its claims (a nonce, an `ath`, an old `iat`...).
    pub fn proof_with(&self, method: &str, url: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.claims(method, url);
        edit(&mut claims);
        self.sign(&self.header(), &claims)
    }

    /// Signs `header` and `claims` (whatever they say) with this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let signature = match &self.signer {
            DpopSigner::Ec(pair) => pair
                .sign(&rng, input.as_bytes())
                .unwrap_or_else(|e| panic!("sign: {e}"))
                .as_ref()
                .to_vec(),
            DpopSigner::Rsa(pair, encoding) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(*encoding, &rng, input.as_bytes(), &mut signature)
                    .unwrap_or_else(|e| panic!("sign: {e}"));
                signature
            }
        };
        format!("{input}.{}", b64url(&signature))
    }
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
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

/// An item type for the shared crate's own tests: a person with the fields of the manifest's
/// `contacts` service (the real contact type lives in its service's crate).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    pub id: String,
    #[serde(flatten)]
    pub fields: PersonFields,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PersonFields {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub company: String,
}

impl crate::store::Item for Person {
    type Fields = PersonFields;
    const SERVICE: &'static str = "contacts";

    fn id(&self) -> &str {
        &self.id
    }

    fn fields(&self) -> &PersonFields {
        &self.fields
    }

    fn new(id: String, fields: PersonFields, _now: &str) -> Self {
        Self { id, fields }
    }

    fn replaced(&self, fields: PersonFields, _now: &str) -> Self {
        Self {
            id: self.id.clone(),
            fields,
        }
    }

    fn sort_key_for(id: &str, fields: &PersonFields) -> String {
        format!("{}\u{1}{id}", fields.name.to_lowercase())
    }

    fn is_sort_key(key: &str) -> bool {
        crate::store::model::ends_with_id(key)
    }

    fn samples(owner: &str) -> Vec<Self> {
        crate::store::sample::PEOPLE
            .iter()
            .enumerate()
            .map(|(i, (name, company, phone))| Person {
                id: crate::store::sample::stable_id("c", owner, i),
                fields: PersonFields {
                    name: (*name).into(),
                    email: crate::store::sample::email_of(name, company),
                    phone: (*phone).into(),
                    company: (*company).into(),
                },
            })
            .collect()
    }
}
