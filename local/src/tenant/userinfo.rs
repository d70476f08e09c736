//! `GET /userinfo`: the signed-in user's profile, for an access token whose audience includes
//! this endpoint (Auth0 adds it when `openid` is requested). Errors follow RFC 6750.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use organizer_shared::bearer::bearer_token;
use organizer_shared::{AuthError, ScopeCheck};
use serde_json::{Value, json};

use super::context::Tenant;
use super::cors;
use super::error::OAuthError;

/// CORS preflight for `GET /userinfo` from the clients' origins (auth0-js `userInfo()`).
pub async fn preflight(State(tenant): State<Arc<Tenant>>, headers: HeaderMap) -> Response {
    cors::preflight(&tenant, &headers, "GET", "authorization, auth0-client")
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
        Err(error) => OAuthError::from(error).into_response(),
    };
    cors::decorate(&tenant, &headers, response, Some("WWW-Authenticate"))
}

async fn profile(tenant: &Tenant, headers: &HeaderMap) -> Result<Value, AuthError> {
    let token = bearer_token(headers)?;
    let claims = tenant.userinfo_verifier.verify(token).await?;
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
