//! What the write routes of both services share: reading a JSON body strictly, validating the
//! text users type, the `ETag` / `If-Match` pair, and creates made idempotent by an
//! `Idempotency-Key`.
//!
//! Every refusal is a 4xx that names the field and the rule: a body over 16 KiB is 413, another
//! content type 415, malformed JSON, a repeated, unknown or server-owned field (`id`,
//! `user_id`, `created_at`, `updated_at`: the owner is always the token's `sub`), a wrong type,
//! a missing or over-long value are 400 `invalid_request`.

use std::collections::BTreeSet;
use std::future::Future;

use http::{HeaderValue, StatusCode, header};
use icu_normalizer::ComposingNormalizerBorrowed;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::api::{empty, json, json_text};
use crate::error::ApiError;
use crate::manifest::{FieldKind, ServiceSpec};
use crate::store::idempotency::{IdempotencyRecord, epoch_now, expires_at};
use crate::store::{Stored, WriteError};

/// The largest body a write accepts.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The longest `Idempotency-Key` accepted, in characters.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;
/// Fields a body may never set: the server owns them.
const SERVER_FIELDS: [&str; 4] = ["id", "user_id", "created_at", "updated_at"];

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// A JSON object's members in order, a repeated name refused (serde_json's map would keep the
/// last one silently).
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut members: Vec<(String, Value)> = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if members.iter().any(|(n, _)| *n == name) {
                        return Err(serde::de::Error::custom(format!(
                            "field {name} is repeated"
                        )));
                    }
                    members.push((name, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// A write's body: a JSON object whose fields are all known and each given once.
#[derive(Debug)]
pub struct JsonObject(Vec<(String, Value)>);

impl JsonObject {
    /// The request's body, read strictly: `application/json` (415 otherwise), at most
    /// [`MAX_BODY_BYTES`] (413), a JSON object with each field once, none but `allowed`, none
    /// the server owns (400, naming the field).
    pub fn from_request(request: &Request, allowed: &[&str]) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut parts = content_type.split(';');
        let mime = parts.next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::UnsupportedMediaType);
        }
        // JSON is UTF-8 (RFC 8259): a body declared in another charset would be read as
        // something its sender did not mean.
        let other_charset = parts.any(|parameter| {
            parameter.split_once('=').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("charset")
                    && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            })
        });
        if other_charset {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes: &[u8] = match request.body() {
            Body::Empty => b"",
            Body::Text(text) => text.as_bytes(),
            Body::Binary(bytes) => bytes,
            _ => b"",
        };
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        let Members(members) = serde_json::from_slice(bytes).map_err(|e| {
            let detail = e.to_string();
            if detail.contains("is repeated") {
                bad(detail
                    .split(" at line")
                    .next()
                    .unwrap_or(&detail)
                    .to_string())
            } else {
                bad("the body must be a JSON object (it is not valid JSON, or not an object)")
            }
        })?;
        for (name, _) in &members {
            if SERVER_FIELDS.contains(&name.as_str()) {
                return Err(ApiError::invalid(
                    name,
                    None,
                    "server_set",
                    format!("{name} is set by the server and cannot be sent"),
                ));
            }
            if !allowed.contains(&name.as_str()) {
                return Err(ApiError::invalid(
                    name,
                    None,
                    "unknown",
                    format!(
                        "unknown field {name:?}: the fields are {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(Self(members))
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    /// A text field: NFC-normalized and trimmed, no control characters (a `multiline` field
    /// may hold line breaks), at most `max` characters; required fields must not be empty. An
    /// absent (or `null`) optional field is empty.
    pub fn text(&self, name: &str, required: bool, max: usize) -> Result<String, ApiError> {
        self.text_of(name, required, max, false)
    }

    fn text_of(
        &self,
        name: &str,
        required: bool,
        max: usize,
        multiline: bool,
    ) -> Result<String, ApiError> {
        let value = match self.get(name) {
            None if required => {
                return Err(ApiError::invalid(
                    name,
                    None,
                    "required",
                    format!("{name} is required"),
                ));
            }
            None => return Ok(String::new()),
            Some(Value::String(s)) => s,
            Some(_) => {
                return Err(ApiError::invalid(
                    name,
                    None,
                    "type",
                    format!("{name} must be a string"),
                ));
            }
        };
        let text = clean_text(name, None, value, max, multiline)?;
        if required && text.is_empty() {
            return Err(ApiError::invalid(
                name,
                None,
                "empty",
                format!("{name} must not be empty"),
            ));
        }
        Ok(text)
    }

    /// An e-mail address field (empty when absent and optional).
    pub fn email(&self, name: &str, required: bool) -> Result<String, ApiError> {
        let text = self.text(name, required, 254)?;
        if !text.is_empty() {
            check_address(name, None, &text)?;
        }
        Ok(text)
    }

    /// An RFC 3339 time with an offset, in the stored form (UTC, whole seconds); `None` when
    /// absent and optional.
    pub fn time(&self, name: &str, required: bool) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None if required => Err(ApiError::invalid(name, None, "required", format!("{name} is required"))),
            None => Ok(None),
            Some(Value::String(s)) => crate::store::model::normalize_time(s)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid(
                        name,
                        None,
                        "time",
                        format!(
                            "{name} must be an RFC 3339 time with an offset, e.g. 2026-11-26T09:30:00+01:00"
                        ),
                    )
                }),
            Some(_) => Err(ApiError::invalid(name, None, "type", format!("{name} must be a string"))),
        }
    }

    /// A calendar date, `YYYY-MM-DD`; `None` when absent and optional.
    pub fn date(&self, name: &str, required: bool) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None if required => Err(ApiError::invalid(
                name,
                None,
                "required",
                format!("{name} is required"),
            )),
            None => Ok(None),
            Some(Value::String(s)) => {
                crate::store::model::normalize_date(s)
                    .map(Some)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            name,
                            None,
                            "date",
                            format!("{name} must be a date, e.g. 2026-11-26"),
                        )
                    })
            }
            Some(_) => Err(ApiError::invalid(
                name,
                None,
                "type",
                format!("{name} must be a string"),
            )),
        }
    }

    /// `true` or `false`; `false` when absent.
    pub fn boolean(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ApiError::invalid(
                name,
                None,
                "type",
                format!("{name} must be true or false"),
            )),
        }
    }

    /// An optional list of at most `max` e-mail addresses, each once.
    pub fn addresses(&self, name: &str, max: usize) -> Result<Vec<String>, ApiError> {
        let items = match self.get(name) {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => {
                return Err(ApiError::invalid(
                    name,
                    None,
                    "type",
                    format!("{name} must be a list of e-mail addresses"),
                ));
            }
        };
        if items.len() > max {
            return Err(ApiError::invalid(
                name,
                None,
                "too_many",
                format!("{name} has more than {max} addresses"),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::String(s) = item else {
                return Err(ApiError::invalid(
                    name,
                    Some(i),
                    "type",
                    format!("{name}[{i}] must be a string"),
                ));
            };
            let address = clean_text(name, Some(i), s, 254, false)?;
            check_address(name, Some(i), &address)?;
            if !seen.insert(address.to_lowercase()) {
                return Err(ApiError::invalid(
                    name,
                    Some(i),
                    "duplicate",
                    format!("{name}[{i}] {address:?} is listed twice"),
                ));
            }
            out.push(address);
        }
        Ok(out)
    }

    /// Every field the service's manifest lists, validated by its type and limits and
    /// normalized, as one JSON object (what the service's `Fields` type reads).
    pub fn fields(&self, spec: &ServiceSpec) -> Result<Value, ApiError> {
        let mut out = serde_json::Map::new();
        for f in &spec.fields {
            let name = f.name.as_str();
            let value = match f.kind {
                FieldKind::Text => Value::String(self.text(name, f.required, f.max())?),
                FieldKind::Multiline => {
                    Value::String(self.text_of(name, f.required, f.max(), true)?)
                }
                FieldKind::Email => Value::String(self.email(name, f.required)?),
                FieldKind::Emails => Value::Array(
                    self.addresses(name, f.max())?
                        .into_iter()
                        .map(Value::String)
                        .collect(),
                ),
                FieldKind::Time => self
                    .time(name, f.required)?
                    .map_or(Value::Null, Value::String),
                FieldKind::Date => self
                    .date(name, f.required)?
                    .map_or(Value::Null, Value::String),
                FieldKind::Boolean => Value::Bool(self.boolean(name)?),
            };
            out.insert(f.name.clone(), value);
        }
        Ok(Value::Object(out))
    }
}

/// `value` in the form stored text is compared in: NFC, lower case. A search's words and the
/// items' text meet in this form.
pub fn folded(value: &str) -> String {
    ComposingNormalizerBorrowed::new_nfc()
        .normalize(value)
        .to_lowercase()
}

/// Characters refused in text: the C0/C1 controls (`char::is_control`), the Unicode line and
/// paragraph separators (line breaks too, outside category Cc), and the bidirectional
/// embedding, override and isolate controls, which can make a name display as something else
/// ("Trojan Source", CVE-2021-42574).
fn is_refused_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Invisible characters that do not count as content: a value of only these is empty.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

fn clean_text(
    name: &str,
    index: Option<usize>,
    value: &str,
    max: usize,
    multiline: bool,
) -> Result<String, ApiError> {
    let label = label(name, index);
    let refused = |c: char| is_refused_control(c) && !(multiline && c == '\n');
    if value.chars().any(refused) {
        let what = if multiline {
            "tabs, carriage returns and direction overrides included"
        } else {
            "line breaks, tabs and direction overrides included"
        };
        return Err(ApiError::invalid(
            name,
            index,
            "control_character",
            format!("{label} contains a control character ({what})"),
        ));
    }
    let normalized = ComposingNormalizerBorrowed::new_nfc().normalize(value);
    let trimmed = normalized.trim();
    let text = if trimmed
        .chars()
        .all(|c| is_invisible(c) || c.is_whitespace())
    {
        String::new()
    } else {
        trimmed.to_string()
    };
    if text.chars().count() > max {
        return Err(ApiError::invalid(
            name,
            index,
            "too_long",
            format!("{label} is longer than {max} characters"),
        ));
    }
    Ok(text)
}

/// How a message names a field, or an element of a list field (`attendees[1]`).
fn label(name: &str, index: Option<usize>) -> String {
    match index {
        Some(i) => format!("{name}[{i}]"),
        None => name.to_string(),
    }
}

/// An e-mail address as people write them: one `@`, a local part, a domain with a dot, no
/// spaces; at most 254 characters (RFC 5321's path limit).
fn check_address(name: &str, index: Option<usize>, address: &str) -> Result<(), ApiError> {
    let valid = address.len() <= 254
        && address.matches('@').count() == 1
        && address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && !local.starts_with('.')
                && !local.ends_with('.')
                && !local.contains("..")
                && domain.contains('.')
                && domain.split('.').all(is_domain_label)
        })
        && !address
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(
            name,
            index,
            "email",
            format!(
                "{} {address:?} is not an e-mail address",
                label(name, index)
            ),
        ))
    }
}

