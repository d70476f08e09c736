//! `POST /oauth/revoke` (RFC 7009, as Auth0 answers it): a client revokes one of its refresh
//! tokens, and with it the token's whole family. The answer is 200 whether or not the token
//! was valid (a caller learns nothing about tokens it does not hold); a missing `token` is
//! `invalid_request`, a bad client `invalid_client`. Form or JSON; CORS for the clients'
//! origins (auth0-spa-js's `revokeRefreshToken()` calls it from the page).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_auth;
use super::context::Tenant;
use super::cors;
use super::error::OAuthError;
use super::params;

pub async fn preflight(State(tenant): State<Arc<Tenant>>, headers: HeaderMap) -> Response {
    cors::preflight(&tenant, &headers, "POST", "content-type, auth0-client")
}

pub async fn revoke(
    State(tenant): State<Arc<Tenant>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = match handle(&tenant, &headers, &body) {
        Ok(()) => {
            let mut response = axum::Json(json!({})).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    };
    cors::decorate(&tenant, &headers, response, None)
}

fn handle(tenant: &Tenant, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let params = params::parse(headers, body)?;
    let token = params
        .get("token")
        .cloned()
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: token"))?;
    let client = client_auth::authenticate(tenant, headers, &params)?;
    if tenant.runtime.refresh_tokens.revoke(&token, &client.id) {
        tracing::info!(event = "refresh_family_revoked", client = %client.id, "refresh token family revoked");
    }
    Ok(())
}
