//! CORS from the template: preflights answered before any authorizer, and the configured
//! headers on every answer to an allowed origin — the gateway's own 401/403/404/500 included —
//! instead of the function's.

use reqwest::StatusCode;

use crate::common::api::machine_token;
use crate::harness::{Harness, Setup};

const SITE: &str = "http://localhost:3000";

#[tokio::test]
async fn a_preflight_is_answered_before_any_authorizer() {
    let h = Harness::new(Setup::default()).await;
    let (status, headers, _) = h
        .send(
            "OPTIONS",
            "/contacts/c-1",
            &[
                ("origin", SITE),
                ("access-control-request-method", "PUT"),
                (
                    "access-control-request-headers",
                    "authorization, content-type, if-match",
                ),
            ],
            "",
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers["access-control-allow-origin"], SITE);
    assert_eq!(
        headers["access-control-allow-methods"],
        "GET,POST,PUT,DELETE,OPTIONS"
    );
    assert_eq!(
        headers["access-control-allow-headers"],
        "authorization,content-type,dpop,if-match,idempotency-key"
    );
    assert_eq!(headers["access-control-max-age"], "600");
    // From another origin: answered, without the headers a browser needs.
    let (status, headers, _) = h
        .send(
            "OPTIONS",
            "/contacts",
            &[
                ("origin", "http://evil.example"),
                ("access-control-request-method", "GET"),
            ],
            "",
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(headers.get("access-control-allow-origin").is_none());
    assert_eq!(h.authorizer_calls(), 0);
    assert!(h.lambda.events("echo").is_empty());
}

#[tokio::test]
async fn every_answer_to_an_allowed_origin_carries_the_configured_headers() {
    let h = Harness::new(Setup::default()).await;
    let token = machine_token(&h.stack, None).await;
    let bearer = format!("Bearer {token}");
    for (what, method, path, headers, status) in [
        (
            "the function's",
            "GET",
            "/contacts",
            vec![("authorization", bearer.as_str())],
            StatusCode::OK,
        ),
        (
            "no identity source",
            "GET",
            "/contacts",
            vec![],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a deny",
            "GET",
            "/contacts",
            vec![("authorization", "Bearer bad")],
            StatusCode::FORBIDDEN,
        ),
        ("no route", "GET", "/nowhere", vec![], StatusCode::NOT_FOUND),
    ] {
        let mut headers = headers;
        headers.push(("origin", SITE));
        let (got, out, _) = h.send(method, path, &headers, "").await;
        assert_eq!(got, status, "{what}");
        assert_eq!(out["access-control-allow-origin"], SITE, "{what}");
        assert_eq!(
            out["access-control-expose-headers"], "www-authenticate,dpop-nonce,etag,location",
            "{what}"
        );
        assert!(
            out.get_all("vary").iter().any(|v| v
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("origin")),
            "{what}"
        );
    }
    // The echo function answers `access-control-allow-origin: *`: API Gateway ignores it.
    let (_, out, _) = h
        .send(
            "GET",
            "/contacts",
            &[
                ("authorization", &bearer),
                ("origin", "http://evil.example"),
            ],
            "",
        )
        .await;
    assert!(out.get("access-control-allow-origin").is_none());
}
