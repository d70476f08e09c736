//! What every service's items share: their versions, their ids, and the time and date forms
//! they are stored in. Every item belongs to one user: the token's `sub`.

use chrono::{DateTime, NaiveDate, SecondsFormat, Timelike, Utc};

/// Ids are opaque, short, and safe in paths and keys.
pub const MAX_ID_LEN: usize = 64;

/// An item as a store holds it, with its version: 1 when created, one more on each replace.
/// Conditional writes compare it (`if_version`); the HTTP layer turns it into an `ETag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<T> {
    pub item: T,
    pub version: u64,
}

/// Whether `id` has the shape of an id: 1 to 64 of `A-Z a-z 0-9 - _`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses an RFC 3339 time with any offset and writes it in UTC with whole seconds, the one
/// form stored and compared. Years outside 0000-9999 are refused (they would not sort as text).
pub fn normalize_time(value: &str) -> Option<String> {
    if value.len() > 64 {
        return None;
    }
    let parsed = DateTime::parse_from_rfc3339(value)
        .ok()?
        .with_timezone(&Utc);
    let text = parsed.to_rfc3339_opts(SecondsFormat::Secs, true);
    (text.len() == 20).then_some(text)
}

/// A window bound in the stored form. Stored starts are whole seconds, so a bound with a
/// fraction is rounded up: `start >= 09:00:00.5` is `start >= 09:00:01`, and
/// `start < 09:00:00.5` is `start < 09:00:01`.
pub fn normalize_bound(value: &str) -> Option<String> {
    if value.len() > 64 {
        return None;
    }
    let parsed = DateTime::parse_from_rfc3339(value)
        .ok()?
        .with_timezone(&Utc);
    let whole = parsed.with_nanosecond(0)?;
    let ceiled = if whole == parsed {
        whole
    } else {
        whole + chrono::Duration::seconds(1)
    };
    let text = ceiled.to_rfc3339_opts(SecondsFormat::Secs, true);
    (text.len() == 20).then_some(text)
}

/// Now, in the stored form.
pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A date as the API takes and stores it: `YYYY-MM-DD`, a real day of years 0000-9999.
pub fn normalize_date(value: &str) -> Option<String> {
    if value.len() != 10 {
        return None;
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
    let text = date.format("%Y-%m-%d").to_string();
    (text == value).then_some(text)
}

/// Whether `c` may be part of an id (and so never separates one from the rest of a sort key).
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// The id at the end of a sort key: its longest tail of id characters ([`crate::store::Item::sort_key_for`]).
pub fn id_of_sort_key(key: &str) -> &str {
    let start = key
        .char_indices()
        .rev()
        .find(|(_, c)| !is_id_char(*c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    &key[start..]
}

/// Whether `key` ends with a separator and a valid id, within the length a cursor carries.
pub fn ends_with_id(key: &str) -> bool {
    let id = id_of_sort_key(key);
    key.len() <= crate::store::MAX_SORT_KEY_BYTES && is_valid_id(id) && id.len() < key.len()
}

/// A fresh item id: a prefix and 128 random bits, hex (`c-…` for contacts, `e-…` for events).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_normalized_to_utc_seconds() {
        assert_eq!(
            normalize_time("2026-11-26T10:30:00+01:00").as_deref(),
            Some("2026-11-26T09:30:00Z")
        );
        assert_eq!(
            normalize_time("2026-11-26T09:30:00.999Z").as_deref(),
            Some("2026-11-26T09:30:00Z")
        );
        for bad in [
            "2026-11-26",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "",
            "2026-11-26T09:30:00",
        ] {
            assert_eq!(normalize_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn window_bounds_round_fractions_up() {
        assert_eq!(
            normalize_bound("2026-11-26T09:00:00.5Z").as_deref(),
            Some("2026-11-26T09:00:01Z")
        );
        assert_eq!(
            normalize_bound("2026-11-26T09:00:00Z").as_deref(),
            Some("2026-11-26T09:00:00Z")
        );
        assert_eq!(
            normalize_bound("2026-11-26T10:00:00.000+01:00").as_deref(),
            Some("2026-11-26T09:00:00Z")
        );
        assert_eq!(normalize_bound("nope"), None);
    }

    #[test]
    fn ids_are_short_and_plain() {
        assert!(is_valid_id("c-0a1b_2"));
        for bad in ["", "a/b", "a b", "ä", "x".repeat(65).as_str(), "..", "a#b"] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn the_id_is_read_back_from_a_sort_key() {
        assert_eq!(id_of_sort_key("ann\u{1}c-1"), "c-1");
        assert_eq!(id_of_sort_key("2026-11-26T09:30:00Z#e-1"), "e-1");
        assert_eq!(id_of_sort_key("A#b\u{1}id_1"), "id_1");
        assert!(ends_with_id("x#id"));
        assert!(!ends_with_id("id"));
        assert!(!ends_with_id("x#"));
        assert!(!ends_with_id(&format!("{}#id", "x".repeat(600))));
    }

    #[test]
    fn dates_are_plain_calendar_days() {
        assert_eq!(normalize_date("2026-02-28").as_deref(), Some("2026-02-28"));
        for bad in [
            "2026-02-30",
            "2026-2-28",
            "26-02-28",
            "2026-02-28T00:00:00Z",
            "",
        ] {
            assert_eq!(normalize_date(bad), None, "{bad}");
        }
    }
}
