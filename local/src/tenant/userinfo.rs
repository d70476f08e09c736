//! `GET /userinfo`: the signed-in user's profile, for an access token whose audience includes
//! this endpoint (Auth0 adds it when `openid` is requested). Errors follow RFC 6750.
//!
//! A DPoP-bound token (`cnf.jkt`) is accepted only as `Authorization: DPoP <token>` with a
//! proof by its key (RFC 9449 §7: `htm` GET, `htu` this endpoint, `ath` the token's hash, each
//! proof once); sent as a Bearer token it is refused, and a token that is not bound cannot be
//! sent as DPoP (§7.2).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use organizer_shared::access;
use organizer_shared::{AuthError, ScopeCheck};
use serde_json::{Value, json};

use super::context::Tenant;
use super::cors;
use super::error::OAuthError;
use super::routes::USERINFO;

/// CORS preflight for `GET /userinfo` from the clients' origins (auth0-js `userInfo()`, or a
/// DPoP client with its proof).
pub async fn preflight(State(tenant): State<Arc<Tenant>>, headers: HeaderMap) -> Response {
    cors::preflight(
        &tenant,
        &headers,
        "GET",
        "authorization, auth0-client, dpop",
    )
}

pub async fn userinfo(State(tenant): State<Arc<Tenant>>, headers: HeaderMap) -> Response {
    let response = match profile(&tenant, &headers).await {
        Ok(profile) => {
            let mut response = Json(profile).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    };
    cors::decorate(&tenant, &headers, response, Some("WWW-Authenticate"))
}

/// The token of the one `Authorization` header, and whether it came with the DPoP scheme:
/// the API's own rules (`organizer_shared::access::credentials`).
fn credentials(headers: &HeaderMap) -> Result<(&str, bool), AuthError> {
    access::credentials(headers, true)
        .map(|(scheme, token)| (token, scheme == access::Scheme::Dpop))
}

/// The `cnf.jkt` of a token whose signature has been verified.
fn bound_jkt(token: &str) -> Option<String> {
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    let claims: Value = serde_json::from_slice(&payload).ok()?;
    claims["cnf"]["jkt"].as_str().map(str::to_string)
}

async fn profile(tenant: &Tenant, headers: &HeaderMap) -> Result<Value, OAuthError> {
    let (token, dpop_scheme) = credentials(headers)?;
    let claims = tenant.userinfo_verifier.verify(token).await?;
    match (bound_jkt(token), dpop_scheme) {
        (Some(jkt), true) => {
            let url = format!("{}{USERINFO}", tenant.issuer.trim_end_matches('/'));
            tenant
                .dpop
                .resource_proof(headers, "GET", &url, token, &jkt)
                .await?;
        }
        (Some(_), false) => {
            return Err(AuthError::invalid_token(
                "the access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof",
            )
            .into());
        }
        (None, true) => {
            return Err(tenant.dpop.challenged(OAuthError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is not DPoP-bound: send it as a Bearer token",
            )));
        }
        (None, false) => {}
    }
    ScopeCheck(&["openid"]).check(&claims)?;
    let user = tenant
        .user_by_sub(&claims.sub)
        .ok_or_else(|| AuthError::invalid_token("the user no longer exists"))?;
    let mut profile = json!({"sub": user.sub()});
    if claims.scopes.iter().any(|s| s == "profile") {
        profile["name"] = json!(user.name);
        profile["nickname"] = json!(user.email.split('@').next().unwrap_or(""));
    }
    if claims.scopes.iter().any(|s| s == "email") {
        profile["email"] = json!(user.email);
        profile["email_verified"] = json!(true);
    }
    Ok(profile)
}
