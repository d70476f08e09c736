//! The contacts handler, called directly with API Gateway events built from a fixture.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use contacts::Contact;
use http::StatusCode;
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::service::{ServiceApi, handle};
use organizer_shared::store::memory::MemoryStore;
use organizer_shared::store::{Item, Store};
use organizer_shared::testing::{EventBuilder, TEST_AUDIENCE, TestIssuer, response_parts};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/apigw-v2-get-contacts.json");
const ALICE: &str = "auth0|alice";
const BOB: &str = "auth0|bob";

async fn api() -> (ServiceApi<contacts::Contact>, TestIssuer) {
    let issuer = TestIssuer::new();
    let store = Arc::new(MemoryStore::<Contact>::default());
    for c in Contact::samples(ALICE) {
        store.create(ALICE, &c, None).await.unwrap();
    }
    for c in Contact::samples(BOB).into_iter().take(3) {
        store.create(BOB, &c, None).await.unwrap();
    }
    let context = ApiContext::new(
        organizer_shared::store::spec::<contacts::Contact>(),
        issuer.verifier(),
        Cors::new(["http://localhost:3000"]),
        TEST_AUDIENCE,
    );
    (ServiceApi::<contacts::Contact> { context, store }, issuer)
}

fn event() -> EventBuilder {
    EventBuilder::from_fixture(FIXTURE)
}

async fn call(
    api: &ServiceApi<contacts::Contact>,
    event: EventBuilder,
) -> (StatusCode, http::HeaderMap, Value) {
    response_parts(&handle(api, event.build()).await)
}

#[tokio::test]
async fn lists_the_callers_contacts_in_pages() {
    let (api, issuer) = api().await;
    let token = issuer.token(ALICE, "openid read:contacts");
    let (status, headers, body) = call(&api, event().bearer(&token).query("limit=7")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let mut names: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 7);
    let mut next = body["next"].as_str().map(String::from);
    while let Some(cursor) = next {
        let (status, _, body) = call(
            &api,
            event()
                .bearer(&token)
                .query(&format!("limit=7&cursor={cursor}")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        names.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string()),
        );
        next = body["next"].as_str().map(String::from);
    }
    let expected: Vec<String> = {
        let mut all = Contact::samples(ALICE);
        all.sort_by_key(|c| c.sort_key());
        all.into_iter().map(|c| c.fields.name).collect()
    };
    assert_eq!(names, expected);
    // Bob's three contacts are Bob's alone.
    let (_, _, body) = call(&api, event().bearer(&issuer.token(BOB, "read:contacts"))).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 3);
    assert!(body["next"].is_null());
}

#[tokio::test]
async fn one_contact_by_id_and_never_someone_elses() {
    let (api, issuer) = api().await;
    let alices = Contact::samples(ALICE)[0].clone();
    let bobs = Contact::samples(BOB)[0].clone();
    let token = issuer.token(ALICE, "read:contacts");
    let (status, _, body) = call(
        &api,
        event()
            .bearer(&token)
            .path(&format!("/contacts/{}", alices.id())),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["email"], alices.fields.email);
    for id in [bobs.id(), "c-0000000000000000"] {
        let (status, _, body) = call(
            &api,
            event().bearer(&token).path(&format!("/contacts/{id}")),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(body["error"], "not_found");
    }
    for id in ["a%2Fb", "x'--", &"a".repeat(65)] {
        let (status, _, body) = call(
            &api,
            event().bearer(&token).path(&format!("/contacts/{id}")),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{id}: {body}");
    }
}

#[tokio::test]
async fn cursors_from_another_user_or_tampered_are_400() {
    let (api, issuer) = api().await;
    let alice = issuer.token(ALICE, "read:contacts");
    let (_, _, body) = call(&api, event().bearer(&alice).query("limit=2")).await;
    let cursor = body["next"].as_str().unwrap().to_string();
    let bob = issuer.token(BOB, "read:contacts");
    let (status, _, body) = call(
        &api,
        event().bearer(&bob).query(&format!("cursor={cursor}")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request");
    let mut tampered = cursor.clone().into_bytes();
    tampered[1] ^= 1;
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), "", "abc", "e30.e30"] {
        let (status, _, _) =
            call(&api, event().bearer(&alice).query(&format!("cursor={bad}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn authentication_errors_follow_rfc_6750() {
    let (api, issuer) = api().await;
    let (status, headers, body) = call(&api, event().without_header("authorization")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Bearer realm=\"organize\"");
    assert!(body["error_description"].is_string());

    let token = issuer.token(ALICE, "read:contacts");
    for value in [
        format!("Bearer {token},Bearer {token}"),
        format!("Basic {token}"),
        "Bearer ".into(),
        "Bearer".into(),
    ] {
        let (status, headers, body) = call(&api, event().header("authorization", &value)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{value:.30}");
        assert_eq!(body["error"], "invalid_request");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_request\"")
        );
    }

    for bad in ["not-a-jwt", "a.b.c", &format!("{token}x")] {
        let (status, headers, body) = call(&api, event().bearer(bad)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad:.30}");
        assert_eq!(body["error"], "invalid_token");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer realm=\"organize\", error=\"invalid_token\"")
        );
    }

    let calendar_only = issuer.token(ALICE, "openid read:calendar read:contactsX xread:contacts");
    let (status, headers, body) = call(&api, event().bearer(&calendar_only)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "insufficient_scope");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .ends_with("scope=\"read:contacts\"")
    );
    let (status, _, _) = call(&api, event().bearer(&calendar_only).path("/contacts/c-1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_parameters_routes_and_methods() {
    let (api, issuer) = api().await;
    let token = issuer.token(ALICE, "read:contacts");
    for query in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=-1",
        "limit=5&limit=6",
        "limit=1e2",
    ] {
        let (status, _, body) = call(&api, event().bearer(&token).query(query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"], "invalid_request");
    }
    let (status, _, body) = call(&api, event().bearer(&token).query("limit=100")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = call(&api, event().bearer(&token).path("/contacts/a/b")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(&api, event().bearer(&token).path("/nothing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, headers, _) = call(&api, event().bearer(&token).method("DELETE")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET, POST");
    // A named stage prefixes the path; the route still matches.
    let (status, _, _) = call(
        &api,
        event().bearer(&token).stage("prod").path("/prod/contacts"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn cors_for_configured_origins_only() {
    let (api, issuer) = api().await;
    let preflight = |origin: &str| {
        event()
            .method("OPTIONS")
            .without_header("authorization")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
    };
    let (status, headers, _) = call(&api, preflight("http://localhost:3000")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let (status, headers, _) = call(&api, preflight("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get("access-control-allow-origin").is_none());
    let token = issuer.token(ALICE, "read:contacts");
    let (status, headers, _) = call(
        &api,
        event()
            .bearer(&token)
            .header("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("access-control-allow-origin").is_none());
    // Error answers carry CORS headers too, so the SPA can read why it was refused.
    let (status, headers, _) = call(&api, event().without_header("authorization")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert_eq!(
        headers["access-control-expose-headers"],
        "WWW-Authenticate, ETag, Location"
    );
}
