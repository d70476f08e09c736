//! `grant_type=refresh_token`: a refresh token exchanged for new tokens and, with rotation, a
//! new refresh token (see [`refresh`](crate::tenant::refresh)). Public clients send only their
//! `client_id`. Every refusal but a wider scope is Auth0's 403 `invalid_grant` "Unknown or
//! invalid refresh token." (the same for unknown, expired, revoked, reused and foreign tokens,
//! so a caller learns nothing about which).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::tenant::auth_request::{AuthRequest, ResponseMode};
use crate::tenant::context::{Client, Tenant};
use crate::tenant::error::OAuthError;
use crate::tenant::issue::{self, InSession};
use crate::tenant::params::Params;
use crate::tenant::refresh::Refusal;

fn invalid() -> OAuthError {
    OAuthError::new(
        StatusCode::FORBIDDEN,
        "invalid_grant",
        "Unknown or invalid refresh token.",
    )
}

pub fn grant(tenant: &Tenant, client: &Client, params: &Params) -> Result<Value, OAuthError> {
    let token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: refresh_token"))?;
    let requested: Option<Vec<String>> = params.get("scope").map(|s| {
        s.split(' ')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    });
    let exchanged = tenant
        .runtime
        .refresh_tokens
        .exchange(token, &client.id, requested.as_deref())
        .map_err(|refusal| match refusal {
            Refusal::WiderScope(wider) => OAuthError::new(
                StatusCode::FORBIDDEN,
                "invalid_scope",
                format!(
                    "The requested scope is wider than the refresh token's: {}",
                    wider.join(" ")
                ),
            ),
            other => {
                tracing::info!(client = %client.id, refusal = ?other, "refresh token refused");
                invalid()
            }
        })?;
    let user = tenant.user(&exchanged.grant.user_id).ok_or_else(invalid)?;
    let request = AuthRequest {
        client_id: client.id.clone(),
        redirect_uri: String::new(),
        wants_token: true,
        wants_id_token: exchanged.scopes.iter().any(|s| s == "openid"),
        wants_code: false,
        code_challenge: None,
        mode: ResponseMode::Query,
        scopes: exchanged.scopes.clone(),
        audience: exchanged.grant.audience.clone(),
        state: None,
        nonce: None,
        prompt: None,
    };
    let mut tokens = issue::for_user(tenant, &request, user, InSession::Detached)?;
    tokens.insert("refresh_token".into(), json!(exchanged.token));
    Ok(json!(tokens))
}
