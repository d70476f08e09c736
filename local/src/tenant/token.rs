//! `POST /oauth/token`: client authentication, then the grant named by `grant_type`.
//!
//! Bodies may be form-encoded (RFC 6749) or JSON (as auth0-spa-js can send them); see
//! [`params`](super::params). Authenticating two ways at once is an error.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::context::{Client, Tenant};
use super::cors;
use super::error::{Challenge, OAuthError};
use super::grants;
use super::params::{self, Params};

/// CORS preflight for `POST /oauth/token` (auth0-spa-js exchanges codes from the page).
pub async fn preflight(State(tenant): State<Arc<Tenant>>, headers: HeaderMap) -> Response {
    cors::preflight(&tenant, &headers, "POST", "content-type, auth0-client")
}

pub async fn token(State(tenant): State<Arc<Tenant>>, headers: HeaderMap, body: Bytes) -> Response {
    let response = match handle(&tenant, &headers, &body) {
        Ok(json) => {
            let mut response = axum::Json(json).into_response();
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => error.into_response(),
    };
    cors::decorate(&tenant, &headers, response, None)
}

fn handle(
    tenant: &Tenant,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, OAuthError> {
    let params = params::parse(headers, body)?;
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
    let fail = |d: &str| {
        let error = OAuthError::invalid_client(d);
        if used_basic {
            error.with_challenge(Challenge::Basic)
        } else {
            error
        }
    };
    let client = tenant
        .client_by_id(&id)
        .ok_or_else(|| fail("Unknown client."))?;
    match secret {
        Some(secret) if client.is_confidential() => {
            // The method registered in tenant.yaml is the only one accepted for the client.
            let used = if used_basic {
                "client_secret_basic"
            } else {
                "client_secret_post"
            };
            let registered = client.spec.auth_method();
            if used != registered {
                return Err(fail(&format!(
                    "The client is registered for {registered}; it authenticated with {used}."
                )));
            }
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
