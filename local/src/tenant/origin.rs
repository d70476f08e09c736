//! The one origin parser of the dev tenant: `scheme://host[:port]` of a URL.
//!
//! Its result goes into Content-Security-Policy headers, `postMessage` targets and CORS
//! answers, so anything but a plain host and port is refused rather than repaired.

/// `scheme://host[:port]` of an absolute http(s) URL, lower-cased, or `None`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let valid = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then(|| format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// Whether `origin` (as a browser sends it in `Origin`) is one of `allowed` (as written in
/// `tenant.yaml`, where a trailing slash is tolerated).
pub fn is_listed<'a>(origin: &str, allowed: impl IntoIterator<Item = &'a String>) -> bool {
    allowed
        .into_iter()
        .any(|o| o.trim_end_matches('/') == origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_redirect_uris() {
        assert_eq!(
            origin_of("http://localhost:3000/callback.html?x#y").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(
            origin_of("https://app.example.com").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://a.example; script-src *"), None);
        assert_eq!(origin_of("https://user@evil.example/"), None);
        assert_eq!(origin_of("com.example.app://callback"), None);
    }

    #[test]
    fn listed_origins_match_exactly() {
        let allowed = vec!["http://localhost:3000/".to_string()];
        assert!(is_listed("http://localhost:3000", &allowed));
        assert!(!is_listed("http://localhost:3001", &allowed));
        assert!(!is_listed("http://localhost:3000/x", &allowed));
    }
}
