//! Server-provided nonces (RFC 9449 §8, §9): a server that asks for them answers a proof
//! without one (or with a stale one) with `use_dpop_nonce` and a fresh `DPoP-Nonce` header.
//!
//! [`DpopNonces`] makes them without storing anything: a nonce is its issue time and an
//! HMAC-SHA256 tag of it, valid for a lifetime. Any instance holding the same secret accepts
//! another's nonces; nothing grows with traffic.

use std::time::Duration;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Decides whether a proof's `nonce` claim is one the server handed out and still accepts.
pub trait NonceCheck: Send + Sync {
    fn accepts(&self, nonce: &str, now: u64) -> bool;
}

/// How long a nonce is accepted by default: five minutes. A client that keeps one longer is
/// answered `use_dpop_nonce` with a new one, and retries.
pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// Bytes of the HMAC tag kept in a nonce (128 bits).
const TAG_BYTES: usize = 16;
/// A nonce issued this far in the future (clocks of instances apart) is still accepted.
const FUTURE_SKEW: u64 = 5;

/// Stateless nonces: `base64url(issued_at (8 bytes, big-endian) || HMAC(secret, issued_at)[..16])`.
pub struct DpopNonces {
    key: hmac::Key,
    lifetime: u64,
}

/// The system's random generator failed.
#[derive(Debug, thiserror::Error)]
#[error("the system random generator failed")]
pub struct NoRandom;

impl DpopNonces {
    /// Nonces tagged with `secret` (share it between instances that must accept each other's
    /// nonces), accepted for `lifetime`.
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            lifetime: lifetime.as_secs(),
        }
    }

    /// Nonces with a random secret of this process: a restart makes clients ask again.
    pub fn random(lifetime: Duration) -> Result<Self, NoRandom> {
        let mut secret = [0u8; 32];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| NoRandom)?;
        Ok(Self::new(&secret, lifetime))
    }

    /// A fresh nonce, for a `DPoP-Nonce` header.
    pub fn issue(&self) -> String {
        self.issue_at(jsonwebtoken::get_current_timestamp())
    }

    pub fn issue_at(&self, now: u64) -> String {
        let time = now.to_be_bytes();
        let tag = hmac::sign(&self.key, &time);
        let mut bytes = Vec::with_capacity(8 + TAG_BYTES);
        bytes.extend_from_slice(&time);
        bytes.extend_from_slice(&tag.as_ref()[..TAG_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

impl NonceCheck for DpopNonces {
    fn accepts(&self, nonce: &str, now: u64) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        if bytes.len() != 8 + TAG_BYTES {
            return false;
        }
        let (time, tag) = bytes.split_at(8);
        let mut issued = [0u8; 8];
        issued.copy_from_slice(time);
        let issued = u64::from_be_bytes(issued);
        // The tag first (constant time), then the time it vouches for.
        let expected = hmac::sign(&self.key, time);
        let genuine =
            aws_lc_rs::constant_time::verify_slices_are_equal(&expected.as_ref()[..TAG_BYTES], tag)
                .is_ok();
        genuine && issued <= now + FUTURE_SKEW && now.saturating_sub(issued) < self.lifetime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_for_its_lifetime_by_its_issuer_only() {
        let nonces = DpopNonces::new(b"secret", Duration::from_secs(300));
        let nonce = nonces.issue_at(1000);
        assert!(nonces.accepts(&nonce, 1000));
        assert!(nonces.accepts(&nonce, 1299));
        assert!(!nonces.accepts(&nonce, 1300), "expired");
        assert!(!nonces.accepts(&nonce, 900), "issued in the future");
        let other = DpopNonces::new(b"other secret", Duration::from_secs(300));
        assert!(!other.accepts(&nonce, 1000), "another server's");
        // Tampered: another time with the same tag, or garbage.
        let mut bytes = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        bytes[7] ^= 1;
        assert!(!nonces.accepts(&URL_SAFE_NO_PAD.encode(bytes), 1000));
        for garbage in ["", "x", "!!!!", &nonce[..nonce.len() - 2]] {
            assert!(!nonces.accepts(garbage, 1000), "{garbage}");
        }
        // Unpredictable without the secret; within the NQCHAR syntax (base64url).
        assert_ne!(
            DpopNonces::random(Duration::from_secs(1))
                .unwrap()
                .issue_at(1),
            DpopNonces::random(Duration::from_secs(1))
                .unwrap()
                .issue_at(1)
        );
    }
}
