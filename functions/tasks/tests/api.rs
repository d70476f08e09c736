//! The tasks API through the generic handler: the `status` filter and the task order, done and
//! undone, the fields' rules (a date, a flag, notes on several lines), and the write semantics
//! every service shares (If-Match, Idempotency-Key, the quota, scopes), attacked in parallel.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use http::StatusCode;
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::service::{ServiceApi, handle};
use organizer_shared::store::memory::MemoryStore;
use organizer_shared::store::spec;
use organizer_shared::testing::{EventBuilder, TEST_AUDIENCE, TestIssuer, response_parts};
use serde_json::{Value, json};
use tasks::Task;

const FIXTURE: &str = include_str!("fixtures/apigw-v2-get-tasks.json");
const ALICE: &str = "auth0|alice";
const BOB: &str = "auth0|bob";
const WRITE: &str = "openid read:tasks write:tasks";

type Api = ServiceApi<Task>;

fn api_with(store: MemoryStore<Task>) -> (Arc<Api>, TestIssuer) {
    let issuer = TestIssuer::new();
    let context = ApiContext::new(
        spec::<Task>(),
        issuer.verifier(),
        Cors::new(["http://localhost:3000"]),
        TEST_AUDIENCE,
    );
    let api = Api {
        context,
        store: Arc::new(store),
    };
    (Arc::new(api), issuer)
}

fn api() -> (Arc<Api>, TestIssuer) {
    api_with(MemoryStore::<Task>::default())
}

fn request(method: &str, path: &str, token: &str) -> EventBuilder {
    EventBuilder::from_fixture(FIXTURE)
        .method(method)
        .path(path)
        .query("")
        .bearer(token)
}

async fn call(api: &Api, event: EventBuilder) -> (StatusCode, http::HeaderMap, Value) {
    response_parts(&handle(api, event.build()).await)
}

