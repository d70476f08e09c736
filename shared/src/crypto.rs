//! RSA public keys for RS256, parsed once by aws-lc-rs when the JWKS is loaded, and the
//! `jsonwebtoken` crypto provider this project selects (aws-lc-rs, the one backend).
//!
//! The token pipeline checks signatures here, directly on the parsed key, and parses a token's
//! header and claims once itself ([`crate::token`]); `jsonwebtoken` is only used to sign
//! (the dev tenant, tests). Before, `jsonwebtoken::decode` re-imported the key per token and
//! parsed the header three times and the claims twice.

use std::sync::OnceLock;

use aws_lc_rs::digest::Digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;

/// Selects `jsonwebtoken`'s aws-lc-rs provider for this process, once, so that no feature
/// unification can make it guess. Returns false when another provider was installed first.
pub fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| DEFAULT_PROVIDER.install_default().is_ok())
}

/// An RSA public key of the JWKS, parsed once, that checks RS256 signatures
/// (RSASSA-PKCS1-v1_5 with SHA-256).
pub struct RsaPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
    parsed: ParsedPublicKey,
}

/// The crypto library refused the key.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyRejected;

impl RsaPublicKey {
    /// The key of modulus `n` and exponent `e` (big-endian, no leading zeros).
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, KeyRejected> {
        let der = RsaPublicKeyComponents { n, e }
            .as_der()
            .map_err(|_| KeyRejected)?;
        let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_ref())
            .map_err(|_| KeyRejected)?;
        Ok(Self {
            n: n.to_vec(),
            e: e.to_vec(),
            parsed,
        })
    }

    /// Whether `signature` is this key's RS256 signature of the message whose SHA-256 is
    /// `digest` (the pipeline hashes the signing input once, on its way to the token's digest).
    pub fn verifies(&self, digest: &Digest, signature: &[u8]) -> bool {
        digest.algorithm() == &aws_lc_rs::digest::SHA256
            && self.parsed.verify_digest_sig(digest, signature).is_ok()
    }

    /// Whether both are the same key (same modulus and exponent).
    pub fn same_key(&self, other: &RsaPublicKey) -> bool {
        self.n == other.n && self.e == other.e
    }
}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaPublicKey({} bits)", self.n.len() * 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::digest::{SHA256, SHA384, digest};

    fn components() -> (Vec<u8>, Vec<u8>) {
        use base64::Engine;
        let jwk = crate::testing::shared_key().public_jwk();
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(v.as_str().unwrap())
                .unwrap()
        };
        (b64(&jwk["n"]), b64(&jwk["e"]))
    }

    #[test]
    fn checks_rs256_signatures_of_a_digest() {
        assert!(install(), "the aws-lc-rs provider is the process default");
        let key = crate::testing::shared_key();
        let (n, e) = components();
        let public = RsaPublicKey::from_components(&n, &e).unwrap();
        let token = key.sign(&serde_json::json!({"sub": "a"})).unwrap();
        let (input, signature) = token.rsplit_once('.').unwrap();
        use base64::Engine;
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature)
            .unwrap();
        assert!(public.verifies(&digest(&SHA256, input.as_bytes()), &signature));
        // Another message, a tampered signature, or a digest of another algorithm: refused.
        assert!(!public.verifies(&digest(&SHA256, b"other"), &signature));
        let mut tampered = signature.clone();
        tampered[7] ^= 1;
        assert!(!public.verifies(&digest(&SHA256, input.as_bytes()), &tampered));
        assert!(!public.verifies(&digest(&SHA384, input.as_bytes()), &signature));
        // The attacker's key does not verify our signatures, and is not the same key.
        let other = crate::testing::other_key().public_jwk();
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        let other = RsaPublicKey::from_components(
            &B64.decode(other["n"].as_str().unwrap()).unwrap(),
            &B64.decode(other["e"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        assert!(!other.verifies(&digest(&SHA256, input.as_bytes()), &signature));
        assert!(!other.same_key(&public));
        assert!(
            RsaPublicKey::from_components(&n, &e)
                .unwrap()
                .same_key(&public)
        );
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert_eq!(
            RsaPublicKey::from_components(&[0x42; 8], &[1, 0, 1]).unwrap_err(),
            KeyRejected
        );
    }
}
