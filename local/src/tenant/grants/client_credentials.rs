//! `grant_type=client_credentials`: a machine-to-machine client gets an access token for an
//! API it was granted, with at most the granted scopes, bound to its DPoP key when the API's
//! settings say so. Answers follow Auth0's.

use organizer_shared::dpop::VerifiedProof;
use serde_json::Value;

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
    // A public client has no secret, so anyone who knows its id could use this grant.
    if !client.is_confidential() {
        return Err(OAuthError::unauthorized_client(
            "Grant type 'client_credentials' not allowed for the client.",
        ));
    }
    let audience = params.get("audience").ok_or_else(|| {
        OAuthError::access_denied(
            "No audience parameter was provided, and no default audience has been configured",
        )
    })?;
    let api = tenant
        .api(audience)
        .ok_or_else(|| OAuthError::access_denied(format!("Service not found: {audience}")))?;
    let Some(granted) = tenant.file.grant(&client.spec.name, audience) else {
        return Err(OAuthError::access_denied(format!(
            "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API."
        )));
    };
    let scopes: Vec<String> = match params.get("scope") {
        None => granted.scope.clone(),
        Some(requested) => {
            let requested: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
            let refused: Vec<&str> = requested
                .iter()
                .copied()
                .filter(|s| !granted.scope.iter().any(|g| g == s))
                .collect();
            if !refused.is_empty() {
                return Err(OAuthError::access_denied(format!(
                    "Client has not been granted scopes: {}",
                    refused.join(", ")
                )));
            }
            requested.into_iter().map(String::from).collect()
        }
    };
    let bound = dpop::access_token_binding(&client.spec, Some(api), proof)?;
    issue::for_client(tenant, client, api, &scopes, bound.as_deref())
}
