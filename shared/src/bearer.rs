//! Taking the bearer token out of a request (RFC 6750 §2.1), and nothing else.
//!
//! Only the `Authorization` header is read: tokens in query strings end up in logs and
//! browser history (RFC 9700 §2.5), so they are never looked for.

use http::HeaderMap;

use crate::error::AuthError;

/// Returns the token of the one `Authorization: Bearer <token>` header.
///
/// No header is `MissingCredentials` (401); two headers, another scheme, an empty token, or
/// a value with spaces or commas inside the token is `InvalidRequest` (400). The token's own
/// characters are checked later by the verifier, which answers 401.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::MissingCredentials);
    };
    if values.next().is_some() {
        return Err(AuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    let value = value.to_str().map_err(|_| {
        AuthError::invalid_request("the Authorization header is not printable ASCII")
    })?;
    let value = value.trim_matches(' ');
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::invalid_request(
            "unsupported authorization scheme: use Bearer",
        ));
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(AuthError::invalid_request("the bearer token is empty"));
    }
    // API Gateway joins repeated headers with commas: a comma means two credentials were sent.
    // (memchr: a token is about 1 KB, and these scans run on every request.)
    if memchr::memchr(b',', token.as_bytes()).is_some() {
        return Err(AuthError::invalid_request(
            "more than one Authorization value",
        ));
    }
    if memchr::memchr2(b' ', b'\t', token.as_bytes()).is_some() {
        return Err(AuthError::invalid_request(
            "the bearer token contains whitespace",
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn takes_the_token_of_one_bearer_header() {
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.def.ghi"])).unwrap(),
            "abc.def.ghi"
        );
        assert_eq!(bearer_token(&headers(&["bearer abc"])).unwrap(), "abc");
        assert_eq!(bearer_token(&headers(&["BEARER   abc"])).unwrap(), "abc");
    }

    #[test]
    fn no_header_is_missing_credentials() {
        assert_eq!(
            bearer_token(&HeaderMap::new()),
            Err(AuthError::MissingCredentials)
        );
    }

    #[test]
    fn malformed_requests_are_invalid_request() {
        for case in [
            &["Bearer a", "Bearer b"][..],
            &["Basic dXNlcjpwYXNz"],
            &["Bearer"],
            &["Bearer    "],
            &["Token abc"],
            &["Bearer a,Bearer b"],
            &["Bearer a b"],
            &["abc.def.ghi"],
        ] {
            let err = bearer_token(&headers(case)).unwrap_err();
            assert!(
                matches!(err, AuthError::InvalidRequest(_)),
                "{case:?} gave {err:?}"
            );
        }
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        );
        assert!(matches!(
            bearer_token(&h),
            Err(AuthError::InvalidRequest(_))
        ));
    }
}
