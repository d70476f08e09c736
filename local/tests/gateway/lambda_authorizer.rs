//! `lambda` mode (the template's default): the real authorizer in front of the functions, as
//! API Gateway runs a payload 2.0 request authorizer with simple responses.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::api::machine_token;
use crate::harness::{Harness, Panics, Setup, edited_template, message};

#[tokio::test]
async fn the_function_gets_the_authorizers_context_and_which_authorizer_decided() {
    let h = Harness::new(Setup::default()).await;
    let token = machine_token(&h.stack, None).await;
    let (status, headers, event) = h.get("/contacts?limit=5", &token).await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert!(headers.contains_key("apigw-requestid"));
    let context = &event["requestContext"]["authorizer"]["lambda"];
    let machine = h
        .stack
        .tenant
        .client_by_name("Organizer Machine")
        .unwrap()
        .id
        .clone();
    assert_eq!(context["sub"], format!("{machine}@clients"));
    assert_eq!(context["client_id"], machine.as_str());
    // The machine client is granted every scope of the API.
    assert_eq!(
        context["scope"],
        crate::common::scopes::joined("", &crate::common::scopes::all())
    );
    assert!(event["requestContext"]["authorizer"].get("jwt").is_none());
    assert_eq!(h.authorizer_calls(), 1);
}

#[tokio::test]
async fn without_the_identity_source_the_answer_is_401_and_the_authorizer_is_not_called() {
    let h = Harness::new(Setup::default()).await;
    for headers in [
        vec![],
        vec![("authorization", "")],
        vec![("x-other", "Bearer abc")],
    ] {
        let (status, headers_out, body) = h.send("GET", "/contacts", &headers, "").await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, message("Unauthorized")),
            "{headers:?}"
        );
        assert!(headers_out.get("www-authenticate").is_none());
    }
    assert_eq!(h.authorizer_calls(), 0);
    assert!(h.lambda.events("echo").is_empty());
}

