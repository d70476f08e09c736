//! Request errors and the one place where they become HTTP responses.
//!
//! Authentication failures follow RFC 6750 the way Auth0's express-oauth2-jwt-bearer answers
//! them: the status, the `WWW-Authenticate` challenge and the JSON body all carry the same
//! error code. Internal failures are logged in full and answered with a body that says nothing
//! internal.

use http::{HeaderValue, StatusCode};
use serde::Serialize;
use thiserror::Error;

/// Why a request's credentials were not accepted. Each variant is exactly one HTTP answer.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header: 401 with a bare `Bearer realm=...` challenge (RFC 6750 §3.1).
    #[error("authentication required: send an Authorization: Bearer <access token> header")]
    MissingCredentials,
    /// The request itself is malformed (two headers, another scheme, an empty token): 400.
    #[error("{0}")]
    InvalidRequest(String),
    /// The token is malformed, expired, revoked, for another API, or not signed by our issuer: 401.
    #[error("{0}")]
    InvalidToken(String),
    /// The token is valid but lacks the scope the route needs: 403 with `scope=` (RFC 6750 §3.1).
    #[error("insufficient scope: {scope} is required")]
    InsufficientScope { scope: String },
    /// The issuer's keys could not be loaded at all, so no token can be checked: 503.
    /// Not the caller's fault, and never a 500.
    #[error("tokens cannot be checked right now: the issuer's signing keys are unavailable")]
    KeysUnavailable,
    /// The `DPoP` proof that came with a DPoP-bound token is missing, malformed, for another
    /// request, too old, replayed, or signed by another key: 401 `invalid_dpop_proof` (RFC
    /// 9449 §7.1), challenged with the `DPoP` scheme. (A proof by a key the token is not bound
    /// to is [`AuthError::DpopRequired`]: `invalid_token`.)
    #[error("{0}")]
    InvalidDpopProof(String),
    /// The token is not acceptable under the scheme it came with: a DPoP-bound token sent as
    /// `Bearer` (no downgrade), a bearer token where the API requires DPoP, a token that is not
    /// bound sent as `DPoP`, or a proof by another key than the token's: 401 `invalid_token`,
    /// challenged with the `DPoP` scheme.
    #[error("{0}")]
    DpopRequired(String),
    /// The replay store did not answer, so no proof can be checked: 503, never a pass.
    #[error("DPoP proofs cannot be checked right now")]
    ProofCheckUnavailable,
}

/// The challenges an API answers with (`WWW-Authenticate`): the realm, and which schemes it
/// accepts — `Bearer` (unless DPoP is required) and `DPoP` with its `algs` (when DPoP is on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenges {
    pub realm: String,
    pub bearer: bool,
    /// `Some(algs)`, space-separated (`ES256`), when the API accepts the `DPoP` scheme.
    pub dpop_algs: Option<String>,
}

impl Challenges {
    /// Bearer only: an API without DPoP.
    pub fn bearer(realm: impl Into<String>) -> Self {
        Self {
            realm: realm.into(),
            bearer: true,
            dpop_algs: None,
        }
    }
}

