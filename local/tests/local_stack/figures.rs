//! The local figures: the EMF documents the functions and the authorizer write, as `make run`
//! shows them. A denial reason reaches them the moment it happens; every document passes the
//! EMF check.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::api::{api_get, machine_token};
use crate::common::oauth::claims;
use crate::common::stack_in;

/// A token whose signature no longer matches its claims.
fn tampered(token: &str) -> String {
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    format!("{rest}.{flipped}{}", &signature[1..])
}

#[tokio::test]
async fn the_authorizer_and_the_functions_report_each_decision_by_reason() {
    let stack = stack_in(&["AuthorizerMode=lambda"]).await;
    let token = machine_token(&stack, Some("read:contacts")).await;
    stack.figures.take();
    assert_eq!(
        api_get(&stack, "/contacts?limit=2", &token).await.0,
        StatusCode::OK
    );
    assert_eq!(
        api_get(&stack, "/calendar", &token).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api_get(&stack, "/contacts", &tampered(&token)).await.0,
        StatusCode::FORBIDDEN
    );
    let figures = stack.figures.take();
    let row = |service: &str, route: &str| {
        figures
            .get(&(service.to_string(), route.to_string()))
            .unwrap_or_else(|| panic!("no figures for {service} {route}: {figures:#?}"))
    };
    let authorizer = row("authorizer", "GET /contacts");
    assert_eq!(
        (authorizer.requests, authorizer.allowed),
        (2, 1),
        "{authorizer:?}"
    );
    assert_eq!(
        authorizer.counters.get("DeniedBadSignature"),
        Some(&1.0),
        "{authorizer:?}"
    );
    let calendar = row("authorizer", "GET /calendar");
    assert_eq!(
        calendar.counters.get("DeniedInsufficientScope"),
        Some(&1.0),
        "{calendar:?}"
    );
    // Only the allowed request reached the function.
    let contacts = row("contacts", "GET /contacts");
    assert_eq!(contacts.requests, 1, "{contacts:?}");
    assert_eq!(contacts.status, [1, 0, 0]);
    assert_eq!(contacts.latencies.len(), 1);
    assert!(
        stack.figures.rejected().is_empty(),
        "{:?}",
        stack.figures.rejected()
    );
    let summary = organizer_local::figures::LocalFigures::summary(
        &figures,
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    assert!(summary.contains("denied: bad signature 1"), "{summary}");
    assert!(
        summary.contains("denied: insufficient scope 1"),
        "{summary}"
    );
    stack.stop().await;
}

#[tokio::test]
async fn without_an_authorizer_the_function_reports_the_reason_itself() {
    let stack = stack_in(&["AuthorizerMode=none"]).await;
    let token = machine_token(&stack, Some("read:contacts")).await;
    stack.figures.take();
    for (token, status) in [
        (tampered(&token), StatusCode::UNAUTHORIZED),
        ("not-a-jwt".to_string(), StatusCode::UNAUTHORIZED),
        (token.clone(), StatusCode::OK),
        (token.clone(), StatusCode::OK),
    ] {
        assert_eq!(api_get(&stack, "/contacts", &token).await.0, status);
    }
    let (status, _) = api_get(&stack, "/calendar", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let figures = stack.figures.take();
    let contacts = &figures[&("contacts".to_string(), "GET /contacts".to_string())];
    assert_eq!(contacts.requests, 4);
    assert_eq!(contacts.status, [2, 2, 0]);
    for (name, n) in [
        ("DeniedBadSignature", 1.0),
        ("DeniedMalformed", 1.0),
        ("TokenCacheHit", 1.0),
        ("TokenCacheMiss", 3.0),
    ] {
        assert_eq!(
            contacts.counters.get(name),
            Some(&n),
            "{name}: {contacts:?}"
        );
    }
    let calendar = &figures[&("calendar".to_string(), "GET /calendar".to_string())];
    assert_eq!(
        calendar.counters.get("DeniedInsufficientScope"),
        Some(&1.0),
        "{calendar:?}"
    );
    assert!(stack.figures.rejected().is_empty());
    stack.stop().await;
}

/// The machine token's claims, changed by `change`, signed with the tenant's own active key: a
/// token whose only fault is the one `change` puts in.
fn resigned(
    stack: &organizer_local::RunningStack,
    token: &str,
    change: impl Fn(&mut Value),
) -> String {
    let mut claims = claims(token);
    change(&mut claims);
    stack.tenant.keys.active().sign(&claims).unwrap()
}

/// One request per denial reason a client can cause, in the two modes where our code decides:
/// each reason is counted once, apart from the others, under the name the dashboard and the
/// alarms use, and the terminal's summary says each in words. This is what a person watching
/// `make run` (or the dashboard) reads to tell the causes apart.
#[tokio::test]
async fn every_denial_reason_is_counted_apart_in_each_mode() {
    for (mode, denied, service) in [
        ("none", StatusCode::UNAUTHORIZED, "contacts"),
        ("lambda", StatusCode::FORBIDDEN, "authorizer"),
    ] {
        let stack = stack_in(&[&format!("AuthorizerMode={mode}")]).await;
        let token = machine_token(&stack, Some("read:contacts")).await;
        // Issued two hours before the real one, for one hour.
        let expired = resigned(&stack, &token, |c| {
            let issued = c["iat"].as_u64().unwrap();
            c["iat"] = json!(issued - 7200);
            c["exp"] = json!(issued - 3600);
        });
        let other_audience = resigned(&stack, &token, |c| c["aud"] = json!("another-api"));
        let other_issuer = resigned(&stack, &token, |c| {
            c["iss"] = json!("https://evil.example/")
        });
        stack.figures.take();

        // No Authorization header at all: the function says no_token; API Gateway answers a
        // Lambda authorizer's missing identity source itself (401) and never calls it.
        let response = reqwest::Client::new()
            .get(format!("{}/contacts", stack.api_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{mode}");
        for (token, why) in [
            ("not-a-jwt".to_string(), "malformed"),
            (expired, "expired"),
            (tampered(&token), "bad signature"),
            (other_audience, "wrong audience"),
            (other_issuer, "wrong issuer"),
        ] {
            let (status, body) = api_get(&stack, "/contacts", &token).await;
            assert_eq!(status, denied, "{mode}, {why}: {body}");
        }
        let (status, body) = api_get(&stack, "/calendar", &token).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{mode}, insufficient scope: {body}"
        );

        let figures = stack.figures.take();
        let row = |route: &str| {
            figures
                .get(&(service.to_string(), route.to_string()))
                .unwrap_or_else(|| panic!("{mode}: no figures for {service} {route}: {figures:#?}"))
        };
        let contacts = row("GET /contacts");
        let mut expected = BTreeMap::from([
            ("DeniedMalformed", 1.0),
            ("DeniedExpired", 1.0),
            ("DeniedBadSignature", 1.0),
            ("DeniedWrongAudience", 1.0),
            ("DeniedWrongIssuer", 1.0),
        ]);
        if mode == "none" {
            expected.insert("DeniedNoToken", 1.0);
        }
        let counted: BTreeMap<&str, f64> = contacts
            .counters
            .iter()
            .filter(|(name, _)| name.starts_with("Denied"))
            .map(|(name, n)| (name.as_str(), *n))
            .collect();
        assert_eq!(counted, expected, "{mode}: {contacts:?}");
        // Without an authorizer the calendar function refuses the scope itself.
        let calendar = if mode == "none" {
            &figures[&("calendar".to_string(), "GET /calendar".to_string())]
        } else {
            row("GET /calendar")
        };
        assert_eq!(
            calendar.counters.get("DeniedInsufficientScope"),
            Some(&1.0),
            "{mode}: {calendar:?}"
        );
        if mode == "lambda" {
            assert_eq!(contacts.allowed, 0, "{mode}: {contacts:?}");
            assert!(
                !figures.contains_key(&("contacts".to_string(), "GET /contacts".to_string())),
                "{mode}: no denied request reached the function: {figures:#?}"
            );
        }

        let summary = organizer_local::figures::LocalFigures::summary(
            &figures,
            std::time::Duration::from_secs(10),
        )
        .unwrap();
        let mut words = vec![
            "malformed 1",
            "expired 1",
            "bad signature 1",
            "wrong audience 1",
            "wrong issuer 1",
            "insufficient scope 1",
        ];
        if mode == "none" {
            words.push("no token 1");
        }
        for said in words {
            assert!(summary.contains(said), "{mode}: {said} in\n{summary}");
        }
        assert!(
            stack.figures.rejected().is_empty(),
            "{mode}: {:?}",
            stack.figures.rejected()
        );
        stack.stop().await;
    }
}