#[tokio::test]
async fn a_deny_is_403_and_the_function_is_not_called() {
    let h = Harness::new(Setup::default()).await;
    let contacts_only = machine_token(&h.stack, Some("read:contacts")).await;
    for (path, token) in [
        ("/calendar", contacts_only.as_str()),
        ("/contacts", "not-a-token"),
        ("/contacts", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
    ] {
        let (status, _, body) = h.get(path, token).await;
        assert_eq!(
            (status, body),
            (StatusCode::FORBIDDEN, message("Forbidden")),
            "{path} {token}"
        );
    }
    // A write with a read-only token.
    let (status, _, _) = h
        .send(
            "POST",
            "/contacts",
            &[
                ("authorization", &format!("Bearer {contacts_only}")),
                ("content-type", "application/json"),
            ],
            r#"{"name":"X"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(h.lambda.events("echo").is_empty(), "no function ran");
}

/// Decisions are cached by the identity source values — the token and the route key — for the
/// template's TTL, allow and deny alike; a decision for one route is never reused for another.
#[tokio::test]
async fn decisions_are_cached_per_token_and_route() {
    let h = Harness::new(Setup::default()).await;
    let token = machine_token(&h.stack, None).await;
    for _ in 0..3 {
        assert_eq!(h.get("/contacts", &token).await.0, StatusCode::OK);
    }
    assert_eq!(h.authorizer_calls(), 1, "cached for GET /contacts");
    assert_eq!(h.get("/calendar", &token).await.0, StatusCode::OK);
    assert_eq!(h.authorizer_calls(), 2, "GET /calendar is its own entry");
    assert_eq!(h.get("/contacts/c-1", &token).await.0, StatusCode::OK);
    assert_eq!(h.authorizer_calls(), 3, "GET /contacts/{{id}} too");
    for _ in 0..3 {
        assert_eq!(h.get("/contacts", "bad").await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(h.authorizer_calls(), 4, "a deny is cached too");
    assert_eq!(
        h.gateway
            .lambda_authorizer("LambdaAuthorizer")
            .unwrap()
            .cached(),
        4
    );
}

/// 40 requests at once while the cache fills, and again once it has expired: each gets the
/// answer of its own token, none another's.
#[tokio::test]
async fn parallel_requests_while_the_cache_fills_and_expires_get_their_own_answers() {
    let template = edited_template(|t| {
        t.replace(
            "authorizerResultTtlInSeconds: !If [DpopOn, 0, 300]",
            "authorizerResultTtlInSeconds: 1",
        )
    });
    let h = Harness::new(Setup {
        template,
        ..Setup::default()
    })
    .await;
    let good = machine_token(&h.stack, None).await;
    let narrow = machine_token(&h.stack, Some("read:contacts")).await;
    let round = || {
        join_all((0..40).map(|i| {
            let (path, token, expected) = match i % 4 {
                0 => ("/contacts", good.as_str(), StatusCode::OK),
                1 => ("/calendar", good.as_str(), StatusCode::OK),
                2 => ("/contacts", narrow.as_str(), StatusCode::OK),
                _ => ("/calendar", narrow.as_str(), StatusCode::FORBIDDEN),
            };
            let h = &h;
            async move { (path, expected, h.get(path, token).await.0) }
        }))
    };
    for (path, expected, got) in round().await {
        assert_eq!(got, expected, "{path}");
    }
    let first = h.authorizer_calls();
    assert!(
        (4..=40).contains(&first),
        "{first} calls for 4 distinct entries"
    );
    // Cached: no more calls.
    for (path, expected, got) in round().await {
        assert_eq!(got, expected, "{path}");
    }
    assert_eq!(h.authorizer_calls(), first);
    // Expired (TTL 1 s): asked again, still the right answers.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for (path, expected, got) in round().await {
        assert_eq!(got, expected, "{path}");
    }
    assert!(
        h.authorizer_calls() >= first + 4,
        "asked again after the TTL"
    );
}

/// The cache holds at most 10,000 results, however many distinct tokens arrive.
#[tokio::test]
async fn the_cache_is_bounded() {
    let h = Harness::new(Setup::default()).await;
    for chunk in 0..24 {
        join_all((0..500).map(|i| {
            let token = format!("made-up-{chunk}-{i}");
            let h = &h;
            async move { assert_eq!(h.get("/contacts", &token).await.0, StatusCode::FORBIDDEN) }
        }))
        .await;
    }
    assert_eq!(h.authorizer_calls(), 12_000);
    assert_eq!(
        h.gateway
            .lambda_authorizer("LambdaAuthorizer")
            .unwrap()
            .cached(),
        10_000
    );
}

/// An authorizer that fails in any way is API Gateway's 500, the function is not called, and
/// the failure is not cached.
#[tokio::test]
async fn an_authorizer_that_fails_is_a_500_and_never_the_function() {
    // A short Timeout for the authorizer function, so that a hang ends soon.
    let template = edited_template(|t| {
        t.replace(
            "      CodeUri: functions/authorizer\n",
            "      CodeUri: functions/authorizer\n      Timeout: 1\n",
        )
    });
    let lambda = crate::harness::FakeLambda::start().await;
    for (what, target) in [
        ("errors (cargo lambda watch's 500)", lambda.target("fails")),
        (
            "errors (Lambda's X-Amz-Function-Error)",
            lambda.target("function-error"),
        ),
        ("answers malformed JSON", lambda.target("malformed")),
        (
            "answers isAuthorized as a string",
            lambda.target("not-a-bool"),
        ),
        ("times out", lambda.target("hangs")),
        (
            "panics",
            organizer_local::gateway::functions::Target::Authorizer(Arc::new(Panics)),
        ),
        (
            "is not there",
            organizer_local::gateway::functions::Target::Remote(
                organizer_local::gateway::functions::Remote::new(
                    "http://127.0.0.1:9",
                    "authorizer",
                ),
            ),
        ),
    ] {
        let h = Harness::new(Setup {
            template: template.clone(),
            targets: vec![("AuthorizerFunction", target)],
            ..Setup::default()
        })
        .await;
        for _ in 0..2 {
            let (status, _, body) = h.get("/contacts", "any-token").await;
            assert_eq!(
                (status, body),
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    message("Internal Server Error")
                ),
                "an authorizer that {what}"
            );
        }
        assert!(
            h.lambda.events("echo").is_empty(),
            "{what}: the function ran"
        );
        assert_eq!(
            h.gateway
                .lambda_authorizer("LambdaAuthorizer")
                .unwrap()
                .cached(),
            0,
            "{what}"
        );
    }
    // Each call reached the authorizer: failures are not cached.
    assert_eq!(lambda.events("fails").len(), 2);
    assert_eq!(lambda.events("malformed").len(), 2);
}

/// A function that fails is API Gateway's 500; one that takes longer than the integration's
/// timeout, its 503.
#[tokio::test]
async fn a_function_that_fails_is_a_500_and_one_too_slow_a_503() {
    let lambda = crate::harness::FakeLambda::start().await;
    for (name, status, text) in [
        (
            "fails",
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        ),
        (
            "malformed",
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        ),
    ] {
        let h = Harness::new(Setup {
            overrides: &["AuthorizerMode=none"],
            targets: vec![("ContactsFunction", lambda.target(name))],
            ..Setup::default()
        })
        .await;
        let (got, _, body) = h.get("/contacts", "x").await;
        assert_eq!((got, body), (status, message(text)), "{name}");
    }
    // The integration's timeout (here 1 s) before the function's own (10 s): 503.
    let template = edited_template(|t| {
        t.replacen(
            "                payloadFormatVersion: \"2.0\"\n",
            "                payloadFormatVersion: \"2.0\"\n                timeoutInMillis: 1000\n",
            1,
        )
    });
    let h = Harness::new(Setup {
        template,
        overrides: &["AuthorizerMode=none"],
        targets: vec![("ContactsFunction", lambda.target("hangs"))],
        ..Setup::default()
    })
    .await;
    let (status, _, body) = h.get("/contacts", "x").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            message("Service Unavailable")
        )
    );
}

/// An authorizer answering with its own context: the function gets it as it is.
#[tokio::test]
async fn any_authorizers_context_reaches_the_function() {
    let lambda = crate::harness::FakeLambda::start().await;
    let h = Harness::new(Setup {
        targets: vec![("AuthorizerFunction", lambda.target("allow"))],
        ..Setup::default()
    })
    .await;
    let (status, _, event) = h.get("/calendar", "whatever").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        event["requestContext"]["authorizer"]["lambda"],
        json!({"from": "fake", "n": 1})
    );
    let asked = &lambda.events("allow")[0];
    assert_eq!(
        asked["identitySource"],
        json!(["Bearer whatever", "GET /calendar"])
    );
    assert_eq!(
        asked["routeArn"],
        "arn:aws:execute-api:us-east-1:000000000000:local/$default/GET/calendar"
    );
    assert_eq!(asked["type"], "REQUEST");
}
