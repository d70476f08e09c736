//! The `jsonwebtoken` crypto provider this project installs: aws-lc-rs, as the crate's own
//! `aws_lc_rs` provider, except that RS256 verification reuses parsed public keys.
//!
//! `jsonwebtoken` re-imports the RSA key on every verification (modulus and exponent into a
//! fresh key object, then a fresh Montgomery context), about a tenth of the cost of a verify.
//! Its extension point is a process-wide `CryptoProvider` that is handed only a
//! `DecodingKey`, so the parsed keys are kept here, keyed by the key's own bytes (a key can
//! only ever match itself) and bounded in number. Everything else is the stock provider.

use std::sync::{Arc, OnceLock, RwLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{Error as SignatureError, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};

/// More distinct keys than any issuer publishes at once; past this the memo starts over.
const MAX_PARSED_KEYS: usize = 32;

type Memo = RwLock<Vec<((Vec<u8>, Vec<u8>), Arc<ParsedPublicKey>)>>;

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(|| RwLock::new(Vec::new()))
}

/// Installs the provider for this process, once. Returns false when another provider was
/// installed first (then verification is as correct, only slower).
pub fn install() -> bool {
    static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let provider = PROVIDER.get_or_init(|| CryptoProvider {
            signer_factory: DEFAULT_PROVIDER.signer_factory,
            verifier_factory: new_verifier,
            key_utils: DEFAULT_PROVIDER.key_utils.clone(),
        });
        let installed = provider.install_default().is_ok();
        if !installed {
            tracing::warn!("another jsonwebtoken CryptoProvider was installed first; RS256 keys are re-parsed per token");
        }
        installed
    })
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    match (algorithm, key.kind()) {
        (Algorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            Ok(Box::new(ParsedRs256(parsed(n, e)?)))
        }
        _ => (DEFAULT_PROVIDER.verifier_factory)(algorithm, key),
    }
}

/// The parsed key for (n, e), parsed on first use.
pub fn parsed(n: &[u8], e: &[u8]) -> Result<Arc<ParsedPublicKey>, Error> {
    {
        let keys = memo().read().unwrap_or_else(|p| p.into_inner());
        if let Some((_, key)) = keys.iter().find(|((kn, ke), _)| kn == n && ke == e) {
            return Ok(key.clone());
        }
    }
    let der = RsaPublicKeyComponents { n, e }
        .as_der()
        .map_err(|_| Error::from(ErrorKind::InvalidKeyFormat))?;
    let key = Arc::new(
        ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_ref())
            .map_err(|e| Error::from(ErrorKind::InvalidRsaKey(e.to_string())))?,
    );
    let mut keys = memo().write().unwrap_or_else(|p| p.into_inner());
    if keys.len() >= MAX_PARSED_KEYS {
        keys.clear();
    }
    keys.push(((n.to_vec(), e.to_vec()), key.clone()));
    Ok(key)
}

struct ParsedRs256(Arc<ParsedPublicKey>);

impl Verifier<Vec<u8>> for ParsedRs256 {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), SignatureError> {
        self.0
            .verify_sig(message, signature)
            .map_err(SignatureError::from_source)
    }
}

impl JwtVerifier for ParsedRs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestIssuer;

    #[tokio::test]
    async fn the_provider_is_installed_and_keys_are_parsed_once() {
        let issuer = TestIssuer::new();
        let verifier = issuer.verifier();
        assert!(install(), "our provider must be the process default");
        let jwk = issuer.key.public_jwk();
        let b64 = |v: &serde_json::Value| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(v.as_str().unwrap())
                .unwrap()
        };
        let (n, e) = (b64(&jwk["n"]), b64(&jwk["e"]));
        assert!(Arc::ptr_eq(
            &parsed(&n, &e).unwrap(),
            &parsed(&n, &e).unwrap()
        ));
        assert!(verifier.verify(&issuer.token("auth0|a", "x")).await.is_ok());
        // A tampered signature still fails through the cached key.
        let token = issuer.token("auth0|a", "x");
        let at = token.len() - 20;
        let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &token[..at], &token[at + 1..]);
        assert!(verifier.verify(&tampered).await.is_err());
    }
}
