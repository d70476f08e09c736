//! `htu` against the request's URL, as RFC 9449 §4.3 compares them: query and fragment
//! ignored, after RFC 3986's syntax-based (§6.2.2: case of scheme, host and percent-encodings;
//! percent-encoded unreserved characters decoded) and scheme-based (§6.2.3: default port,
//! empty path as `/`) normalization.
//!
//! Only `http` and `https` URLs without userinfo are accepted; anything else (another scheme,
//! `user@host`, non-ASCII, a bad percent-encoding, a port that is not a number) never matches.
//! Dot segments are not resolved: `/a/../token` is not `/token` (no client sends them, and a
//! request path arrives already resolved).

/// The normalized form of `url` without its query and fragment, or `None` when it is not an
/// http(s) URL this module can compare.
pub(crate) fn normalize(url: &str) -> Option<String> {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    if authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: [address] then an optional :port.
        Some(inner) => {
            let (address, after) = inner.split_once(']')?;
            if address.is_empty()
                || !address
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return None;
            }
            let port = match after {
                "" => "",
                after => after.strip_prefix(':')?,
            };
            (format!("[{}]", address.to_ascii_lowercase()), port)
        }
        None => {
            let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
            let host_ok = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            if !host_ok {
                return None;
            }
            (host.to_ascii_lowercase(), port)
        }
    };
    // No port, or `host:` (RFC 3986 §6.2.3): the default. The default port itself is dropped.
    let port = match port {
        "" => String::new(),
        digits => {
            if digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let number: u16 = digits.parse().ok()?;
            if number == default_port {
                String::new()
            } else {
                format!(":{number}")
            }
        }
    };
    let path = normalize_path(if path.is_empty() { "/" } else { path })?;
    Some(format!("{scheme}://{host}{port}{path}"))
}

/// Percent-encodings in upper case, and decoded when they encode an unreserved character.
fn normalize_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            // Checked first: from_str_radix would take a sign ("%+f").
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            let value = u8::from_str_radix(hex, 16).ok()?;
            if value.is_ascii_alphanumeric() || matches!(value, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(value));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            out.push(char::from(b));
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn equivalent_urls_normalize_alike() {
        let canonical = Some("https://server.example.com/token".to_string());
        for url in [
            "https://server.example.com/token",
            "HTTPS://Server.Example.COM/token",
            "https://server.example.com:443/token",
            "https://server.example.com:/token",
            "https://server.example.com/token?x=1",
            "https://server.example.com/token#frag",
            "https://server.example.com/%74oken",
        ] {
            assert_eq!(normalize(url), canonical, "{url}");
        }
        assert_eq!(
            normalize("http://localhost:4000/oauth/token").as_deref(),
            Some("http://localhost:4000/oauth/token")
        );
        assert_eq!(
            normalize("http://localhost:80").as_deref(),
            Some("http://localhost/")
        );
        assert_eq!(
            normalize("http://[::1]:3001/contacts/%2f").as_deref(),
            Some("http://[::1]:3001/contacts/%2F")
        );
    }

    #[test]
    fn different_urls_differ() {
        let token = normalize("https://server.example.com/token");
        for url in [
            "http://server.example.com/token",
            "https://server.example.com:8443/token",
            "https://server.example.com/Token",
            "https://server.example.com/token/",
            "https://other.example.com/token",
        ] {
            assert_ne!(normalize(url), token, "{url}");
        }
    }

    #[test]
    fn what_cannot_be_compared_is_refused() {
        for url in [
            "ftp://server.example.com/token",
            "https://user:pw@server.example.com/token",
            "https://server.example.com:99999/token",
            "https://server.example.com:44a/token",
            "https://server.example.com/%zz",
            "https://server.example.com/%4",
            "https://sérver.example.com/token",
            "https://server.example.com/to ken",
            "https:///token",
            "server.example.com/token",
            "https://[zz::1]/token",
            "",
        ] {
            assert_eq!(normalize(url), None, "{url}");
        }
    }
}
