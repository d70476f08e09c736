//! A validated authorization request (`GET /authorize`) and the choices it carries.
//!
//! Only types live here: the endpoint validates (`authorize::validate`), the session store
//! keeps requests in sign-in transactions and codes, and the response is built from them, so
//! this module depends on nothing else of the tenant.

/// The OpenID scopes every client may ask for; API scopes come from `tenant.yaml`.
pub const OIDC_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// `prompt`: what the client wants the tenant to do about pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Answer at once, never show a page (`checkSession`).
    None,
    Login,
    Consent,
}

/// How the authorization response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
    WebMessage,
}

/// What the client asked for, once its `client_id` and `redirect_uri` are known good.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub wants_token: bool,
    pub wants_id_token: bool,
    /// `response_type=code`: a single-use code for the token endpoint.
    pub wants_code: bool,
    /// The PKCE S256 challenge the code is bound to.
    pub code_challenge: Option<String>,
    /// The DPoP key the code is bound to (`dpop_jkt`, RFC 9449 §10): exchanging it needs a
    /// proof by that key.
    pub dpop_jkt: Option<String>,
    pub mode: ResponseMode,
    /// Requested scopes the tenant knows (unknown ones are dropped, as Auth0 does).
    pub scopes: Vec<String>,
    pub audience: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<Prompt>,
}

impl AuthRequest {
    /// What the user consents to when given `scopes` of this request: every one but `openid`,
    /// API scopes keyed by their API (`organize|read:contacts`) so consent to one API never
    /// counts for another.
    pub fn consent_keys(&self, scopes: &[String]) -> Vec<String> {
        scopes
            .iter()
            .filter(|s| s.as_str() != "openid")
            .map(
                |s| match (&self.audience, OIDC_SCOPES.contains(&s.as_str())) {
                    (Some(api), false) => format!("{api}|{s}"),
                    _ => s.clone(),
                },
            )
            .collect()
    }

    /// Whether the request asked for `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}