impl AuthError {
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::InvalidToken(description.into())
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::InvalidRequest(description.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingCredentials
            | Self::InvalidToken(_)
            | Self::InvalidDpopProof(_)
            | Self::DpopRequired(_) => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::KeysUnavailable | Self::ProofCheckUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The RFC 6750 error code; `None` when the request had no credentials at all.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::MissingCredentials => None,
            Self::InvalidRequest(_) => Some("invalid_request"),
            Self::InvalidToken(_) | Self::DpopRequired(_) => Some("invalid_token"),
            Self::InvalidDpopProof(_) => Some("invalid_dpop_proof"),
            Self::InsufficientScope { .. } => Some("insufficient_scope"),
            Self::KeysUnavailable | Self::ProofCheckUnavailable => Some("temporarily_unavailable"),
        }
    }

    /// Whether the error is about DPoP: its error code goes on the `DPoP` challenge.
    fn is_dpop(&self) -> bool {
        matches!(self, Self::InvalidDpopProof(_) | Self::DpopRequired(_))
    }

    /// The `WWW-Authenticate` value for this error under `challenges`: one challenge per
    /// accepted scheme, comma-separated (RFC 9110 §11.6.1), the error on the scheme it is
    /// about (RFC 9449 §7.1): a DPoP error on `DPoP`, any other on `Bearer` when Bearer is
    /// accepted. Without DPoP this is [`AuthError::challenge`].
    pub fn challenge_with(&self, challenges: &Challenges) -> String {
        let realm = quote_safe(&challenges.realm);
        let Some(algs) = &challenges.dpop_algs else {
            return self.challenge(&challenges.realm);
        };
        let mut out = Vec::with_capacity(2);
        if challenges.bearer {
            if self.is_dpop() {
                out.push(format!("Bearer realm=\"{realm}\""));
            } else {
                out.push(self.challenge(&challenges.realm));
            }
        }
        let mut dpop = format!("DPoP realm=\"{realm}\", algs=\"{}\"", quote_safe(algs));
        if (self.is_dpop() || !challenges.bearer)
            && let Some(code) = self.code()
        {
            dpop.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                quote_safe(&self.to_string())
            ));
            if let Self::InsufficientScope { scope } = self {
                dpop.push_str(&format!(", scope=\"{}\"", quote_safe(scope)));
            }
        }
        out.push(dpop);
        out.join(", ")
    }

    /// The `WWW-Authenticate` challenge for this error, for the given realm.
    pub fn challenge(&self, realm: &str) -> String {
        let mut value = format!("Bearer realm=\"{}\"", quote_safe(realm));
        if let Some(code) = self.code() {
            value.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                quote_safe(&self.to_string())
            ));
        }
        if let Self::InsufficientScope { scope } = self {
            value.push_str(&format!(", scope=\"{}\"", quote_safe(scope)));
        }
        value
    }
}

/// Keeps a value inside a quoted-string: RFC 6750 limits error descriptions to printable ASCII
/// without `"` and `\`.
fn quote_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c == ' ' || c.is_ascii_graphic()) && c != '"' && c != '\\' {
                c
            } else {
                '\''
            }
        })
        .collect()
}