/// A DNS label as addresses use them: 1–63 bytes of letters (any script), digits and hyphens,
/// not starting or ending with a hyphen.
fn is_domain_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_alphanumeric() || c == '-')
}

/// The strong `ETag` of an item at `version`.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The version `If-Match` requires, if it names one: `None` when absent or `*` (any current
/// version); a malformed value or a list of several tags is a 400.
pub fn if_match(request: &Request) -> Result<Option<u64>, ApiError> {
    let mut values = request.headers().get_all(header::IF_MATCH).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(bad("send one If-Match header"));
    }
    let value = value
        .to_str()
        .map_err(|_| bad("If-Match is not printable ASCII"))?
        .trim();
    if value == "*" {
        return Ok(None);
    }
    // Only a tag exactly as `etag` writes it: `"01"` or `"+2"` name no version this API sent,
    // even though they parse as numbers.
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|v| *v > 0 && etag(*v) == value)
        .map(Some)
        .ok_or_else(|| bad("If-Match must be one ETag this API sent, e.g. \"3\""))
}

/// A response with the item's `ETag`.
pub fn with_etag(mut response: Response<Body>, version: u64) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// `200` with the stored item and its `ETag`.
pub fn stored_response<T: Serialize>(stored: &Stored<T>) -> Response<Body> {
    with_etag(json(StatusCode::OK, &stored.item), stored.version)
}

