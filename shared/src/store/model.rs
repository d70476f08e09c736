//! The data each microservice owns. Every item belongs to one user: the token's `sub`.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Separates the lower-cased name from the id in a contact's sort key. U+0001 sorts before
/// every printable character, so "Ann" comes before "Ann Smith".
pub const NAME_KEY_SEPARATOR: char = '\u{1}';
/// Ids are opaque, short, and safe in paths and keys.
pub const MAX_ID_LEN: usize = 64;

/// The editable fields of a contact: all a `POST` or `PUT` body may set. Plain data: the
/// handler validates and normalizes them before they reach a store. Optional fields are empty
/// strings when absent, as they are stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactFields {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub company: String,
}

/// A person in the user's address book: its id, its editable fields and when it was created
/// and last replaced. The fields are flattened, so the JSON is one flat object:
/// `{"id","name","email","phone","company","created_at","updated_at"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    #[serde(flatten)]
    pub fields: ContactFields,
    /// RFC 3339, UTC. Set once, by the create.
    pub created_at: String,
    /// RFC 3339, UTC. Set by the create and by every replace.
    pub updated_at: String,
}

impl Contact {
    /// The listing order: case-insensitive by name, then by id so the order is total.
    pub fn sort_key(&self) -> String {
        contact_sort_key(&self.fields.name, &self.id)
    }
}

/// The sort key of a contact with this name and id (see [`Contact::sort_key`]); a replace that
/// changes the name moves the contact in the listing.
pub fn contact_sort_key(name: &str, id: &str) -> String {
    format!("{}{NAME_KEY_SEPARATOR}{id}", name.to_lowercase())
}

/// The editable fields of an event: all a `POST` or `PUT` body may set, validated and
/// normalized by the handler (times in the stored form of [`normalize_time`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFields {
    pub title: String,
    /// RFC 3339, UTC, whole seconds (`2026-11-26T09:30:00Z`), so it sorts as text.
    pub start: String,
    /// RFC 3339, UTC, whole seconds.
    pub end: String,
    pub location: String,
    pub attendees: Vec<String>,
}

/// An entry in the user's calendar: its id and its editable fields, flattened, so the JSON is
/// `{"id","title","start","end","location","attendees"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(flatten)]
    pub fields: EventFields,
}

impl Event {
    /// The listing order: by start time, then by id.
    pub fn sort_key(&self) -> String {
        event_sort_key(&self.fields.start, &self.id)
    }
}

/// The sort key of an event with this start and id (see [`Event::sort_key`]).
pub fn event_sort_key(start: &str, id: &str) -> String {
    format!("{start}#{id}")
}

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

/// Whether `key` has the shape of a contact sort key.
pub fn is_contact_sort_key(key: &str) -> bool {
    key.len() <= 512
        && key
            .rsplit_once(NAME_KEY_SEPARATOR)
            .is_some_and(|(_, id)| is_valid_id(id))
}

/// Whether `key` has the shape of an event sort key.
pub fn is_event_sort_key(key: &str) -> bool {
    key.split_once('#').is_some_and(|(start, id)| {
        is_valid_id(id) && normalize_time(start).as_deref() == Some(start)
    })
}

/// The id at the end of a sort key of either kind.
pub fn id_of_sort_key(key: &str) -> &str {
    key.rsplit([NAME_KEY_SEPARATOR, '#']).next().unwrap_or(key)
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
    fn sort_keys_order_names_case_insensitively_and_keep_the_id() {
        let c = |name: &str, id: &str| Contact {
            id: id.into(),
            fields: ContactFields {
                name: name.into(),
                ..ContactFields::default()
            },
            created_at: String::new(),
            updated_at: String::new(),
        };
        assert!(c("ann", "z").sort_key() < c("Ann Smith", "a").sort_key());
        assert!(c("Bob", "a").sort_key() > c("ann", "b").sort_key());
        assert_eq!(id_of_sort_key(&c("A#b", "id-1").sort_key()), "id-1");
        assert!(is_contact_sort_key(&c("x", "id").sort_key()));
        assert!(is_event_sort_key("2026-11-26T09:30:00Z#e-1"));
        assert!(!is_event_sort_key("2026-11-26T09:30:00+00:00#e-1"));
        assert!(!is_event_sort_key("2026-11-26T09:30:00Z#"));
    }

    #[test]
    fn the_json_stays_one_flat_object_in_the_same_order() {
        let contact = Contact {
            id: "c-1".into(),
            fields: ContactFields {
                name: "Ada".into(),
                email: "ada@example.com".into(),
                phone: "+44".into(),
                company: "AE".into(),
            },
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-02T00:00:00Z".into(),
        };
        let json = serde_json::to_string(&contact).unwrap();
        assert_eq!(
            json,
            r#"{"id":"c-1","name":"Ada","email":"ada@example.com","phone":"+44","company":"AE","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-02T00:00:00Z"}"#
        );
        assert_eq!(serde_json::from_str::<Contact>(&json).unwrap(), contact);
        let event = Event {
            id: "e-1".into(),
            fields: EventFields {
                title: "Planning".into(),
                start: "2026-01-01T09:00:00Z".into(),
                end: "2026-01-01T10:00:00Z".into(),
                location: "Room 1".into(),
                attendees: vec!["Ada".into()],
            },
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(
            json,
            r#"{"id":"e-1","title":"Planning","start":"2026-01-01T09:00:00Z","end":"2026-01-01T10:00:00Z","location":"Room 1","attendees":["Ada"]}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }
}
