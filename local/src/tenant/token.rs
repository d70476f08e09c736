//! `POST /oauth/token`: client authentication, then the grant named by `grant_type`.
//!
//! Bodies may be form-encoded (RFC 6749) or JSON (as auth0-spa-js can send them). A parameter
//! given twice is an error (RFC 6749 §3.2), as is authenticating two ways at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::OAuthError;
use super::grants;
use super::{Client, Tenant};

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
                    if entries.len() >= 64 {
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

/// The token endpoint's parameters, each given once.
pub type Params = BTreeMap<String, String>;

/// The browser origins allowed to call the token endpoint (auth0-spa-js exchanges codes from
/// the page): every client's Allowed Origins and Allowed Web Origins.
pub fn cors_origin(tenant: &Tenant, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let allowed = tenant.clients.iter().any(|c| {
        c.spec
            .allowed_origins
            .iter()
            .chain(&c.spec.web_origins)
            .any(|o| o.trim_end_matches('/') == origin)
    });
    if allowed {
        HeaderValue::from_str(origin).ok()
    } else {
        None
    }
}

/// A CORS preflight answer for the clients' origins (403 for any other origin).
pub fn cors_preflight(
    tenant: &Tenant,
    headers: &HeaderMap,
    methods: &'static str,
    allow: &'static str,
) -> Response {
    let Some(origin) = cors_origin(tenant, headers) else {
        return axum::http::StatusCode::FORBIDDEN.into_response();
    };
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(allow),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// CORS preflight for `POST /oauth/token` (auth0-spa-js exchanges codes from the page).
pub async fn preflight(State(tenant): State<Arc<Tenant>>, headers: HeaderMap) -> Response {
    cors_preflight(&tenant, &headers, "POST", "content-type, auth0-client")
}

pub async fn token(State(tenant): State<Arc<Tenant>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut response = answer(&tenant, &headers, &body);
    if let Some(origin) = cors_origin(&tenant, &headers) {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

fn answer(tenant: &Tenant, headers: &HeaderMap, body: &[u8]) -> Response {
    match handle(tenant, headers, body) {
        Ok(json) => {
            let mut response = axum::Json(json).into_response();
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => error.into_response(),
    }
}

fn handle(
    tenant: &Tenant,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, OAuthError> {
    let params = parse_params(headers, body)?;
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let Some(grant) = grants::find(grant_type) else {
        return Err(OAuthError::unsupported_grant_type(format!(
            "Unsupported grant type: {grant_type}"
        )));
    };
    let client = authenticate(tenant, headers, &params)?;
    grant(tenant, client, &params)
}

fn parse_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
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
                // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
                if v.is_empty() {
                    continue;
                }
                if params.insert(k.to_string(), v.to_string()).is_some() {
                    return Err(OAuthError::invalid_request(format!(
                        "parameter {k} is repeated"
                    )));
                }
            }
        }
        "application/json" => {
            let JsonParams(entries) = serde_json::from_slice(body)
                .map_err(|_| OAuthError::invalid_request("the body is not a JSON object"))?;
            for (k, v) in entries {
                let v = match v {
                    serde_json::Value::String(s) if s.is_empty() => continue,
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => continue,
                    _ => {
                        return Err(OAuthError::invalid_request(format!(
                            "parameter {k} must be a string"
                        )));
                    }
                };
                if params.insert(k.clone(), v).is_some() {
                    return Err(OAuthError::invalid_request(format!(
                        "parameter {k} is repeated"
                    )));
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

/// client_secret_basic or client_secret_post, not both; secrets compared in constant time.
fn authenticate<'t>(
    tenant: &'t Tenant,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'t Client, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::invalid_request(
                    "only Basic client authentication is accepted in the header",
                ));
            }
            let decoded = STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError::invalid_request("malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_request("malformed Basic credentials"))?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
            let unescape = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.to_string())
            };
            Some((
                unescape(id).unwrap_or_default(),
                unescape(secret).unwrap_or_default(),
            ))
        }
    };
    let (id, secret, used_basic) = match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        (Some((id, secret)), None) => {
            if params.get("client_id").is_some_and(|p| p != &id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            (id, Some(secret), true)
        }
        (None, secret) => {
            let id = params
                .get("client_id")
                .cloned()
                .ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
            (id, secret.cloned(), false)
        }
    };
    let fail = |d: &str| OAuthError {
        basic_challenge: used_basic,
        ..OAuthError::invalid_client(d)
    };
    let client = tenant
        .client_by_id(&id)
        .ok_or_else(|| fail("Unknown client."))?;
    match secret {
        Some(secret) if client.is_confidential() => {
            if aws_lc_rs::constant_time::verify_slices_are_equal(
                secret.as_bytes(),
                client.secret.as_bytes(),
            )
            .is_err()
            {
                return Err(fail("Wrong client secret."));
            }
            Ok(client)
        }
        Some(_) => Err(fail("This client is public and has no secret.")),
        None if client.is_confidential() => Err(fail("client_secret is required for this client.")),
        None => Ok(client),
    }
}
