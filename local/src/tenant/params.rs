//! The token endpoint's parameters: form-encoded (RFC 6749) or JSON (as auth0-spa-js can send
//! them), each given at most once (RFC 6749 §3.2), empty values counted as omitted (§3.1).

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};

use super::error::OAuthError;

/// The token endpoint's parameters, each given once.
pub type Params = BTreeMap<String, String>;

/// At most this many members in a JSON body.
const MAX_JSON_MEMBERS: usize = 64;

/// A JSON object's members in order, repeated keys kept (serde_json's Map would keep only the
/// last one, hiding a repeated parameter).
struct JsonParams(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for JsonParams {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = JsonParams;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonParams, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    if entries.len() >= MAX_JSON_MEMBERS {
                        return Err(serde::de::Error::custom("too many parameters"));
                    }
                    entries.push(entry);
                }
                Ok(JsonParams(entries))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

fn insert_once(params: &mut Params, name: String, value: String) -> Result<(), OAuthError> {
    if params.contains_key(&name) {
        return Err(OAuthError::invalid_request(format!(
            "parameter {name} is repeated"
        )));
    }
    params.insert(name, value);
    Ok(())
}

/// Reads the body by its `Content-Type`.
pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mut params = Params::new();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            for (k, v) in form_urlencoded::parse(body) {
                if !v.is_empty() {
                    insert_once(&mut params, k.into_owned(), v.into_owned())?;
                }
            }
        }
        "application/json" => {
            let JsonParams(entries) = serde_json::from_slice(body)
                .map_err(|_| OAuthError::invalid_request("the body is not a JSON object"))?;
            for (k, v) in entries {
                match v {
                    serde_json::Value::String(s) if s.is_empty() => {}
                    serde_json::Value::Null => {}
                    serde_json::Value::String(s) => insert_once(&mut params, k, s)?,
                    _ => {
                        return Err(OAuthError::invalid_request(format!(
                            "parameter {k} must be a string"
                        )));
                    }
                }
            }
        }
        _ => {
            return Err(OAuthError::invalid_request(
                "send the parameters as application/x-www-form-urlencoded or application/json",
            ));
        }
    }
    Ok(params)
}
