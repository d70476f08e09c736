//! The contacts microservice: a person's address book. Its routes, scopes, table, quota and
//! fields are its entry in the services manifest (`services.yaml`); the generic service of the
//! shared crate (`organizer_shared::service`) answers them. This crate brings what is the
//! contacts' own: the item type and its listing order — by name, case-insensitively.
//!
//! `main.rs` is the Lambda function (`organizer_shared::service::run`); the local stack serves the
//! same item type with the same generic handler.

use organizer_shared::ApiError;
use organizer_shared::api::Query;
use organizer_shared::service::{ItemFilter, Rules};
use organizer_shared::store::model::ends_with_id;
use organizer_shared::store::sample::{PEOPLE, email_of, stable_id};
use organizer_shared::store::{Item, spec};
use organizer_shared::write::folded;
use serde::{Deserialize, Serialize};

/// Separates the lower-cased name from the id in a contact's sort key. U+0001 sorts before
/// every printable character, so "Ann" comes before "Ann Smith".
pub const NAME_KEY_SEPARATOR: char = '\u{1}';

/// The most bytes of the lower-cased name a sort key keeps: a name of 200 characters may take
/// 800 bytes or more (lower-casing can lengthen it), and a sort key must fit in a cursor.
/// Names that share their first 256 bytes are ordered by id.
pub const NAME_KEY_BYTES: usize = 256;

/// The editable fields of a contact: all a `POST` or `PUT` body may set (validated by their
/// manifest types before they get here). Optional fields are empty strings when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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
    #[serde(default)]
    pub created_at: String,
    /// RFC 3339, UTC. Set by the create and by every replace.
    #[serde(default)]
    pub updated_at: String,
}

/// The sort key of a contact with this name and id: the lower-cased name (its first
/// [`NAME_KEY_BYTES`]), the separator, the id. A replace that changes the name moves the
/// contact in the listing.
pub fn contact_sort_key(name: &str, id: &str) -> String {
    let lower = name.to_lowercase();
    let mut end = lower.len().min(NAME_KEY_BYTES);
    while !lower.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{NAME_KEY_SEPARATOR}{id}", &lower[..end])
}

impl Item for Contact {
    type Fields = ContactFields;
    const SERVICE: &'static str = "contacts";

    fn id(&self) -> &str {
        &self.id
    }

    fn fields(&self) -> &ContactFields {
        &self.fields
    }

    fn new(id: String, fields: ContactFields, now: &str) -> Self {
        Self {
            id,
            fields,
            created_at: now.to_string(),
            updated_at: now.to_string(),
        }
    }

    fn replaced(&self, fields: ContactFields, now: &str) -> Self {
        Self {
            id: self.id.clone(),
            fields,
            created_at: self.created_at.clone(),
            updated_at: now.to_string(),
        }
    }

    fn replace_extras(now: &str) -> Vec<(&'static str, serde_json::Value)> {
        vec![("updated_at", serde_json::Value::String(now.to_string()))]
    }

    fn sort_key_for(id: &str, fields: &ContactFields) -> String {
        contact_sort_key(&fields.name, id)
    }

    fn is_sort_key(key: &str) -> bool {
        ends_with_id(key)
            && key
                .rsplit_once(NAME_KEY_SEPARATOR)
                .is_some_and(|(name, _)| name.len() <= NAME_KEY_BYTES)
    }

    fn samples(owner: &str) -> Vec<Self> {
        let now = organizer_shared::store::model::now_rfc3339();
        PEOPLE
            .iter()
            .enumerate()
            .map(|(i, (name, company, phone))| Contact {
                id: stable_id(&spec::<Self>().id_prefix, owner, i),
                fields: ContactFields {
                    name: (*name).to_string(),
                    email: email_of(name, company),
                    phone: (*phone).to_string(),
                    company: (*company).to_string(),
                },
                created_at: now.clone(),
                updated_at: now.clone(),
            })
            .collect()
    }
}

/// The most characters a search (`q`) may have.
pub const MAX_SEARCH_CHARS: usize = 100;

/// Contacts have no rules beyond their fields'; they list everything, by name, or those whose
/// name, company or e-mail contains the search `q` (any case).
impl Rules for Contact {
    fn filter(query: &Query) -> Result<Option<ItemFilter<Self>>, ApiError> {
        let Some(q) = query.get("q") else {
            return Ok(None);
        };
        let words = folded(q.trim());
        let count = words.chars().count();
        if count == 0 || count > MAX_SEARCH_CHARS || words.chars().any(char::is_control) {
            return Err(ApiError::BadRequest(format!(
                "q must be 1 to {MAX_SEARCH_CHARS} characters of text"
            )));
        }
        Ok(Some(Box::new(move |contact: &Contact| {
            let f = &contact.fields;
            [&f.name, &f.company, &f.email]
                .iter()
                .any(|text| folded(text).contains(&words))
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_names_case_insensitively_and_keep_the_id() {
        let key = |name: &str, id: &str| contact_sort_key(name, id);
        assert!(key("ann", "z") < key("Ann Smith", "a"));
        assert!(key("Bob", "a") > key("ann", "b"));
        assert_eq!(
            organizer_shared::store::model::id_of_sort_key(&key("A#b", "id-1")),
            "id-1"
        );
        assert!(Contact::is_sort_key(&key("x", "id")));
        assert!(!Contact::is_sort_key("no-separator"));
    }

    #[test]
    fn a_long_name_keeps_its_sort_key_within_a_cursor() {
        let name = "\u{1F600}".repeat(200);
        let key = key_of(&name);
        assert!(key.len() <= NAME_KEY_BYTES + 1 + 64);
        assert!(Contact::is_sort_key(&key), "{} bytes", key.len());
    }

    fn key_of(name: &str) -> String {
        contact_sort_key(name, "c-0123456789abcdef0123456789abcdef")
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
    }
}
