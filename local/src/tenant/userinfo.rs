//! `GET /userinfo`: the signed-in user's profile, for an access token whose audience includes
//! this endpoint (Auth0 adds it when `openid` is requested). Errors follow RFC 6750.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use organizer_shared::bearer::bearer_token;
use organizer_shared::{AuthError, ScopeCheck};
use serde_json::json;

use super::Tenant;

/// CORS preflight for `GET /userinfo` from the clients' origins (auth0-js `userInfo()`).
pub async fn preflight(State(tenant): State<Arc<Tenant>>, headers: HeaderMap) -> Response {
    super::token::cors_preflight(&tenant, &headers, "GET", "authorization, auth0-client")
}

pub async fn userinfo(State(tenant): State<Arc<Tenant>>, headers: HeaderMap) -> Response {
    let mut response = answer(&tenant, &headers).await;
    if let Some(origin) = super::token::cors_origin(&tenant, &headers) {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        response.headers_mut().insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate"),
        );
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

async fn answer(tenant: &Tenant, headers: &HeaderMap) -> Response {
    let result = async {
        let token = bearer_token(headers)?;
        let claims = tenant.userinfo_verifier.verify(token).await?;
        ScopeCheck(&["openid"]).check(&claims)?;
        let user = tenant
            .users
            .iter()
            .find(|u| u.sub() == claims.sub)
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
        Ok::<_, AuthError>(profile)
    }
    .await;
    match result {
        Ok(profile) => {
            let mut response = Json(profile).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            let status =
                StatusCode::from_u16(error.status().as_u16()).unwrap_or(StatusCode::UNAUTHORIZED);
            let body = json!({"error": error.code().unwrap_or("unauthorized"), "error_description": error.to_string()});
            let mut response = (status, Json(body)).into_response();
            if let Ok(v) = HeaderValue::from_str(&error.challenge("userinfo")) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            response
        }
    }
}
