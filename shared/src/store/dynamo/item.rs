//! How contacts, events, idempotency records and the quota counter are laid out as DynamoDB
//! items (the table in the [module documentation](super)), and how they are read back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::StoreError;
use crate::store::idempotency::{IdempotencyRecord, TTL_ATTRIBUTE};
use crate::store::model::{
    Contact, ContactFields, Event, EventFields, Stored, contact_sort_key, event_sort_key,
};

/// The sort key of each owner's quota counter.
pub(super) const COUNTER_ID: &str = "#count";
/// The counter's attribute (`count` is a DynamoDB reserved word).
pub(super) const COUNT_ATTRIBUTE: &str = "item_count";
/// The sort key prefix of idempotency records: `#idem#<key hash>`.
pub(super) const RECORD_ID_PREFIX: &str = "#idem#";
/// Every item's version (N).
pub(super) const VERSION_ATTRIBUTE: &str = "version";

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

pub(super) fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        None => Ok(String::new()),
        Some(_) => Err(StoreError::Backend(format!(
            "attribute {name} is not a string"
        ))),
    }
}

fn optional_text(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        None => Ok(None),
        Some(_) => Err(StoreError::Backend(format!(
            "attribute {name} is not a string"
        ))),
    }
}

fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<Option<T>, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map(Some)
            .map_err(|_| StoreError::Backend(format!("attribute {name} is out of range: {v}"))),
        None => Ok(None),
        Some(_) => Err(StoreError::Backend(format!(
            "attribute {name} is not a number"
        ))),
    }
}

/// How one kind of item is written to its table and read back.
pub(super) trait Codec: Clone + Send + Sync + Sized {
    fn id(&self) -> &str;
    /// Every attribute but the keys and the version, its listing sort key included.
    fn attributes(&self) -> Vec<(&'static str, AttributeValue)>;
    fn decode(item: &Item) -> Result<Self, StoreError>;
}

/// The attributes a contact replace sets: the fields and the sort key that follows the name.
pub(super) fn contact_fields(
    id: &str,
    fields: &ContactFields,
) -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("name_key", s(&contact_sort_key(&fields.name, id))),
        ("name", s(&fields.name)),
        ("email", s(&fields.email)),
        ("phone", s(&fields.phone)),
        ("company", s(&fields.company)),
    ]
}

impl Codec for Contact {
    fn id(&self) -> &str {
        &self.id
    }

    fn attributes(&self) -> Vec<(&'static str, AttributeValue)> {
        let mut attributes = contact_fields(&self.id, &self.fields);
        attributes.push(("created_at", s(&self.created_at)));
        attributes.push(("updated_at", s(&self.updated_at)));
        attributes
    }

    fn decode(item: &Item) -> Result<Self, StoreError> {
        Ok(Contact {
            id: text(item, "id")?,
            fields: ContactFields {
                name: text(item, "name")?,
                email: text(item, "email")?,
                phone: text(item, "phone")?,
                company: text(item, "company")?,
            },
            created_at: text(item, "created_at")?,
            updated_at: text(item, "updated_at")?,
        })
    }
}

/// The attributes an event replace sets: the fields and the sort key that follows the start.
pub(super) fn event_fields(id: &str, fields: &EventFields) -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("start_key", s(&event_sort_key(&fields.start, id))),
        ("title", s(&fields.title)),
        ("start", s(&fields.start)),
        ("end", s(&fields.end)),
        ("location", s(&fields.location)),
        (
            "attendees",
            AttributeValue::L(fields.attendees.iter().map(|a| s(a)).collect()),
        ),
    ]
}

impl Codec for Event {
    fn id(&self) -> &str {
        &self.id
    }

    fn attributes(&self) -> Vec<(&'static str, AttributeValue)> {
        event_fields(&self.id, &self.fields)
    }

