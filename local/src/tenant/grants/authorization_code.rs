//! `grant_type=authorization_code` with PKCE: a code issued by /authorize is exchanged once,
//! within 60 s, by the client it was issued to, with the same redirect_uri and, when the code
//! carries a challenge, a verifier whose S256 hash matches it. A verifier sent for a code that
//! had no challenge is refused (downgrade protection). A code bound to a DPoP key
//! (`dpop_jkt`) needs a proof by that key. A code presented again revokes the refresh token
//! its exchange answered (RFC 6749 4.1.2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use organizer_shared::dpop::VerifiedProof;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::tenant::context::{Client, Tenant};
use crate::tenant::dpop;
use crate::tenant::error::OAuthError;
use crate::tenant::issue;
use crate::tenant::params::Params;

pub fn grant(
    tenant: &Tenant,
    client: &Client,
    params: &Params,
    proof: Option<&VerifiedProof>,
) -> Result<Value, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: code"))?;
    let invalid = || OAuthError::invalid_grant("Invalid authorization code");
    let issued = tenant.runtime.redeem_code(code).ok_or_else(invalid)?;
    if issued.request.client_id != client.id {
        return Err(invalid());
    }
    if params.get("redirect_uri") != Some(&issued.request.redirect_uri) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    if let Some(bound) = &issued.request.dpop_jkt {
        match proof {
            None => {
                return Err(OAuthError::invalid_grant(
                    "The authorization code is bound to a DPoP key (dpop_jkt): send a DPoP proof",
                ));
            }
            Some(p) if !same(&p.jkt, bound) => {
                return Err(OAuthError::invalid_grant(
                    "The DPoP proof's key does not match dpop_jkt",
                ));
            }
            Some(_) => {}
        }
    }
    match (&issued.request.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if !well_formed
                || aws_lc_rs::constant_time::verify_slices_are_equal(
                    computed.as_bytes(),
                    challenge.as_bytes(),
                )
                .is_err()
            {
                return Err(OAuthError::invalid_grant("Failed to verify code verifier"));
            }
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("Missing code_verifier")),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent for a code issued without code_challenge",
            ));
        }
        (None, None) => {}
    }
    let user = tenant.user(&issued.user_id).ok_or_else(invalid)?;
    let api = issued
        .request
        .audience
        .as_deref()
        .and_then(|a| tenant.api(a));
    let bound = dpop::access_token_binding(&client.spec, api, proof)?;
    let mut request = issued.request.clone();
    request.wants_token = true;
    request.wants_id_token = request.has_scope("openid");
    request.state = None;
    let mut tokens = issue::for_user(
        tenant,
        &request,
        user,
        issue::InSession::Live(&issued.session_id),
        bound.as_deref(),
    )?;
    let refresh_binding = dpop::refresh_token_binding(&client.spec, proof);
    if let Some(refresh) = issue::refresh_token_for(tenant, &request, user, refresh_binding) {
        if let Some(family) = tenant.runtime.refresh_tokens.family_of(&refresh) {
            tenant.runtime.code_started_family(code, family);
        }
        tokens.insert("refresh_token".into(), json!(refresh));
    }
    Ok(json!(tokens))
}

/// Thumbprints compared in constant time.
fn same(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}