async fn create(api: &Api, token: &str, body: Value) -> Value {
    let (status, _, created) = call(api, request("POST", "/tasks", token).json_body(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {created}");
    created
}

async fn titles(api: &Api, token: &str, query: &str) -> Vec<String> {
    let (status, _, body) = call(api, request("GET", "/tasks", token).query(query)).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn open_tasks_by_due_date_then_creation_and_done_ones_apart() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    for (title, due) in [
        ("someday", None),
        ("friday", Some("2026-12-11")),
        ("monday first", Some("2026-12-07")),
        ("monday second", Some("2026-12-07")),
        ("overdue", Some("2026-11-30")),
    ] {
        create(&api, &token, json!({ "title": title, "due": due })).await;
        // Ids carry the creation time in milliseconds: one apart, the order is sure.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let open = [
        "overdue",
        "monday first",
        "monday second",
        "friday",
        "someday",
    ];
    assert_eq!(titles(&api, &token, "").await, open);
    assert_eq!(titles(&api, &token, "status=open").await, open);
    assert!(titles(&api, &token, "status=done").await.is_empty());

    // Done: it leaves the open list for the done one, and comes back when undone.
    let (_, _, list) = call(&api, request("GET", "/tasks", &token)).await;
    let monday = list["items"][1].clone();
    let path = format!("/tasks/{}", monday["id"].as_str().unwrap());
    let done = json!({ "title": "monday first", "due": "2026-12-07", "done": true });
    let (status, headers, body) = call(
        &api,
        request("PUT", &path, &token)
            .header("if-match", "\"1\"")
            .json_body(&done),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["etag"], "\"2\"");
    assert_eq!(body["done"], true);
    assert_eq!(body["created_at"], monday["created_at"]);
    assert_eq!(titles(&api, &token, "status=done").await, ["monday first"]);
    assert_eq!(
        titles(&api, &token, "status=all").await,
        [
            "overdue",
            "monday second",
            "friday",
            "someday",
            "monday first"
        ]
    );
    // Its due date taken away: absent, not kept.
    let undated = json!({ "title": "monday first", "done": false });
    let (status, _, body) = call(
        &api,
        request("PUT", &path, &token)
            .header("if-match", "\"2\"")
            .json_body(&undated),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["due"], Value::Null, "{body}");
    assert_eq!(
        titles(&api, &token, "").await,
        [
            "overdue",
            "monday second",
            "friday",
            "someday",
            "monday first"
        ]
    );
    // Bob sees none of it.
    assert!(
        titles(&api, &issuer.token(BOB, WRITE), "status=all")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn pages_of_one_list_every_task_once_in_order() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    for day in 1..=7 {
        let due = format!("2026-12-{day:02}");
        create(
            &api,
            &token,
            json!({ "title": format!("day {day}"), "due": due, "done": day % 3 == 0 }),
        )
        .await;
    }
    for status in ["open", "done", "all"] {
        let mut cursor: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let query = match &cursor {
                Some(c) => format!("status={status}&limit=2&cursor={c}"),
                None => format!("status={status}&limit=2"),
            };
            let (code, _, body) = call(&api, request("GET", "/tasks", &token).query(&query)).await;
            assert_eq!(code, StatusCode::OK, "{query}: {body}");
            for t in body["items"].as_array().unwrap() {
                seen.push(t["title"].as_str().unwrap().to_string());
            }
            match body["next"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(
            seen,
            titles(&api, &token, &format!("status={status}&limit=100")).await,
            "{status}"
        );
    }
    // A cursor of the open list used for the done list stays in the done list.
    let (_, _, page) = call(&api, request("GET", "/tasks", &token).query("limit=1")).await;
    let open_cursor = page["next"].as_str().unwrap();
    let (_, _, done) = call(
        &api,
        request("GET", "/tasks", &token).query(&format!("status=done&cursor={open_cursor}")),
    )
    .await;
    for t in done["items"].as_array().unwrap() {
        assert_eq!(t["done"], true, "{done}");
    }
}

#[tokio::test]
async fn bad_filters_and_bodies_are_400_naming_the_field_and_rule() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    for query in [
        "status=later",
        "status=",
        "status=OPEN",
        "status=open&status=done",
    ] {
        let (status, _, body) = call(&api, request("GET", "/tasks", &token).query(query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], "invalid_request", "{query}");
    }
    let long_notes = "n".repeat(2001);
    for (body, field, rule) in [
        (json!({}), "title", "required"),
        (json!({"title": ""}), "title", "empty"),
        (json!({"title": "a\nb"}), "title", "control_character"),
        (json!({"title": "t", "due": "2026-02-30"}), "due", "date"),
        (json!({"title": "t", "due": "tomorrow"}), "due", "date"),
        (
            json!({"title": "t", "due": "2026-12-01T00:00:00Z"}),
            "due",
            "date",
        ),
        (json!({"title": "t", "due": 20261201}), "due", "type"),
        (json!({"title": "t", "done": "yes"}), "done", "type"),
        (json!({"title": "t", "done": 1}), "done", "type"),
        (
            json!({"title": "t", "notes": long_notes}),
            "notes",
            "too_long",
        ),
        (
            json!({"title": "t", "notes": "a\u{202E}b"}),
            "notes",
            "control_character",
        ),
        (json!({"title": "t", "priority": 1}), "priority", "unknown"),
        (
            json!({"title": "t", "created_at": "2020-01-01T00:00:00Z"}),
            "created_at",
            "server_set",
        ),
    ] {
        for (method, path) in [("POST", "/tasks"), ("PUT", "/tasks/t-1")] {
            let (status, _, answer) =
                call(&api, request(method, path, &token).json_body(&body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {body}: {answer}");
            assert_eq!(answer["field"], field, "{method} {body}: {answer}");
            assert_eq!(answer["rule"], rule, "{method} {body}: {answer}");
        }
    }
    // Notes keep their line breaks; a missing done is false; a null due is no due date.
    let created = create(
        &api,
        &token,
        json!({"title": "t", "notes": "one\ntwo", "due": null}),
    )
    .await;
    assert_eq!(created["notes"], "one\ntwo");
    assert_eq!(created["done"], false);
    assert_eq!(created["due"], Value::Null);
}

#[tokio::test]
async fn writes_need_write_tasks_and_reads_read_tasks() {
    let (api, issuer) = api();
    let reader = issuer.token(ALICE, "openid read:tasks write:calendar");
    for (method, path) in [
        ("POST", "/tasks"),
        ("PUT", "/tasks/t-1"),
        ("DELETE", "/tasks/t-1"),
    ] {
        let (status, headers, body) = call(
            &api,
            request(method, path, &reader).json_body(&json!({"title": "t"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method}: {body}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("scope=\"write:tasks\"")
        );
    }
    let other = issuer.token(ALICE, "openid read:contacts write:contacts");
    let (status, _, body) = call(&api, request("GET", "/tasks", &other)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
}

/// Forty parallel toggles of one task at one version: exactly one wins, the others are 412
/// with the current task; forty parallel creates with one key make one task.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_writes_to_one_task_let_exactly_one_through() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    let created = create(&api, &token, json!({"title": "contested"})).await;
    let path = format!("/tasks/{}", created["id"].as_str().unwrap());
    let mut handles = Vec::new();
    for i in 0..40 {
        let (api, token, path) = (api.clone(), token.clone(), path.clone());
        handles.push(tokio::spawn(async move {
            let body = json!({"title": format!("contested {i}"), "done": true});
            call(
                &api,
                request("PUT", &path, &token)
                    .header("if-match", "\"1\"")
                    .json_body(&body),
            )
            .await
        }));
    }
    let mut ok = 0;
    for handle in handles {
        let (status, _, body) = handle.await.unwrap();
        match status {
            StatusCode::OK => ok += 1,
            StatusCode::PRECONDITION_FAILED => assert_eq!(body["current"]["done"], true, "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(ok, 1);

    let mut handles = Vec::new();
    for _ in 0..40 {
        let (api, token) = (api.clone(), token.clone());
        handles.push(tokio::spawn(async move {
            call(
                &api,
                request("POST", "/tasks", &token)
                    .header("idempotency-key", "one-key-for-all")
                    .json_body(&json!({"title": "once"})),
            )
            .await
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for handle in handles {
        let (status, _, body) = handle.await.unwrap();
        // Every retry gets the first create's answer.
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.insert(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    // The contested task is done (whoever won); the open list holds the one created task.
    assert_eq!(titles(&api, &token, "").await, ["once"]);
}

#[tokio::test]
async fn a_full_quota_is_409_until_a_task_is_deleted() {
    let (api, issuer) = api_with(MemoryStore::<Task>::with_quota(2));
    let token = issuer.token(ALICE, WRITE);
    let first = create(&api, &token, json!({"title": "one"})).await;
    create(&api, &token, json!({"title": "two"})).await;
    let (status, _, body) = call(
        &api,
        request("POST", "/tasks", &token).json_body(&json!({"title": "three"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "quota_exceeded");
    let path = format!("/tasks/{}", first["id"].as_str().unwrap());
    let (status, _, _) = call(&api, request("DELETE", &path, &token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    create(&api, &token, json!({"title": "three"})).await;
}