    fn decode(item: &Item) -> Result<Self, StoreError> {
        let attendees = match item.get("attendees") {
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| {
                    v.as_s()
                        .cloned()
                        .map_err(|_| StoreError::Backend("attendee is not a string".into()))
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
            Some(_) => return Err(StoreError::Backend("attendees is not a list".into())),
        };
        Ok(Event {
            id: text(item, "id")?,
            fields: EventFields {
                title: text(item, "title")?,
                start: text(item, "start")?,
                end: text(item, "end")?,
                location: text(item, "location")?,
                attendees,
            },
        })
    }
}

/// An item and its version (1 when the item predates versions).
pub(super) fn stored<T: Codec>(item: &Item) -> Result<Stored<T>, StoreError> {
    Ok(Stored {
        item: T::decode(item)?,
        version: number(item, VERSION_ATTRIBUTE)?.unwrap_or(1),
    })
}

pub(super) fn record_id(key_hash: &str) -> String {
    format!("{RECORD_ID_PREFIX}{key_hash}")
}

pub(super) fn record_item(owner: &str, record: &IdempotencyRecord) -> Item {
    let mut item = HashMap::from([
        ("user_id".to_string(), s(owner)),
        ("id".to_string(), s(&record_id(&record.key_hash))),
        ("fingerprint".to_string(), s(&record.fingerprint)),
        ("status".to_string(), n(record.status)),
        ("body".to_string(), s(&record.body)),
        (TTL_ATTRIBUTE.to_string(), n(record.expires_at)),
    ]);
    if let Some(location) = &record.location {
        item.insert("location".to_string(), s(location));
    }
    if let Some(etag) = &record.etag {
        item.insert("etag".to_string(), s(etag));
    }
    item
}

pub(super) fn record_from(item: &Item) -> Result<IdempotencyRecord, StoreError> {
    let id = text(item, "id")?;
    let missing = |name: &str| StoreError::Backend(format!("record {id} has no {name}"));
    Ok(IdempotencyRecord {
        key_hash: id
            .strip_prefix(RECORD_ID_PREFIX)
            .ok_or_else(|| StoreError::Backend(format!("{id} is not a record")))?
            .to_string(),
        fingerprint: text(item, "fingerprint")?,
        status: number(item, "status")?.ok_or_else(|| missing("status"))?,
        body: text(item, "body")?,
        location: optional_text(item, "location")?,
        etag: optional_text(item, "etag")?,
        expires_at: number(item, TTL_ATTRIBUTE)?.ok_or_else(|| missing(TTL_ATTRIBUTE))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_with_their_version() {
        let contact = Contact {
            id: "c-1".into(),
            fields: ContactFields {
                name: "Ada".into(),
                email: "ada@example.com".into(),
                phone: String::new(),
                company: "AE".into(),
            },
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-02T00:00:00Z".into(),
        };
        let mut item: Item = contact
            .attributes()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        item.insert("id".into(), s("c-1"));
        assert_eq!(item.get("name_key"), Some(&s("ada\u{1}c-1")));
        // An item written before versions existed is at version 1.
        assert_eq!(stored::<Contact>(&item).unwrap().version, 1);
        item.insert(VERSION_ATTRIBUTE.into(), n(7));
        let back = stored::<Contact>(&item).unwrap();
        assert_eq!((back.item, back.version), (contact, 7));
        item.insert(VERSION_ATTRIBUTE.into(), s("7"));
        assert!(stored::<Contact>(&item).is_err());

        let event = Event {
            id: "e-1".into(),
            fields: EventFields {
                title: "Planning".into(),
                start: "2026-01-01T09:00:00Z".into(),
                end: "2026-01-01T10:00:00Z".into(),
                location: String::new(),
                attendees: vec!["Ada".into(), "Grace".into()],
            },
        };
        let mut item: Item = event
            .attributes()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        item.insert("id".into(), s("e-1"));
        assert_eq!(item.get("start_key"), Some(&s("2026-01-01T09:00:00Z#e-1")));
        assert_eq!(stored::<Event>(&item).unwrap().item, event);
    }

    #[test]
    fn records_round_trip() {
        for (location, etag) in [(None, None), (Some("/contacts/c-1"), Some("\"1\""))] {
            let record = IdempotencyRecord {
                key_hash: "ab12".into(),
                fingerprint: "cd34".into(),
                status: 201,
                body: r#"{"id":"c-1"}"#.into(),
                location: location.map(String::from),
                etag: etag.map(String::from),
                expires_at: 1_900_000_000,
            };
            let item = record_item("auth0|u", &record);
            assert_eq!(item.get("id"), Some(&s("#idem#ab12")));
            assert_eq!(item.get(TTL_ATTRIBUTE), Some(&n(1_900_000_000)));
            assert!(!item.contains_key("name_key") && !item.contains_key("start_key"));
            assert_eq!(record_from(&item).unwrap(), record);
        }
        let mut counter = Item::new();
        counter.insert("id".into(), s(COUNTER_ID));
        assert!(record_from(&counter).is_err());
    }
}