/// `204 No Content`, never cached.
pub fn no_content() -> Response<Body> {
    empty(StatusCode::NO_CONTENT)
}

/// A write's failure as the API answers it; `what` names the items ("contacts").
pub fn write_error<T: Serialize>(error: WriteError<T>, what: &'static str) -> ApiError {
    match error {
        WriteError::NotFound => ApiError::NotFound(format!("no such item in your {what}")),
        WriteError::Stale { current } => ApiError::PreconditionFailed {
            current: serde_json::to_value(&current.item).unwrap_or(Value::Null),
            etag: etag(current.version),
        },
        WriteError::QuotaExceeded { limit } => ApiError::QuotaExceeded { limit, what },
        WriteError::Exists => ApiError::Internal("a new id collided with an existing one".into()),
        WriteError::IdempotencyKeyUsed(_) => {
            ApiError::Internal("an idempotency record surfaced outside a create".into())
        }
        WriteError::Store(e) => e.into(),
    }
}

/// The `Idempotency-Key` of a create, if sent: at most [`MAX_IDEMPOTENCY_KEY`] printable
/// ASCII characters (400 otherwise). Returns its hex SHA-256, the record's key.
pub fn idempotency_key(request: &Request) -> Result<Option<String>, ApiError> {
    let mut values = request.headers().get_all("idempotency-key").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(bad("send one Idempotency-Key header"));
    }
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty()
                && k.len() <= MAX_IDEMPOTENCY_KEY
                && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        })
        .ok_or_else(|| {
            bad(format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters"
            ))
        })?;
    Ok(Some(hex::encode(Sha256::digest(key.as_bytes()))))
}

