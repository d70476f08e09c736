//! Token issuance: the access and ID tokens the tenant signs, as Auth0 shapes them, for every
//! grant (implicit and authorization code through `/authorize`, client credentials at the
//! token endpoint). One clock: `jsonwebtoken::get_current_timestamp`.
//!
//! An access token bound to a DPoP key carries `cnf: {jkt}` (RFC 9449 §6.1) and is answered
//! with `token_type: DPoP`; ID tokens never carry `cnf`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::get_current_timestamp;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::auth_request::AuthRequest;
use super::config::ResourceServer;
use super::context::{Client, Tenant};
use super::error::OAuthError;
use super::refresh::RefreshGrant;
use super::state::random_hex;
use super::users::User;

/// ID tokens live ten hours, as Auth0's default.
const ID_TOKEN_LIFETIME: u64 = 36_000;
/// Access tokens for the userinfo endpoint alone (no API asked for) live two hours.
const USERINFO_ONLY_LIFETIME: u64 = 7_200;

/// OIDC `at_hash`: the left half of SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// In which session tokens are issued: an SSO session that must still be alive (the
/// authorization response, a code exchange), or none (a refresh token outlives sessions, as
/// Auth0's do: `/v2/logout` does not revoke them).
#[derive(Clone, Copy)]
pub enum InSession<'a> {
    Live(&'a str),
    Detached,
}

/// Binds `claims` (an access token's) to a DPoP key; the `token_type` to answer with it.
fn bind(claims: &mut Value, bound: Option<&str>) -> &'static str {
    match bound {
        Some(jkt) => {
            claims["cnf"] = json!({ "jkt": jkt });
            "DPoP"
        }
        None => "Bearer",
    }
}

/// The token response parameters of an authorization request: an access token (for the API
/// asked for, plus `/userinfo` with `openid`; bound to the DPoP key `bound`, if any) and an ID
/// token, as the request wants them.
pub fn for_user(
    tenant: &Tenant,
    request: &AuthRequest,
    user: &User,
    in_session: InSession<'_>,
    bound: Option<&str>,
) -> Result<Map<String, Value>, OAuthError> {
    let sid = match in_session {
        InSession::Live(id) => Some(
            tenant
                .runtime
                .peek_session(id)
                .ok_or_else(|| OAuthError::invalid_grant("The session has ended"))?
                .sid,
        ),
        InSession::Detached => None,
    };
    let now = get_current_timestamp();
    let userinfo = format!("{}userinfo", tenant.issuer);
    let mut params = Map::new();
    let mut access_token = None;
    if request.wants_token {
        let api = request.audience.as_deref().and_then(|a| tenant.api(a));
        let lifetime = api.map_or(USERINFO_ONLY_LIFETIME, |a| a.token_lifetime_for_web);
        let aud = match (api, request.has_scope("openid")) {
            (Some(api), true) => json!([api.identifier, userinfo]),
            (Some(api), false) => json!(api.identifier),
            (None, _) => json!(userinfo),
        };
        // With RBAC on the API, only what the user's roles allow (granted_scopes).
        let scope = tenant.granted_scopes(request, user).join(" ");
        let mut claims = json!({
            "iss": tenant.issuer,
            "sub": user.sub(),
            "aud": aud,
            "iat": now,
            "exp": now + lifetime,
            "scope": scope,
            "azp": request.client_id,
            "jti": random_hex(16),
        });
        if let Some(api) = api.filter(|a| a.adds_permissions()) {
            claims["permissions"] = json!(tenant.permissions(user, api));
        }
        let token_type = bind(&mut claims, bound);
        let token = tenant.sign(&claims)?;
        params.insert("access_token".into(), json!(token));
        params.insert("token_type".into(), json!(token_type));
        params.insert("expires_in".into(), json!(lifetime));
        params.insert("scope".into(), json!(scope));
        access_token = Some(token);
    }
    if request.wants_id_token {
        let mut claims = json!({
            "iss": tenant.issuer,
            "sub": user.sub(),
            "aud": request.client_id,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
        });
        // The public session id, never the cookie.
        if let Some(sid) = sid {
            claims["sid"] = json!(sid);
        }
        if let Some(nonce) = &request.nonce {
            claims["nonce"] = json!(nonce);
        }
        // Profile claims only for the scopes that ask for them.
        if request.has_scope("email") {
            claims["email"] = json!(user.email);
            claims["email_verified"] = json!(true);
        }
        if request.has_scope("profile") {
            claims["name"] = json!(user.name);
        }
        if let Some(token) = &access_token {
            claims["at_hash"] = json!(at_hash(token));
        }
        params.insert("id_token".into(), json!(tenant.sign(&claims)?));
    }
    if let Some(state) = &request.state {
        params.insert("state".into(), json!(state));
    }
    Ok(params)
}

/// The token response of the client-credentials grant: an access token for `api` whose
/// subject is the client itself (`<client_id>@clients`), bound to the DPoP key `bound`, if any.
pub fn for_client(
    tenant: &Tenant,
    client: &Client,
    api: &ResourceServer,
    scopes: &[String],
    bound: Option<&str>,
) -> Result<Value, OAuthError> {
    let now = get_current_timestamp();
    let scope = scopes.join(" ");
    let mut claims = json!({
        "iss": tenant.issuer,
        "sub": format!("{}@clients", client.id),
        "aud": api.identifier,
        "iat": now,
        "exp": now + api.token_lifetime,
        "scope": scope,
        "azp": client.id,
        "gty": "client-credentials",
        "jti": random_hex(16),
    });
    let token_type = bind(&mut claims, bound);
    let token = tenant.sign(&claims)?;
    Ok(json!({
        "access_token": token,
        "scope": scope,
        "expires_in": api.token_lifetime,
        "token_type": token_type,
    }))
}

/// A refresh token for a code exchange that was granted `offline_access` (validation keeps
/// that scope only when the API allows offline access and the client may refresh), bound to
/// the DPoP key `jkt`, if any.
pub fn refresh_token_for(
    tenant: &Tenant,
    request: &AuthRequest,
    user: &User,
    jkt: Option<String>,
) -> Option<String> {
    if !request.has_scope("offline_access") {
        return None;
    }
    let grant = RefreshGrant {
        client_id: request.client_id.clone(),
        user_id: user.id.clone(),
        audience: request.audience.clone(),
        scopes: tenant.granted_scopes(request, user),
        jkt,
    };
    let client = tenant.client_by_id(&request.client_id)?;
    Some(
        tenant
            .runtime
            .refresh_tokens
            .issue(grant, &client.spec.refresh_token),
    )
}
