//! Grants of the token endpoint, looked up by `grant_type`. Each grant is a function of the
//! tenant, the authenticated client and the parameters; the token endpoint has already checked
//! that the client may use it (`grant_types` in `tenant.yaml`).

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use serde_json::Value;

use super::context::{Client, Tenant};
use super::error::OAuthError;
use super::params::Params;

pub type Grant = fn(&Tenant, &Client, &Params) -> Result<Value, OAuthError>;

pub fn find(grant_type: &str) -> Option<Grant> {
    match grant_type {
        "client_credentials" => Some(client_credentials::grant),
        "authorization_code" => Some(authorization_code::grant),
        "refresh_token" => Some(refresh_token::grant),
        _ => None,
    }
}
