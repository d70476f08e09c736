//! `POST /oauth/token`: client authentication, the request's DPoP proof if any, then the grant
//! named by `grant_type`.
//!
//! Bodies may be form-encoded (RFC 6749) or JSON (as auth0-spa-js can send them); see
//! [`params`](super::params). Authenticating two ways at once is an error. A `DPoP` header is
//! verified before the grant runs (so a proof refused, or asked for a nonce, spends no code or
//! refresh token), and every answer to a request that carried one gives a fresh `DPoP-Nonce`
//! (see [`dpop`](super::dpop)).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::client_auth;
use super::context::Tenant;
use super::cors;
use super::dpop::{DPOP_HEADER, DPOP_NONCE_HEADER};
use super::error::OAuthError;
use super::grants;
use super::params;

/// CORS preflight for `POST /oauth/token` (auth0-spa-js exchanges codes from the page, with a
/// `DPoP` header when it uses DPoP).
pub async fn preflight(State(tenant): State<Arc<Tenant>>, headers: HeaderMap) -> Response {
    cors::preflight(
        &tenant,
        &headers,
        "POST",
        "content-type, auth0-client, dpop",
    )
}

pub async fn token(State(tenant): State<Arc<Tenant>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut response = match handle(&tenant, &headers, &body).await {
        Ok(json) => {
            let mut response = axum::Json(json).into_response();
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => error.into_response(),
    };
    // The next nonce, with every answer to a DPoP request (RFC 9449 §8.2): clients keep the
    // latest one, and need no extra round trip when the previous one expires.
    if headers.contains_key(DPOP_HEADER)
        && let Ok(nonce) = HeaderValue::from_str(&tenant.dpop.nonce())
    {
        response.headers_mut().insert(DPOP_NONCE_HEADER, nonce);
    }
    cors::decorate(&tenant, &headers, response, Some("DPoP-Nonce"))
}

async fn handle(
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
    let proof = tenant
        .dpop
        .token_request_proof(headers, &client.spec)
        .await?;
    grant(tenant, client, &params, proof.as_ref())
}
