//! Grants of the token endpoint, looked up by `grant_type`. Each grant is a function of the
//! tenant, the authenticated client, the parameters and the request's verified DPoP proof, if
//! any; the token endpoint has already checked that the client may use it (`grant_types` in
//! `tenant.yaml`). Each decides what the proof binds (`dpop::access_token_binding`).

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use organizer_shared::dpop::VerifiedProof;
use serde_json::Value;

use super::context::{Client, Tenant};
use super::error::OAuthError;
use super::params::Params;

pub type Grant = fn(&Tenant, &Client, &Params, Option<&VerifiedProof>) -> Result<Value, OAuthError>;

pub fn find(grant_type: &str) -> Option<Grant> {
    match grant_type {
        "client_credentials" => Some(client_credentials::grant),
        "authorization_code" => Some(authorization_code::grant),
        "refresh_token" => Some(refresh_token::grant),
        _ => None,
    }
}
