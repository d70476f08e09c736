//! Idempotency records: the first answer to a `POST` that carried an `Idempotency-Key`, kept
//! for 24 hours so that a retry gets the same answer and creates nothing.
//!
//! A record is written in the same transaction as the item it answers for, so there is never a
//! record without its item, nor an item created twice for one key. Records live in the owner's
//! partition of the service's own table (one user's key never meets another's) and expire
//! through DynamoDB TTL on [`TTL_ATTRIBUTE`]. TTL deletes lazily, days late at worst, so the
//! stores treat a record whose `expires_at` has passed as absent, and let a create overwrite it.

use std::time::{SystemTime, UNIX_EPOCH};

/// The attribute DynamoDB TTL reads (epoch seconds). The SAM template enables TTL on it.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// How long a record answers retries: 24 hours, in seconds.
pub const RECORD_LIFETIME_SECS: u64 = 24 * 60 * 60;

/// Longest key hash a store accepts (a hex SHA-256 is 64).
pub const MAX_KEY_HASH_LEN: usize = 128;

/// The first answer to a create that carried an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Hex SHA-256 of the client's `Idempotency-Key`: the record's key within the owner's data.
    pub key_hash: String,
    /// Hex SHA-256 of the request (the handler computes it): a retry with another body is a 422.
    pub fingerprint: String,
    /// The first answer's HTTP status.
    pub status: u16,
    /// The first answer's JSON body.
    pub body: String,
    /// The first answer's `Location`, if any.
    pub location: Option<String>,
    /// The first answer's `ETag`, if any.
    pub etag: Option<String>,
    /// Epoch seconds after which the record no longer answers: [`expires_at`] of its creation.
    pub expires_at: u64,
}

impl IdempotencyRecord {
    /// Whether the record still answers retries at `now` (epoch seconds).
    pub fn is_live(&self, now: u64) -> bool {
        now < self.expires_at
    }
}

/// Now, in epoch seconds (0 if the clock is before 1970).
pub fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// When a record created at `now` (epoch seconds) expires: [`RECORD_LIFETIME_SECS`] later.
pub fn expires_at(now: u64) -> u64 {
    now.saturating_add(RECORD_LIFETIME_SECS)
}

/// Whether `key_hash` has the shape the stores accept: 1 to 128 ASCII letters and digits (a hex
/// digest), so it is safe inside a sort key.
pub fn is_valid_key_hash(key_hash: &str) -> bool {
    !key_hash.is_empty()
        && key_hash.len() <= MAX_KEY_HASH_LEN
        && key_hash.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_live_until_it_expires() {
        let record = IdempotencyRecord {
            key_hash: "ab".into(),
            fingerprint: "cd".into(),
            status: 201,
            body: "{}".into(),
            location: None,
            etag: None,
            expires_at: expires_at(1_000),
        };
        assert!(record.is_live(1_000));
        assert!(record.is_live(1_000 + RECORD_LIFETIME_SECS - 1));
        assert!(!record.is_live(1_000 + RECORD_LIFETIME_SECS));
    }

    #[test]
    fn key_hashes_are_plain() {
        assert!(is_valid_key_hash(&"a1".repeat(32)));
        for bad in ["", "a#b", "a b", &"a".repeat(129)] {
            assert!(!is_valid_key_hash(bad), "{bad}");
        }
    }
}
