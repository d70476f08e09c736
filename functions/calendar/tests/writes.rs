//! The calendar write routes: the same rules as contacts (see functions/contacts/tests/
//! writes.rs), with the event's own fields: a title, RFC 3339 times with an offset (`end`
//! after `start`, at most 31 days apart), a location, at most 50 attendee addresses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use http::StatusCode;
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::service::{ServiceApi, handle};
use organizer_shared::store::Item;
use organizer_shared::store::memory::MemoryStore;
use organizer_shared::testing::{EventBuilder, TEST_AUDIENCE, TestIssuer, response_parts};
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("fixtures/apigw-v2-get-calendar.json");
const ALICE: &str = "auth0|alice";
const WRITE: &str = "openid read:calendar write:calendar";

fn api() -> (ServiceApi<calendar::Event>, TestIssuer) {
    let issuer = TestIssuer::new();
    let context = ApiContext::new(
        organizer_shared::store::spec::<calendar::Event>(),
        issuer.verifier(),
        Cors::new(["http://localhost:3000"]),
        TEST_AUDIENCE,
    );
    let store = Arc::new(MemoryStore::<calendar::Event>::default());
    (ServiceApi::<calendar::Event> { context, store }, issuer)
}

async fn call(
    api: &ServiceApi<calendar::Event>,
    event: EventBuilder,
) -> (StatusCode, http::HeaderMap, Value) {
    response_parts(&handle(api, event.build()).await)
}

fn request(method: &str, path: &str, token: &str) -> EventBuilder {
    EventBuilder::from_fixture(FIXTURE)
        .method(method)
        .path(path)
        .query("")
        .bearer(token)
}

fn meeting() -> Value {
    json!({
        "title": "Design review",
        "start": "2026-12-01T10:00:00+01:00",
        "end": "2026-12-01T11:30:00+01:00",
        "location": "Room 2.11",
        "attendees": ["ada@example.com", "grace@example.com"]
    })
}

#[tokio::test]
async fn create_replace_delete_an_event() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    let (status, headers, created) = call(
        &api,
        request("POST", "/calendar", &token).json_body(&meeting()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(headers["location"], format!("/calendar/{id}").as_str());
    assert_eq!(headers["etag"], "\"1\"");
    // Stored in UTC, whole seconds, as listings sort them.
    assert_eq!(created["start"], "2026-12-01T09:00:00Z");
    assert_eq!(created["end"], "2026-12-01T10:30:00Z");
    let moved = json!({"title": "Design review", "start": "2026-12-02T09:00:00Z", "end": "2026-12-02T10:00:00Z"});
    let path = format!("/calendar/{id}");
    let (status, headers, replaced) = call(
        &api,
        request("PUT", &path, &token)
            .header("if-match", "\"1\"")
            .json_body(&moved),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(headers["etag"], "\"2\"");
    assert_eq!(
        replaced["attendees"],
        json!([]),
        "PUT replaces all editable fields"
    );
    // The listing window follows the new start.
    let (_, _, list) = call(
        &api,
        request("GET", "/calendar", &token)
            .query("from=2026-12-02T00:00:00Z&to=2026-12-03T00:00:00Z"),
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let (status, _, _) = call(
        &api,
        request("DELETE", &path, &token).header("if-match", "\"1\""),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = call(
        &api,
        request("DELETE", &path, &token).header("if-match", "\"2\""),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn event_fields_are_checked() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    let with = |patch: Value| {
        let mut body = meeting();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let many: Vec<String> = (0..51).map(|i| format!("p{i}@example.com")).collect();
    for (body, says, (field, index, rule)) in [
        (
            with(json!({"title": null})),
            "title is required",
            ("title", None, "required"),
        ),
        (
            with(json!({"title": "t".repeat(201)})),
            "title is longer than 200",
            ("title", None, "too_long"),
        ),
        (
            with(json!({"start": null})),
            "start is required",
            ("start", None, "required"),
        ),
        (
            with(json!({"start": "2026-12-01T10:00:00"})),
            "start must be an RFC 3339 time with an offset",
            ("start", None, "time"),
        ),
        (
            with(json!({"end": "tomorrow"})),
            "end must be an RFC 3339 time",
            ("end", None, "time"),
        ),
        (
            with(json!({"end": "2026-12-01T10:00:00+01:00"})),
            "end must be after start",
            ("end", None, "end_after_start"),
        ),
        (
            with(json!({"end": "2026-12-01T08:00:00Z"})),
            "end must be after start",
            ("end", None, "end_after_start"),
        ),
        (
            with(json!({"end": "2027-01-02T10:00:00+01:00"})),
            "at most 31 days",
            ("end", None, "duration"),
        ),
        (
            with(json!({"location": "l".repeat(201)})),
            "location is longer than 200",
            ("location", None, "too_long"),
        ),
        (
            with(json!({"attendees": many})),
            "attendees has more than 50",
            ("attendees", None, "too_many"),
        ),
        (
            with(json!({"attendees": ["Ada Lovelace"]})),
            "attendees[0]",
            ("attendees", Some(0), "email"),
        ),
        (
            with(json!({"attendees": "ada@example.com"})),
            "attendees must be a list",
            ("attendees", None, "type"),
        ),
        (
            with(json!({"attendees": [7]})),
            "attendees[0] must be a string",
            ("attendees", Some(0), "type"),
        ),
        (
            with(json!({"user_id": "auth0|bob"})),
            "user_id is set by the server",
            ("user_id", None, "server_set"),
        ),
        (
            with(json!({"colour": "red"})),
            "unknown field \"colour\"",
            ("colour", None, "unknown"),
        ),
    ] {
        for (method, path) in [("POST", "/calendar"), ("PUT", "/calendar/e-1")] {
            let (status, _, answer) =
                call(&api, request(method, path, &token).json_body(&body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {body}: {answer}");
            assert!(
                answer["error_description"].as_str().unwrap().contains(says),
                "{body}: {answer}"
            );
            // The error names the field, the list entry and the rule, for a form to show.
            assert_eq!(answer["error"], "invalid_request", "{answer}");
            assert_eq!(answer["field"], field, "{body}: {answer}");
            assert_eq!(answer["index"], json!(index), "{body}: {answer}");
            assert_eq!(answer["rule"], rule, "{body}: {answer}");
        }
    }
    // 31 days exactly is allowed.
    let (status, _, answer) = call(
        &api,
        request("POST", "/calendar", &token)
            .json_body(&with(json!({"end": "2027-01-01T10:00:00+01:00"}))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test]
async fn writes_need_write_calendar_in_scope() {
    let (api, issuer) = api();
    let reader = issuer.token(ALICE, "openid read:calendar write:contacts");
    for (method, path) in [
        ("POST", "/calendar"),
        ("PUT", "/calendar/e-1"),
        ("DELETE", "/calendar/e-1"),
    ] {
        let (status, headers, body) =
            call(&api, request(method, path, &reader).json_body(&meeting())).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("insufficient_scope")),
            "{method}"
        );
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("scope=\"write:calendar\"")
        );
    }
}

/// The sample agenda passes the API's own rules: any sample event can be saved unchanged.
#[tokio::test]
async fn sample_events_can_be_saved_unchanged() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    organizer_shared::store::sample::seed(ALICE, api.store.as_ref())
        .await
        .unwrap();
    for event in calendar::Event::samples(ALICE) {
        let body = serde_json::to_value(event.fields()).unwrap();
        let (status, _, answer) = call(
            &api,
            request("PUT", &format!("/calendar/{}", event.id()), &token).json_body(&body),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
    }
}