/// Everything a request to the contacts or calendar API can fail with.
#[derive(Debug, Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A query parameter, path segment or cursor is not acceptable: 400 `invalid_request`.
    #[error("{0}")]
    BadRequest(String),
    /// A field of a body breaks a rule: 400 `invalid_request`, saying which field (and which
    /// element of a list), which rule, and in words.
    #[error("{}", .0.message)]
    Invalid(Box<FieldError>),
    /// Unknown route, unknown id, or an id that belongs to someone else: 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not for this method: 405 with `Allow`.
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    /// A CORS preflight from an origin that is not configured: 403.
    #[error("origin not allowed")]
    OriginNotAllowed,
    /// A request body over `limit` bytes: 413.
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// A body that is not `application/json`: 415.
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    /// `If-Match` names a version that is no longer current: 412, with the item as it is now
    /// (`current`, its `etag`), so the client can show what changed and re-apply.
    #[error("the item was changed since you read it: it is now at {etag}")]
    PreconditionFailed {
        current: serde_json::Value,
        etag: String,
    },
    /// The owner holds as many items as allowed: 409 `quota_exceeded`.
    #[error("you have {limit} {what}, the most allowed: delete some to add more")]
    QuotaExceeded { limit: u32, what: &'static str },
    /// An `Idempotency-Key` used before with another body: 422.
    #[error("this Idempotency-Key was used for another request: use a new key for a new request")]
    IdempotencyKeyReused,
    /// The store is throttled or briefly unavailable: 503, the client may retry.
    #[error("service temporarily unavailable")]
    Unavailable(String),
    /// A bug or an unexpected failure: 500 with a generic body; the detail is logged.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Auth(e) => e.status(),
            Self::BadRequest(_) | Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::OriginNotAllowed => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::QuotaExceeded { .. } => StatusCode::CONFLICT,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body: `{"error": ..., "error_description": ...}`, never internal detail.
    pub fn body(&self) -> ErrorBody {
        let (error, description) = match self {
            Self::Auth(e) => (e.code().unwrap_or("unauthorized"), e.to_string()),
            Self::BadRequest(m) => ("invalid_request", m.clone()),
            Self::Invalid(e) => ("invalid_request", e.message.clone()),
            Self::NotFound(m) => ("not_found", m.clone()),
            Self::MethodNotAllowed { allow } => ("method_not_allowed", format!("use {allow}")),
            Self::OriginNotAllowed => (
                "origin_not_allowed",
                "this origin may not call the API".into(),
            ),
            Self::PayloadTooLarge { .. } => ("payload_too_large", self.to_string()),
            Self::UnsupportedMediaType => ("unsupported_media_type", self.to_string()),
            Self::PreconditionFailed { .. } => ("precondition_failed", self.to_string()),
            Self::QuotaExceeded { .. } => ("quota_exceeded", self.to_string()),
            Self::IdempotencyKeyReused => ("idempotency_key_reused", self.to_string()),
            Self::Unavailable(_) => ("temporarily_unavailable", "try again shortly".into()),
            Self::Internal(_) => (
                "server_error",
                "the server failed to answer this request".into(),
            ),
        };
        let field = match self {
            Self::Invalid(e) => Some((**e).clone()),
            _ => None,
        };
        ErrorBody {
            error: error.to_string(),
            error_description: description,
            current: match self {
                Self::PreconditionFailed { current, .. } => Some(current.clone()),
                _ => None,
            },
            field: field.as_ref().map(|f| f.field.clone()),
            index: field.as_ref().and_then(|f| f.index),
            rule: field.map(|f| f.rule.to_string()),
        }
    }

    /// Extra headers this error needs (`WWW-Authenticate`, `Allow`, `Retry-After`).
    pub fn headers(&self, realm: &str) -> Vec<(http::HeaderName, HeaderValue)> {
        self.headers_with(&Challenges::bearer(realm))
    }

    /// [`ApiError::headers`] for an API that may accept DPoP (`challenges`).
    pub fn headers_with(&self, challenges: &Challenges) -> Vec<(http::HeaderName, HeaderValue)> {
        let mut headers = Vec::new();
        match self {
            Self::Auth(AuthError::KeysUnavailable | AuthError::ProofCheckUnavailable) => {
                headers.push((http::header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            Self::Auth(e) => {
                if let Ok(v) = HeaderValue::from_str(&e.challenge_with(challenges)) {
                    headers.push((http::header::WWW_AUTHENTICATE, v));
                }
            }
            Self::MethodNotAllowed { allow } => {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    headers.push((http::header::ALLOW, v));
                }
            }
            Self::Unavailable(_) => {
                headers.push((http::header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            Self::PreconditionFailed { etag, .. } => {
                if let Ok(v) = HeaderValue::from_str(etag) {
                    headers.push((http::header::ETAG, v));
                }
            }
            _ => {}
        }
        headers
    }
}

/// Which field of a body breaks which rule (an `ApiError::Invalid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name in the body (`attendees`).
    pub field: String,
    /// For a list, which element (counted from 0, as JSON counts).
    pub index: Option<usize>,
    /// The rule, as a stable code a client can match: `required`, `empty`, `type`,
    /// `too_long`, `too_many`, `control_character`, `email`, `duplicate`, `time`, `date`, or
    /// a service's own (`end_after_start`, `duration`).
    pub rule: &'static str,
    /// The rule in words, for people and logs.
    pub message: String,
}

impl ApiError {
    /// A field breaking a rule (see [`FieldError`]).
    pub fn invalid(
        field: &str,
        index: Option<usize>,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::Invalid(Box::new(FieldError {
            field: field.to_string(),
            index,
            rule,
            message: message.into(),
        }))
    }
}

/// The JSON error body shared by every API response.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct ErrorBody {
    pub error: String,
    pub error_description: String,
    /// With 412: the item as it is now.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub current: Option<serde_json::Value>,
    /// With a field's 400: the field, the element of a list (from 0), and the rule's code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rule: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(
            AuthError::MissingCredentials.challenge("organize"),
            "Bearer realm=\"organize\""
        );
        assert_eq!(
            AuthError::invalid_token("token \"expired\"").challenge("organize"),
            "Bearer realm=\"organize\", error=\"invalid_token\", error_description=\"token 'expired'\""
        );
        let e = AuthError::InsufficientScope {
            scope: "read:contacts".into(),
        };
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        assert!(e.challenge("organize").ends_with("error=\"insufficient_scope\", error_description=\"insufficient scope: read:contacts is required\", scope=\"read:contacts\""));
        assert_eq!(
            AuthError::invalid_request("x").status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn internal_errors_say_nothing_internal() {
        let body = ApiError::Internal("dynamodb: table secret-name not found".into()).body();
        assert_eq!(body.error, "server_error");
        assert!(!body.error_description.contains("secret-name"));
    }
}
