//! How a service's items, idempotency records and the quota counter are laid out as DynamoDB
//! items (the table in the [module documentation](super)), and how they are read back.
//!
//! An item is written as its JSON form: each member an attribute of the same name (strings as
//! S, numbers as N, booleans as BOOL, lists as L, objects as M; a `null` member is left out),
//! plus the listing's sort key under the table's index key. It is read back the same way, so
//! one codec serves every kind of item ([`Codec`] for every [`crate::store::Item`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

use crate::store::idempotency::{IdempotencyRecord, TTL_ATTRIBUTE};
use crate::store::model::Stored;
use crate::store::{Item as ItemKind, StoreError, spec};

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
    fn attributes(&self) -> Result<Vec<(String, AttributeValue)>, StoreError>;
    fn decode(item: &Item) -> Result<Self, StoreError>;
}

/// A JSON value as an attribute (`None` for `null`, which is left out).
pub(super) fn attribute(value: &Value) -> Option<AttributeValue> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().filter_map(attribute).collect()),
        Value::Object(members) => AttributeValue::M(
            members
                .iter()
                .filter_map(|(k, v)| attribute(v).map(|a| (k.clone(), a)))
                .collect(),
        ),
    })
}

/// An attribute as a JSON value.
fn json(value: &AttributeValue) -> Result<Value, StoreError> {
    Ok(match value {
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::N(n) => {
            let number = n
                .parse::<i64>()
                .map(Number::from)
                .ok()
                .or_else(|| n.parse::<f64>().ok().and_then(Number::from_f64))
                .ok_or_else(|| StoreError::Backend(format!("{n} is not a number")))?;
            Value::Number(number)
        }
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(items) => Value::Array(items.iter().map(json).collect::<Result<_, _>>()?),
        AttributeValue::M(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| Ok((k.clone(), json(v)?)))
                .collect::<Result<Map<_, _>, StoreError>>()?,
        ),
        other => {
            return Err(StoreError::Backend(format!(
                "an item holds an attribute of a kind no service writes: {other:?}"
            )));
        }
    })
}

/// Attributes the table keeps beside an item's own members, never read back into it.
const NOT_MEMBERS: &[&str] = &["user_id", VERSION_ATTRIBUTE];

/// An item's own JSON members as attributes (the id is a key, written apart).
pub(super) fn member_attributes(
    value: &Value,
) -> Result<Vec<(String, AttributeValue)>, StoreError> {
    let Value::Object(members) = value else {
        return Err(StoreError::Backend("an item is not a JSON object".into()));
    };
    Ok(members
        .iter()
        .filter(|(name, _)| *name != "id")
        .filter_map(|(name, v)| attribute(v).map(|a| (name.clone(), a)))
        .collect())
}

impl<T: ItemKind> Codec for T {
    fn id(&self) -> &str {
        ItemKind::id(self)
    }

    fn attributes(&self) -> Result<Vec<(String, AttributeValue)>, StoreError> {
        let value = serde_json::to_value(self)
            .map_err(|e| StoreError::Backend(format!("cannot serialize an item: {e}")))?;
        let mut attributes = member_attributes(&value)?;
        attributes.push((spec::<T>().table.index_key.clone(), s(&self.sort_key())));
        Ok(attributes)
    }

    fn decode(item: &Item) -> Result<Self, StoreError> {
        let index_key = &spec::<T>().table.index_key;
        let mut members = Map::new();
        for (name, value) in item {
            if NOT_MEMBERS.contains(&name.as_str()) || name == index_key {
                continue;
            }
            members.insert(name.clone(), json(value)?);
        }
        serde_json::from_value(Value::Object(members)).map_err(|e| {
            StoreError::Backend(format!("an item of {} cannot be read: {e}", T::SERVICE))
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
    fn json_values_round_trip_as_attributes() {
        let value = serde_json::json!({"s": "x", "n": 3, "b": true, "l": ["a", "b"], "m": {"k": 1}, "e": ""});
        let back = json(&attribute(&value).unwrap()).unwrap();
        assert_eq!(back, value);
        assert_eq!(attribute(&Value::Null), None);
        assert!(json(&AttributeValue::Ss(vec!["a".into()])).is_err());
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
