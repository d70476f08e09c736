//! `SigningKey`: an RSA-2048 key that signs RS256 tokens and publishes its public half as a JWK.
//!
//! The dev tenant signs its tokens with it, and tests and benchmarks mint real tokens with it,
//! so nothing in this project verifies a token that was not really signed.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SigningError {
    #[error("RSA key generation failed")]
    Generate,
    #[error("not a usable RSA private key: {0}")]
    BadKey(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// An RS256 signing key with its `kid`, the RFC 7638 thumbprint of its public key.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    pkcs8_der: Vec<u8>,
    n: String,
    e: String,
    public_der: Vec<u8>,
}

impl SigningKey {
    /// A fresh RSA-2048 key.
    pub fn generate() -> Result<Self, SigningError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| SigningError::Generate)?;
        let der = pair.as_der().map_err(|_| SigningError::Generate)?;
        Self::from_pkcs8_der(der.as_ref())
    }

    /// Loads a key saved with [`SigningKey::to_pkcs8_pem`].
    pub fn from_pkcs8_pem(pem_text: &str) -> Result<Self, SigningError> {
        let parsed = pem::parse(pem_text).map_err(|e| SigningError::BadKey(e.to_string()))?;
        if parsed.tag() != "PRIVATE KEY" {
            return Err(SigningError::BadKey(format!(
                "expected PRIVATE KEY, found {}",
                parsed.tag()
            )));
        }
        Self::from_pkcs8_der(parsed.contents())
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, SigningError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|e| SigningError::BadKey(e.to_string()))?;
        if pair.public_modulus_len() < 256 {
            return Err(SigningError::BadKey(
                "RSA keys must be at least 2048 bits".into(),
            ));
        }
        let public = pair.public_key();
        let public_der = public
            .as_der()
            .map_err(|e| SigningError::BadKey(e.to_string()))?
            .as_ref()
            .to_vec();
        let components = PublicKeyComponents::<Vec<u8>>::from(public);
        let n = URL_SAFE_NO_PAD.encode(&components.n);
        let e = URL_SAFE_NO_PAD.encode(&components.e);
        let pkcs8_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec()));
        let encoding = EncodingKey::from_rsa_pem(pkcs8_pem.as_bytes())
            .map_err(|e| SigningError::BadKey(e.to_string()))?;
        // RFC 7638: members in lexicographic order, no whitespace.
        let thumbprint =
            Sha256::digest(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#).as_bytes());
        Ok(Self {
            kid: URL_SAFE_NO_PAD.encode(thumbprint),
            encoding,
            pkcs8_der: der.to_vec(),
            n,
            e,
            public_der,
        })
    }

    /// The private key as PKCS#8 PEM, for the dev tenant's local (gitignored) state folder.
    pub fn to_pkcs8_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8_der.clone()))
    }

    /// The public key as SPKI PEM.
    pub fn public_key_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PUBLIC KEY", self.public_der.clone()))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JWK, the way Auth0 publishes it.
    pub fn public_jwk(&self) -> Value {
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e})
    }

    /// Signs `claims` as an RS256 JWT whose header carries this key's `kid`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, SigningError> {
        crate::crypto::install();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| SigningError::Sign(e.to_string()))
    }
}

/// A JWKS document (`{"keys": [...]}`) publishing the given keys.
pub fn jwks_document<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Value {
    json!({ "keys": keys.into_iter().map(SigningKey::public_jwk).collect::<Vec<_>>() })
}
