//! The proof's `jwk`: public only, of a type its `alg` allows, parsed by aws-lc-rs before any
//! signature is checked; and its RFC 7638 thumbprint (`jkt`), computed from the members as
//! sent.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256,
    RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};

use super::{DpopAlg, DpopError};

/// RSA keys from 2048 to 4096 bits: what browsers and SDKs make. Larger keys only cost the
/// verifier more (aws-lc-rs itself would take up to 8192).
const RSA_MIN_BYTES: usize = 256;
const RSA_MAX_BYTES: usize = 512;
/// A P-256 coordinate is exactly 32 bytes (RFC 7518 §6.2.1.2: the full size, zeros kept).
const P256_COORDINATE_BYTES: usize = 32;

/// True when the member is present at all (a `null` counts: a key that names a private
/// member is not a public key).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The JWK members this module reads. Unknown members (`kid`, `use`, `key_ops`, ...) are
/// ignored; a repeated member is malformed (serde refuses duplicate fields).
#[derive(Deserialize)]
pub(crate) struct Jwk {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
    alg: Option<String>,
    // Private members of EC, RSA and symmetric keys (RFC 7518 §6).
    #[serde(default, deserialize_with = "present")]
    d: bool,
    #[serde(default, deserialize_with = "present")]
    p: bool,
    #[serde(default, deserialize_with = "present")]
    q: bool,
    #[serde(default, deserialize_with = "present")]
    dp: bool,
    #[serde(default, deserialize_with = "present")]
    dq: bool,
    #[serde(default, deserialize_with = "present")]
    qi: bool,
    #[serde(default, deserialize_with = "present")]
    oth: bool,
    #[serde(default, deserialize_with = "present")]
    k: bool,
}

/// A proof key, parsed and checked against the proof's `alg`.
pub(crate) struct ProofKey {
    alg: DpopAlg,
    parsed: ParsedKey,
    /// The RFC 7638 thumbprint, base64url.
    pub(crate) jkt: String,
}

enum ParsedKey {
    Ec(ParsedPublicKey),
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

fn decode(member: Option<&String>) -> Result<Vec<u8>, DpopError> {
    let text = member.ok_or(DpopError::BadKey)?;
    URL_SAFE_NO_PAD.decode(text).map_err(|_| DpopError::BadKey)
}

impl Jwk {
    fn holds_private_material(&self) -> bool {
        self.d || self.p || self.q || self.dp || self.dq || self.qi || self.oth
    }

    /// Checks the key against `alg` and parses it: public only, not symmetric, `kty` (and for
    /// EC `crv`) as `alg` requires, an `alg` member (if any) equal to the header's, members of
    /// the right size, a point on the curve.
    pub(crate) fn into_proof_key(self, alg: DpopAlg) -> Result<ProofKey, DpopError> {
        if self.holds_private_material() {
            return Err(DpopError::PrivateKey);
        }
        if self.k || self.kty.as_deref() == Some("oct") {
            return Err(DpopError::SymmetricKey);
        }
        if self.alg.as_deref().is_some_and(|a| a != alg.name()) {
            return Err(DpopError::KeyAlgMismatch);
        }
        let parsed = match alg {
            DpopAlg::Es256 => {
                if self.kty.as_deref() != Some("EC") || self.crv.as_deref() != Some("P-256") {
                    return Err(DpopError::KeyAlgMismatch);
                }
                let (x, y) = (decode(self.x.as_ref())?, decode(self.y.as_ref())?);
                if x.len() != P256_COORDINATE_BYTES || y.len() != P256_COORDINATE_BYTES {
                    return Err(DpopError::BadKey);
                }
                // The uncompressed point: 0x04 || x || y. aws-lc-rs refuses points off the curve.
                let mut point = Vec::with_capacity(1 + 2 * P256_COORDINATE_BYTES);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                    .map_err(|_| DpopError::BadKey)?;
                ParsedKey::Ec(key)
            }
            DpopAlg::Rs256 | DpopAlg::Ps256 => {
                if self.kty.as_deref() != Some("RSA") {
                    return Err(DpopError::KeyAlgMismatch);
                }
                let (n, e) = (decode(self.n.as_ref())?, decode(self.e.as_ref())?);
                // Minimal big-endian octets (RFC 7518 §6.3.1): a zero-padded modulus would give
                // the same key another thumbprint.
                let minimal = |v: &[u8]| v.first().is_some_and(|b| *b != 0);
                if !minimal(&n)
                    || !minimal(&e)
                    || !(RSA_MIN_BYTES..=RSA_MAX_BYTES).contains(&n.len())
                    || e.len() > 4
                {
                    return Err(DpopError::BadKey);
                }
                ParsedKey::Rsa { n, e }
            }
        };
        let jkt = self.thumbprint()?;
        Ok(ProofKey { alg, parsed, jkt })
    }

    /// RFC 7638: SHA-256 of the required members, in lexicographic order, as sent.
    pub(crate) fn thumbprint(&self) -> Result<String, DpopError> {
        let quoted = |member: Option<&String>| {
            member
                .map(|s| serde_json::to_string(s).unwrap_or_default())
                .ok_or(DpopError::BadKey)
        };
        let canonical = match self.kty.as_deref() {
            Some("EC") => format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                quoted(self.crv.as_ref())?,
                quoted(self.x.as_ref())?,
                quoted(self.y.as_ref())?
            ),
            Some("RSA") => format!(
                r#"{{"e":{},"kty":"RSA","n":{}}}"#,
                quoted(self.e.as_ref())?,
                quoted(self.n.as_ref())?
            ),
            Some("oct") => return Err(DpopError::SymmetricKey),
            _ => return Err(DpopError::BadKey),
        };
        Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
    }
}

impl ProofKey {
    /// Whether `signature` is this key's signature of `message` with the proof's `alg`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match (&self.parsed, self.alg) {
            (ParsedKey::Ec(key), DpopAlg::Es256) => key.verify_sig(message, signature).is_ok(),
            (ParsedKey::Rsa { n, e }, DpopAlg::Rs256) => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            (ParsedKey::Rsa { n, e }, DpopAlg::Ps256) => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PSS_2048_8192_SHA256, message, signature)
                .is_ok(),
            _ => false,
        }
    }
}

/// The RFC 7638 JWK SHA-256 thumbprint (base64url) of a public key given as a JWK: the `jkt`
/// a DPoP-bound token's `cnf` carries and `/authorize`'s `dpop_jkt` names. EC and RSA keys;
/// members other than the required ones (`kid`, `alg`, `use`, ...) do not change it.
pub fn thumbprint(jwk: &serde_json::Value) -> Result<String, DpopError> {
    Jwk::deserialize(jwk)
        .map_err(|_| DpopError::BadKey)?
        .thumbprint()
}
