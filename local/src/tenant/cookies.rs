//! The tenant's two cookies: their names, how they are read, and the `Set-Cookie` values that
//! write and clear them (built with the `cookie` crate, never formatted by hand).
//!
//! - the SSO session (`organizer_session`): a secret that names the user's session;
//! - the browser binding (`organizer_browser`): ties a sign-in transaction to the browser that
//!   started it, so another site cannot post the login or consent form from a victim's
//!   browser (login CSRF).

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

/// The SSO session cookie's name.
pub const SESSION_COOKIE: &str = "organizer_session";
/// The browser-binding cookie's name.
pub const BROWSER_COOKIE: &str = "organizer_browser";

/// The one value of cookie `name`. Two cookies of one name (one planted by another page on
/// this host) mean neither is trusted.
fn value(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == name)
        .map(|c| c.value().to_string());
    match (values.next(), values.next()) {
        (Some(value), None) => Some(value),
        _ => None,
    }
}

/// The session cookie's value, if any.
pub fn session(headers: &HeaderMap) -> Option<String> {
    value(headers, SESSION_COOKIE)
}

/// The browser cookie's value, if it has the shape this tenant gives it.
pub fn browser(headers: &HeaderMap) -> Option<String> {
    value(headers, BROWSER_COOKIE).filter(|v| {
        v.len() == 32
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Whether this request comes from the browser that started a transaction.
pub fn same_browser(headers: &HeaderMap, expected: &str) -> bool {
    browser(headers).is_some_and(|v| {
        aws_lc_rs::constant_time::verify_slices_are_equal(v.as_bytes(), expected.as_bytes()).is_ok()
    })
}

fn header_value(cookie: Cookie<'_>) -> Option<HeaderValue> {
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// A cookie of this tenant: whole host, HttpOnly, Lax, Secure when the issuer is https.
fn build(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// The SSO session cookie, with the attributes Auth0's has: `SameSite=None; Secure`, so that
/// where a browser allows third-party cookies, `checkSession()`'s iframe on another site still
/// sends it (browsers treat `http://localhost` as secure, so this holds for the dev tenant).
fn session_cookie(value: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::None)
        .secure(true)
        .build()
}

/// `Set-Cookie` for a new SSO session.
pub fn set_session(id: &str) -> Option<HeaderValue> {
    header_value(session_cookie(id.to_string()))
}

/// `Set-Cookie` that removes the SSO session cookie.
pub fn clear_session() -> Option<HeaderValue> {
    let mut cookie = session_cookie(String::new());
    cookie.make_removal();
    header_value(cookie)
}

/// `Set-Cookie` for the browser binding.
pub fn set_browser(value: &str, secure: bool) -> Option<HeaderValue> {
    header_value(build(BROWSER_COOKIE, value.to_string(), secure))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn a_repeated_cookie_is_not_trusted() {
        assert_eq!(
            session(&with_cookie("organizer_session=a; x=1")).as_deref(),
            Some("a")
        );
        assert_eq!(
            session(&with_cookie("organizer_session=a; organizer_session=b")),
            None
        );
        assert_eq!(browser(&with_cookie("organizer_browser=short")), None);
    }

    #[test]
    fn set_cookie_values_carry_the_attributes() {
        let set = set_session("abc").unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("organizer_session=abc"), "{set}");
        for attr in ["HttpOnly", "SameSite=None", "Secure", "Path=/"] {
            assert!(set.contains(attr), "{set}");
        }
        let browser = set_browser("x", false).unwrap();
        let browser = browser.to_str().unwrap();
        assert!(
            browser.contains("SameSite=Lax") && !browser.contains("Secure"),
            "{browser}"
        );
        assert!(
            set_browser("x", true)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("Secure")
        );
        let clear = clear_session().unwrap();
        assert!(clear.to_str().unwrap().contains("Max-Age=0"), "{clear:?}");
    }
}
