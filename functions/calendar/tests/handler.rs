//! The calendar handler, called directly with API Gateway events built from a fixture.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use calendar::{Event, EventFields};
use http::StatusCode;
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::service::{ServiceApi, handle};
use organizer_shared::store::Store;
use organizer_shared::store::memory::MemoryStore;
use organizer_shared::testing::{EventBuilder, TEST_AUDIENCE, TestIssuer, response_json};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/apigw-v2-get-calendar.json");
const ALICE: &str = "auth0|alice";
const BOB: &str = "auth0|bob";

fn ev(id: &str, start: &str) -> Event {
    Event {
        id: id.into(),
        fields: EventFields {
            title: format!("Meeting {id}"),
            start: start.into(),
            end: start.into(),
            location: "Room 1".into(),
            attendees: vec!["Ada Lovelace".into()],
        },
    }
}

async fn api() -> (ServiceApi<calendar::Event>, TestIssuer) {
    let issuer = TestIssuer::new();
    let store = Arc::new(MemoryStore::<Event>::default());
    for day in 1..=28 {
        store
            .create(
                ALICE,
                &ev(
                    &format!("e-{day:02}"),
                    &format!("2026-02-{day:02}T09:00:00Z"),
                ),
                None,
            )
            .await
            .unwrap();
    }
    store
        .create(BOB, &ev("e-bob", "2026-02-10T12:00:00Z"), None)
        .await
        .unwrap();
    let context = ApiContext::new(
        organizer_shared::store::spec::<calendar::Event>(),
        issuer.verifier(),
        Cors::new(["http://localhost:3000"]),
        TEST_AUDIENCE,
    );
    (ServiceApi::<calendar::Event> { context, store }, issuer)
}

async fn call(api: &ServiceApi<calendar::Event>, event: EventBuilder) -> (StatusCode, Value) {
    let response = handle(api, event.build()).await;
    (response.status(), response_json(&response))
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn lists_events_in_a_window_by_start_in_pages() {
    let (api, issuer) = api().await;
    let token = issuer.token(ALICE, "read:calendar");
    let event = || EventBuilder::from_fixture(FIXTURE).bearer(&token);
    // Offsets are normalized: 10:00+01:00 is 09:00Z, so the 10th is included and the 20th is not.
    let query = "from=2026-02-10T10:00:00%2B01:00&to=2026-02-20T09:00:00Z&limit=4";
    let (status, body) = call(&api, event().query(query)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut all = ids(&body);
    let mut next = body["next"].as_str().map(String::from);
    while let Some(cursor) = next {
        let (status, body) = call(&api, event().query(&format!("{query}&cursor={cursor}"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        all.extend(ids(&body));
        next = body["next"].as_str().map(String::from);
    }
    let expected: Vec<String> = (10..20).map(|d| format!("e-{d:02}")).collect();
    assert_eq!(all, expected);
    let (_, body) = call(&api, event()).await;
    assert_eq!(ids(&body).len(), 28);
    assert!(!ids(&body).contains(&"e-bob".to_string()));
}

#[tokio::test]
async fn one_event_by_id_and_never_someone_elses() {
    let (api, issuer) = api().await;
    let token = issuer.token(ALICE, "read:calendar");
    let event = || EventBuilder::from_fixture(FIXTURE).bearer(&token);
    let (status, body) = call(&api, event().path("/calendar/e-05")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["start"], "2026-02-05T09:00:00Z");
    assert_eq!(body["attendees"][0], "Ada Lovelace");
    let (status, _) = call(&api, event().path("/calendar/e-bob")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&api, event().path("/calendar/e.05")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_windows_are_400() {
    let (api, issuer) = api().await;
    let token = issuer.token(ALICE, "read:calendar");
    for query in [
        "from=yesterday",
        "to=2026-02-30T00:00:00Z",
        "from=2026-02-10",
        "from=2026-02-20T00:00:00Z&to=2026-02-10T00:00:00Z",
        "from=2026-02-10T00:00:00Z&from=2026-02-11T00:00:00Z",
        "limit=1000",
    ] {
        let (status, body) = call(
            &api,
            EventBuilder::from_fixture(FIXTURE)
                .bearer(&token)
                .query(query),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"], "invalid_request", "{query}");
    }
}

#[tokio::test]
async fn needs_read_calendar_exactly() {
    let (api, issuer) = api().await;
    for scope in ["read:contacts", "read:calendars", "read:calendar:all", ""] {
        let token = issuer.token(ALICE, scope);
        let response = handle(
            &api,
            EventBuilder::from_fixture(FIXTURE).bearer(&token).build(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{scope}");
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .ends_with("scope=\"read:calendar\"")
        );
    }
    let (status, _) = call(
        &api,
        EventBuilder::from_fixture(FIXTURE).without_header("authorization"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
