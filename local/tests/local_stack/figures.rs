//! The local figures: the EMF documents the functions and the authorizer write, as `make run`
//! shows them. A denial reason reaches them the moment it happens; every document passes the
//! EMF check.

use reqwest::StatusCode;

use crate::common::api::{api_get, machine_token};
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
