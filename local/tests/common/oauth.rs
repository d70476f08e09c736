//! Authorization requests as the SPA sends them, and reading what the tenant answers: the
//! parameters of a redirect, a JWT's claims, a page's hidden form fields.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The SPA's callback (tenant.yaml).
pub const CALLBACK: &str = "http://localhost:3000/callback.html";
/// The SPA's origin: a callback, its Allowed Web Origin and its allowed logout URL.
pub const SPA_ORIGIN: &str = "http://localhost:3000";
pub const SPA: &str = "Organizer SPA";
pub const MACHINE: &str = "Organizer Machine";
pub const WEB_APP: &str = "Organizer Web";
/// A machine client registered for `client_secret_basic` ([`super::with_basic_machine`]).
pub const BASIC_MACHINE: &str = "Organizer Machine (Basic)";

/// The query of the SPA's sign-in (implicit flow, both scopes of the API, `state=st-123`,
/// `nonce=n-456`), with `extra` replacing or adding parameters; an empty value removes one.
pub fn authorize_query(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("client_id", client_id),
        ("response_type", "token id_token"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile email read:contacts read:calendar"),
        ("audience", "organize"),
        ("state", "st-123"),
        ("nonce", "n-456"),
    ] {
        if !extra.iter().any(|(ek, _)| *ek == k) {
            q.append_pair(k, v);
        }
    }
    for (k, v) in extra {
        if !v.is_empty() {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

/// The parameters of a redirect's fragment.
pub fn fragment(url: &str) -> Vec<(String, String)> {
    let (_, fragment) = url
        .split_once('#')
        .unwrap_or_else(|| panic!("no fragment in {url}"));
    form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect()
}

/// The parameters of a redirect's query.
pub fn query_params(url: &str) -> Vec<(String, String)> {
    let (_, query) = url
        .split_once('?')
        .unwrap_or_else(|| panic!("no query in {url}"));
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The value of parameter `name`.
pub fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A JWT's claims (not verified).
pub fn claims(jwt: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// The value of hidden field `name` in a page's form.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    use sha2::Digest;
    let verifier = format!(
        "verifier-{}-{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The authorization request of the code flow with PKCE (S256), for the SPA.
pub fn code_flow(challenge: &str) -> [(&str, &str); 4] {
    [
        ("response_type", "code"),
        ("nonce", ""),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}
