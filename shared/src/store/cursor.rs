//! Opaque pagination cursors, bound to the user and the listing they came from.
//!
//! A cursor carries the sort key of the last item returned, plus a check value computed over
//! the listing kind, the owner and that key. A cursor that was altered, made up, or taken from
//! another user's listing fails the check and is a 400. (The check is a digest, not a secret
//! MAC: a user could forge a cursor into their own listing, which is harmless, because every
//! query is keyed on the token's `sub` and can only ever reach the caller's own items.)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Longest cursor accepted, before any decoding.
pub const MAX_CURSOR_LEN: usize = 1024;
const CHECK_LEN: usize = 16;

/// Encodes the position after `sort_key` in `kind`'s listing for `owner`.
pub fn encode(kind: &str, owner: &str, sort_key: &str) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(sort_key),
        URL_SAFE_NO_PAD.encode(check(kind, owner, sort_key))
    )
}

/// Decodes a cursor made by [`encode`] for the same kind and owner, or `None`.
pub fn decode(kind: &str, owner: &str, cursor: &str) -> Option<String> {
    if cursor.len() > MAX_CURSOR_LEN {
        return None;
    }
    let (key, mac) = cursor.split_once('.')?;
    let key = String::from_utf8(URL_SAFE_NO_PAD.decode(key).ok()?).ok()?;
    let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
    (mac == check(kind, owner, &key)).then_some(key)
}

fn check(kind: &str, owner: &str, sort_key: &str) -> Vec<u8> {
    let mut hash = Sha256::new();
    for part in ["organizer-cursor-v1", kind, owner, sort_key] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize()[..CHECK_LEN].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_for_the_same_owner_only() {
        let c = encode("contacts", "auth0|a", "ann\u{1}c-1");
        assert_eq!(
            decode("contacts", "auth0|a", &c).as_deref(),
            Some("ann\u{1}c-1")
        );
        assert_eq!(decode("contacts", "auth0|b", &c), None);
        assert_eq!(decode("calendar", "auth0|a", &c), None);
    }

    #[test]
    fn any_altered_byte_is_refused() {
        let c = encode("calendar", "auth0|a", "2026-01-01T00:00:00Z#e-1");
        for i in 0..c.len() {
            let mut bytes = c.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered != c {
                assert_eq!(decode("calendar", "auth0|a", &altered), None, "byte {i}");
            }
        }
        for junk in ["", ".", "abc", "a.b.c", "%%%", &"A".repeat(2000)] {
            assert_eq!(decode("calendar", "auth0|a", junk), None, "{junk}");
        }
    }
}