/// A create: the new item (id and timestamps chosen), where it lives, and the request's
/// fingerprint (route and normalized fields: a retry with the same fields is the same
/// request, whatever its whitespace).
pub struct NewItem<'a, T> {
    pub item: &'a T,
    pub location: String,
    pub fingerprint: String,
}

/// The fingerprint of a create: SHA-256 of the route and the normalized fields.
pub fn fingerprint<F: Serialize>(route: &str, fields: &F) -> String {
    let mut hash = Sha256::new();
    hash.update(route.as_bytes());
    hash.update([0]);
    hash.update(serde_json::to_vec(fields).unwrap_or_default());
    hex::encode(hash.finalize())
}

fn replay(record: &IdempotencyRecord, fingerprint: &str) -> Result<Response<Body>, ApiError> {
    if record.fingerprint != fingerprint {
        return Err(ApiError::IdempotencyKeyReused);
    }
    let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::CREATED);
    let mut response = json_text(status, record.body.clone());
    let h = response.headers_mut();
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    for (name, value) in [
        (header::LOCATION, &record.location),
        (header::ETAG, &record.etag),
    ] {
        if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            h.insert(name, v);
        }
    }
    Ok(response)
}

/// Creates an item, idempotently when `key_hash` (an `Idempotency-Key`) is given: the record
/// of the first answer is written in the same transaction as the item, and the store refuses
/// a key that has a live record with that record, so the first answer is replayed (same
/// fingerprint) or the request is a 422 (another request), and nothing is created. No read
/// comes first: a retry is rare, and two requests racing with one key take this path anyway.
/// `create` writes the item (with the record, if any).
pub async fn create<T, C, CF>(
    new: NewItem<'_, T>,
    key_hash: Option<String>,
    what: &'static str,
    create: C,
) -> Result<Response<Body>, ApiError>
where
    T: Serialize,
    C: FnOnce(Option<IdempotencyRecord>) -> CF,
    CF: Future<Output = Result<Stored<T>, WriteError<T>>>,
{
    // The answer's body, serialized once: for the record and for the answer (a store gives
    // back the item it was given).
    let body = serde_json::to_string(new.item)
        .map_err(|e| ApiError::Internal(format!("cannot serialize the new item: {e}")))?;
    let record = key_hash.map(|key_hash| IdempotencyRecord {
        key_hash,
        fingerprint: new.fingerprint.clone(),
        status: StatusCode::CREATED.as_u16(),
        body: body.clone(),
        location: Some(new.location.clone()),
        etag: Some(etag(1)),
        expires_at: expires_at(epoch_now()),
    });
    match create(record).await {
        Ok(stored) => {
            let mut response = with_etag(json_text(StatusCode::CREATED, body), stored.version);
            if let Ok(v) = HeaderValue::from_str(&new.location) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            Ok(response)
        }
        // The key has a live record (a retry, or another request with it won a race): its
        // answer is ours.
        Err(WriteError::IdempotencyKeyUsed(existing)) => replay(&existing, &new.fingerprint),
        Err(error) => Err(write_error(error, what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: &str, body: &str) -> Request {
        let mut request = Request::new(Body::Text(body.to_string()));
        request.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        request
    }

    fn object(body: &str) -> Result<JsonObject, ApiError> {
        JsonObject::from_request(
            &request("application/json", body),
            &["name", "email", "list"],
        )
    }

    fn message(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        match result {
            Err(ApiError::BadRequest(m)) => m,
            Err(ApiError::Invalid(e)) => e.message,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn bodies_are_json_objects_of_known_fields_each_once() {
        assert!(matches!(
            JsonObject::from_request(&request("text/plain", "{}"), &[]),
            Err(ApiError::UnsupportedMediaType)
        ));
        for accepted in [
            "application/json; charset=utf-8",
            "Application/JSON;charset=\"UTF-8\"",
        ] {
            assert!(
                JsonObject::from_request(&request(accepted, "{}"), &[]).is_ok(),
                "{accepted}"
            );
        }
        for refused in [
            "application/json; charset=latin1",
            "application/json; charset=utf-16",
        ] {
            assert!(
                matches!(
                    JsonObject::from_request(&request(refused, "{}"), &[]),
                    Err(ApiError::UnsupportedMediaType)
                ),
                "{refused}"
            );
        }
        let big = format!("{{\"name\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        assert!(matches!(
            object(&big),
            Err(ApiError::PayloadTooLarge { .. })
        ));
        assert!(message(object("[1]")).contains("JSON object"));
        assert!(message(object("{\"name\":")).contains("JSON object"));
        assert!(message(object(r#"{"name":"a","name":"b"}"#)).contains("name is repeated"));
        assert!(message(object(r#"{"nick":"a"}"#)).contains("\"nick\""));
        for field in SERVER_FIELDS {
            assert!(message(object(&format!("{{\"{field}\":\"x\"}}"))).contains(field));
        }
    }

    #[test]
    fn text_is_normalized_bounded_and_free_of_control_characters() {
        // "é" as e + combining accent becomes one character (NFC).
        let o = object("{\"name\":\"  Re\\u0301my  \"}").unwrap();
        assert_eq!(o.text("name", true, 200).unwrap(), "R\u{e9}my");
        assert!(
            message(
                object("{\"name\":\"a\\nb\"}")
                    .unwrap()
                    .text("name", true, 200)
            )
            .contains("control")
        );
        for refused in [
            "a\\u2028b",
            "a\\u2029b",
            "evil\\u202Egnp.exe",
            "a\\u2066b",
            "a\\u0085b",
        ] {
            let body = format!("{{\"name\":\"{refused}\"}}");
            assert!(
                message(object(&body).unwrap().text("name", true, 200)).contains("control"),
                "{refused}"
            );
        }
        for empty in ["   ", "\\u200B", " \\u200B\\u2060 \\uFEFF"] {
            let body = format!("{{\"name\":\"{empty}\"}}");
            assert!(
                message(object(&body).unwrap().text("name", true, 200)).contains("empty"),
                "{empty}"
            );
        }
        // Joiners inside real text stay (emoji sequences, scripts that need them).
        let o = object("{\"name\":\"Ann\\u200Dé\"}").unwrap();
        assert_eq!(o.text("name", true, 200).unwrap(), "Ann\u{200D}é");
        assert!(message(object("{}").unwrap().text("name", true, 200)).contains("required"));
        assert!(
            message(object("{\"name\":5}").unwrap().text("name", true, 200)).contains("string")
        );
        let long = format!("{{\"name\":\"{}\"}}", "é".repeat(201));
        assert!(message(object(&long).unwrap().text("name", true, 200)).contains("200"));
        assert_eq!(
            object("{\"name\":null}")
                .unwrap()
                .text("name", false, 9)
                .unwrap(),
            ""
        );
    }

    #[test]
    fn addresses_are_checked() {
        assert_eq!(
            object(r#"{"email":"ann@example.com"}"#)
                .unwrap()
                .email("email", false)
                .unwrap(),
            "ann@example.com"
        );
        for bad_address in [
            "ann",
            "ann@",
            "@example.com",
            "a@b",
            "a b@example.com",
            "a@@example.com",
            "a@example..com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example-.com",
            "a@ex_ample.com",
        ] {
            let body = format!("{{\"email\":\"{bad_address}\"}}");
            assert!(
                message(object(&body).unwrap().email("email", false)).contains("e-mail"),
                "{bad_address}"
            );
        }
        let long_label = format!("{{\"email\":\"a@{}.com\"}}", "x".repeat(64));
        assert!(message(object(&long_label).unwrap().email("email", false)).contains("e-mail"));
        for good in ["a.b+tag@mail.example.co.uk", "zoë@exämple.de", "a@x-1.io"] {
            let body = format!("{{\"email\":\"{good}\"}}");
            assert!(
                object(&body).unwrap().email("email", false).is_ok(),
                "{good}"
            );
        }
        let list = object(r#"{"list":["a@example.com","b@example.com"]}"#).unwrap();
        assert_eq!(list.addresses("list", 50).unwrap().len(), 2);
        assert!(
            message(
                object(r#"{"list":["a@example.com","A@example.com"]}"#)
                    .unwrap()
                    .addresses("list", 50)
            )
            .contains("twice")
        );
        assert!(
            message(
                object(r#"{"list":["a@example.com","b@example.com"]}"#)
                    .unwrap()
                    .addresses("list", 1)
            )
            .contains("more than 1")
        );
        assert!(
            message(
                object(r#"{"list":"a@example.com"}"#)
                    .unwrap()
                    .addresses("list", 5)
            )
            .contains("list")
        );
    }

    #[test]
    fn if_match_names_one_version() {
        let mut r = request("application/json", "");
        assert_eq!(if_match(&r).unwrap(), None);
        r.headers_mut()
            .insert(header::IF_MATCH, HeaderValue::from_static("\"3\""));
        assert_eq!(if_match(&r).unwrap(), Some(3));
        r.headers_mut()
            .insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match(&r).unwrap(), None);
        for bad_value in [
            "3",
            "W/\"3\"",
            "\"x\"",
            "\"0\"",
            "\"1\", \"2\"",
            "\"03\"",
            "\"+3\"",
            "\" 3\"",
        ] {
            r.headers_mut()
                .insert(header::IF_MATCH, HeaderValue::from_static(bad_value));
            assert!(
                matches!(if_match(&r), Err(ApiError::BadRequest(_))),
                "{bad_value}"
            );
        }
    }

    #[test]
    fn idempotency_keys_are_bounded_and_hashed() {
        let mut r = request("application/json", "");
        assert_eq!(idempotency_key(&r).unwrap(), None);
        r.headers_mut()
            .insert("idempotency-key", HeaderValue::from_static("key-1"));
        let hash = idempotency_key(&r).unwrap().unwrap();
        assert_eq!(hash.len(), 64);
        r.headers_mut().insert(
            "idempotency-key",
            HeaderValue::from_str(&"k".repeat(201)).unwrap(),
        );
        assert!(idempotency_key(&r).is_err());
    }
}
