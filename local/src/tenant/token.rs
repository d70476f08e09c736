//! `POST /oauth/token`: client authentication, then the grant named by `grant_type`.
//!
//! Bodies may be form-encoded (RFC 6749) or JSON (as auth0-spa-js can send them); see
//! [`params`](super::params). Authenticating two ways at once is an error.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::client_auth;
use super::context::Tenant;
use super::cors;
use super::error::OAuthError;
use super::grants;
use super::params;

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
    let client = client_auth::authenticate(tenant, headers, &params)?;
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::unauthorized_client(format!(
            "Grant type '{grant_type}' not allowed for the client."
        )));
    }
    grant(tenant, client, &params)
}
