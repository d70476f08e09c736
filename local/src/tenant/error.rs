//! The dev tenant's one error type: an OAuth 2.0 error (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3)
//! with its status, its code, and whether it may travel to the client's `redirect_uri`.
//!
//! As in node-oidc-provider, the error itself knows whether it may be redirected: an unknown
//! client or an unregistered `redirect_uri` must never be (that would be an open redirector),
//! so those are shown as a page. `respond::reply` is the one place that turns an error into an
//! answer: a page, a redirect to the client, or JSON.

use axum::http::StatusCode;
use organizer_shared::AuthError;

/// The `WWW-Authenticate` challenge an error carries, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// The client authenticated with HTTP Basic and failed: RFC 6749 §5.2 asks for a challenge.
    Basic,
    /// A bearer-token error (`/userinfo`): the full RFC 6750 challenge value.
    Bearer(String),
    /// A DPoP error (`/userinfo` with a DPoP-bound token): the full RFC 9449 §7.1 challenge.
    Dpop(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    /// Whether the error may be sent to the client's redirect_uri. False for errors about the
    /// client or the redirect_uri themselves, and for errors of the tenant's own pages.
    pub redirectable: bool,
    pub challenge: Option<Challenge>,
}

impl OAuthError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            redirectable: true,
            challenge: None,
        }
    }

    /// This error is shown to the user as a page and never sent to the client.
    pub fn page_only(mut self) -> Self {
        self.redirectable = false;
        self
    }

    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Some(challenge);
        self
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "unauthorized_client", d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", d)
    }
    pub fn unsupported_response_type(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_response_type", d)
    }
    pub fn access_denied(d: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access_denied", d)
    }
    pub fn login_required(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "login_required", d)
    }
    pub fn consent_required(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "consent_required", d)
    }
    pub fn interaction_required(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "interaction_required", d)
    }
    pub fn server_error(d: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", d)
    }
}

/// A bearer-token failure at `/userinfo`, with its RFC 6750 status and challenge.
impl From<AuthError> for OAuthError {
    fn from(error: AuthError) -> Self {
        let code = error.code().unwrap_or("invalid_token");
        let status =
            StatusCode::from_u16(error.status().as_u16()).unwrap_or(StatusCode::UNAUTHORIZED);
        let challenge = Challenge::Bearer(error.challenge("userinfo"));
        let mut e = Self::new(status, code, error.to_string()).with_challenge(challenge);
        if matches!(error, AuthError::MissingCredentials) {
            e.code = "unauthorized";
        }
        e
    }
}
