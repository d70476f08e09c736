//! `GET /.well-known/openid-configuration`: what this tenant supports, and where.
//! It lists only what is implemented, so clients never try a flow that is not there.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::context::Tenant;
use super::routes::{AUTHORIZE, JWKS, REVOKE, TOKEN, USERINFO};

pub async fn discovery(State(tenant): State<Arc<Tenant>>) -> Response {
    let base = tenant.issuer.trim_end_matches('/');
    let mut response = Json(json!({
        "issuer": tenant.issuer,
        "authorization_endpoint": format!("{base}{AUTHORIZE}"),
        "token_endpoint": format!("{base}{TOKEN}"),
        "revocation_endpoint": format!("{base}{REVOKE}"),
        "response_types_supported": ["code", "token", "id_token", "token id_token"],
        "response_modes_supported": ["query", "fragment", "form_post", "web_message"],
        "code_challenge_methods_supported": ["S256"],
        "jwks_uri": format!("{base}{JWKS}"),
        "userinfo_endpoint": format!("{base}{USERINFO}"),
        "grant_types_supported": ["authorization_code", "implicit", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": tenant.scopes_supported(),
        // RFC 9449 §5.1: DPoP proofs are accepted at the token endpoint, signed with these.
        "dpop_signing_alg_values_supported": tenant.dpop.algorithms(),
    }))
    .into_response();
    // Public metadata, readable from any page.
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
