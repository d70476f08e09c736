//! `grant_type=refresh_token`: a refresh token exchanged for new tokens and, with rotation, a
//! new refresh token (see [`refresh`](crate::tenant::refresh)). Public clients send only their
//! `client_id`. Every refusal but a wider scope is Auth0's 403 `invalid_grant` "Unknown or
//! invalid refresh token." (the same for unknown, expired, revoked, reused and foreign tokens,
//! and for a DPoP-bound token presented without a proof by its key, so a caller learns nothing
//! about which).
//!
//! The API's DPoP settings are checked before the token is exchanged: a request they refuse
//! (a proof required, none sent) spends nothing.

use axum::http::StatusCode;
use organizer_shared::dpop::VerifiedProof;
use serde_json::{Value, json};

use crate::tenant::auth_request::{AuthRequest, ResponseMode};
use crate::tenant::context::{Client, Tenant};
use crate::tenant::dpop;
use crate::tenant::error::OAuthError;
use crate::tenant::issue::{self, InSession};
use crate::tenant::params::Params;
use crate::tenant::refresh::{RefreshGrant, Refusal};

fn invalid() -> OAuthError {
    OAuthError::new(
        StatusCode::FORBIDDEN,
        "invalid_grant",
        "Unknown or invalid refresh token.",
    )
}

/// What the API of `grant` (its audience) lets this request's tokens be: bound to the proof's
/// key, Bearer, or refused.
fn binding(
    tenant: &Tenant,
    client: &Client,
    grant: &RefreshGrant,
    proof: Option<&VerifiedProof>,
) -> Result<Option<String>, OAuthError> {
    let api = grant.audience.as_deref().and_then(|a| tenant.api(a));
    dpop::access_token_binding(&client.spec, api, proof)
}

pub fn grant(
    tenant: &Tenant,
    client: &Client,
    params: &Params,
    proof: Option<&VerifiedProof>,
) -> Result<Value, OAuthError> {
    let token = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: refresh_token"))?;
    let requested: Option<Vec<String>> = params.get("scope").map(|s| {
        s.split(' ')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    });
    let proof_jkt = proof.map(|p| p.jkt.as_str());
    // Refused by the API's settings before anything is spent. A bound token proved by another
    // key is left to the exchange (the same answer as any invalid token).
    if let Some(live) = tenant.runtime.refresh_tokens.live_grant(token, &client.id)
        && (live.jkt.is_none() || live.jkt.as_deref() == proof_jkt)
    {
        binding(tenant, client, &live, proof)?;
    }
    let exchanged = tenant
        .runtime
        .refresh_tokens
        .exchange(token, &client.id, requested.as_deref(), proof_jkt)
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
                tracing::info!(event = "refresh_token_refused", client = %client.id, refusal = ?other, "refresh token refused");
                invalid()
            }
        })?;
    let user = tenant.user(&exchanged.grant.user_id).ok_or_else(invalid)?;
    let bound = binding(tenant, client, &exchanged.grant, proof)?;
    let request = AuthRequest {
        client_id: client.id.clone(),
        redirect_uri: String::new(),
        wants_token: true,
        wants_id_token: exchanged.scopes.iter().any(|s| s == "openid"),
        wants_code: false,
        code_challenge: None,
        dpop_jkt: None,
        mode: ResponseMode::Query,
        scopes: exchanged.scopes.clone(),
        audience: exchanged.grant.audience.clone(),
        state: None,
        nonce: None,
        prompt: None,
    };
    let mut tokens = issue::for_user(
        tenant,
        &request,
        user,
        InSession::Detached,
        bound.as_deref(),
    )?;
    tokens.insert("refresh_token".into(), json!(exchanged.token));
    Ok(json!(tokens))
}
