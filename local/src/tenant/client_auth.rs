//! Client authentication at the token and revocation endpoints: the client's registered
//! `token_endpoint_auth_method` only — `client_secret_basic` (RFC 6749 §2.3.1, both parts
//! form-urlencoded), `client_secret_post`, or `none` for public clients — never two at once;
//! secrets compared in constant time. A failed Basic authentication carries a challenge.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::context::{Client, Tenant};
use super::error::{Challenge, OAuthError};
use super::params::Params;

/// client_secret_basic or client_secret_post, not both; secrets compared in constant time.
pub fn authenticate<'t>(
    tenant: &'t Tenant,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'t Client, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::invalid_request(
                    "only Basic client authentication is accepted in the header",
                ));
            }
            let decoded = STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError::invalid_request("malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_request("malformed Basic credentials"))?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
            let unescape = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.to_string())
            };
            Some((
                unescape(id).unwrap_or_default(),
                unescape(secret).unwrap_or_default(),
            ))
        }
    };
    let (id, secret, used_basic) = match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        (Some((id, secret)), None) => {
            if params.get("client_id").is_some_and(|p| p != &id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            (id, Some(secret), true)
        }
        (None, secret) => {
            let id = params
                .get("client_id")
                .cloned()
                .ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
            (id, secret.cloned(), false)
        }
    };
    let fail = |d: &str| {
        let error = OAuthError::invalid_client(d);
        if used_basic {
            error.with_challenge(Challenge::Basic)
        } else {
            error
        }
    };
    let client = tenant
        .client_by_id(&id)
        .ok_or_else(|| fail("Unknown client."))?;
    match secret {
        Some(secret) if client.is_confidential() => {
            // The method registered in tenant.yaml is the only one accepted for the client.
            let used = if used_basic {
                "client_secret_basic"
            } else {
                "client_secret_post"
            };
            let registered = client.spec.auth_method();
            if used != registered {
                return Err(fail(&format!(
                    "The client is registered for {registered}; it authenticated with {used}."
                )));
            }
            if aws_lc_rs::constant_time::verify_slices_are_equal(
                secret.as_bytes(),
                client.secret.as_bytes(),
            )
            .is_err()
            {
                return Err(fail("Wrong client secret."));
            }
            Ok(client)
        }
        Some(_) => Err(fail("This client is public and has no secret.")),
        None if client.is_confidential() => Err(fail("client_secret is required for this client.")),
        None => Ok(client),
    }
}
