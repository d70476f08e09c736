//! The contacts write routes, called directly with API Gateway events: create, replace and
//! delete with their answers (201 + Location + ETag, 200 + ETag, 204), `If-Match` (412 with
//! the current item), `Idempotency-Key` (the first answer again, or 422), the quota (409), the
//! scope (`write:contacts`, never `permissions`), and every bad input as a 4xx naming the field.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use contacts::Contact;
use http::StatusCode;
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::service::{ServiceApi, handle};
use organizer_shared::store::memory::MemoryStore;
use organizer_shared::testing::{EventBuilder, TEST_AUDIENCE, TestIssuer, response_parts};
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("fixtures/apigw-v2-get-contacts.json");
const ALICE: &str = "auth0|alice";
const BOB: &str = "auth0|bob";
const WRITE: &str = "openid read:contacts write:contacts";

fn api_with(store: MemoryStore<Contact>) -> (ServiceApi<contacts::Contact>, TestIssuer) {
    let issuer = TestIssuer::new();
    let context = ApiContext::new(
        organizer_shared::store::spec::<contacts::Contact>(),
        issuer.verifier(),
        Cors::new(["http://localhost:3000"]),
        TEST_AUDIENCE,
    );
    (
        ServiceApi::<contacts::Contact> {
            context,
            store: Arc::new(store),
        },
        issuer,
    )
}

fn api() -> (ServiceApi<contacts::Contact>, TestIssuer) {
    api_with(MemoryStore::<Contact>::default())
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

fn post(token: &str, body: &Value) -> EventBuilder {
    event().method("POST").bearer(token).json_body(body)
}

fn put(token: &str, id: &str, body: &Value) -> EventBuilder {
    event()
        .method("PUT")
        .path(&format!("/contacts/{id}"))
        .bearer(token)
        .json_body(body)
}

fn delete(token: &str, id: &str) -> EventBuilder {
    event()
        .method("DELETE")
        .path(&format!("/contacts/{id}"))
        .bearer(token)
}

#[tokio::test]
async fn create_read_replace_delete() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    let (status, headers, created) = call(
        &api,
        post(
            &token,
            &json!({"name": "  Ada Lovelace ", "email": "ada@example.com", "phone": "+44 1", "company": "AE"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(headers["location"], format!("/contacts/{id}").as_str());
    assert_eq!(headers["etag"], "\"1\"");
    assert_eq!(created["name"], "Ada Lovelace", "trimmed");
    assert_eq!(created["created_at"], created["updated_at"]);
    // GET carries the same ETag.
    let (status, headers, got) = call(
        &api,
        event().path(&format!("/contacts/{id}")).bearer(&token),
    )
    .await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    assert_eq!(headers["etag"], "\"1\"");
    // PUT replaces every editable field: what is left out is cleared.
    let (status, headers, replaced) = call(
        &api,
        put(&token, &id, &json!({"name": "Ada King"})).header("if-match", "\"1\""),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(headers["etag"], "\"2\"");
    assert_eq!(replaced["name"], "Ada King");
    assert_eq!(replaced["email"], "");
    assert_eq!(replaced["created_at"], created["created_at"]);
    // Bob cannot see, change or delete it: 404, as for an unknown id.
    let bob = issuer.token(BOB, WRITE);
    for request in [
        event().path(&format!("/contacts/{id}")).bearer(&bob),
        put(&bob, &id, &json!({"name": "Mallory"})),
        delete(&bob, &id),
    ] {
        let (status, _, body) = call(&api, request).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
    }
    let (status, _, body) = call(&api, delete(&token, &id)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _, _) = call(&api, delete(&token, &id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_stale_if_match_is_412_with_the_current_item_and_changes_nothing() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    let (_, _, created) = call(&api, post(&token, &json!({"name": "Grace"}))).await;
    let id = created["id"].as_str().unwrap().to_string();
    // Tab A saves first; tab B still holds version 1.
    let (status, _, _) = call(
        &api,
        put(&token, &id, &json!({"name": "Grace Hopper"})).header("if-match", "\"1\""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, body) = call(
        &api,
        put(&token, &id, &json!({"name": "Grace B."})).header("if-match", "\"1\""),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    assert_eq!(body["error"], "precondition_failed");
    assert_eq!(body["current"]["name"], "Grace Hopper");
    assert_eq!(headers["etag"], "\"2\"");
    let (status, _, _) = call(&api, delete(&token, &id).header("if-match", "\"1\"")).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (_, _, now) = call(
        &api,
        event().path(&format!("/contacts/{id}")).bearer(&token),
    )
    .await;
    assert_eq!(now["name"], "Grace Hopper", "nothing changed");
    // A malformed If-Match is a 400.
    let (status, _, _) = call(&api, delete(&token, &id).header("if-match", "W/\"2\"")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_idempotency_key_answers_a_retry_with_the_first_answer() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    let body = json!({"name": "Katherine Johnson"});
    let first = call(&api, post(&token, &body).header("idempotency-key", "k-1")).await;
    assert_eq!(first.0, StatusCode::CREATED);
    // The same body again (whitespace aside): the first answer, nothing created.
    let again = call(
        &api,
        post(&token, &json!({"name": " Katherine Johnson"})).header("idempotency-key", "k-1"),
    )
    .await;
    assert_eq!((again.0, &again.2), (StatusCode::CREATED, &first.2));
    assert_eq!(again.1["location"], first.1["location"]);
    let (_, _, list) = call(&api, event().bearer(&token)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // The same key with another body: 422.
    let (status, _, other) = call(
        &api,
        post(&token, &json!({"name": "Someone else"})).header("idempotency-key", "k-1"),
    )
    .await;
    assert_eq!(
        (status, other["error"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("idempotency_key_reused")
        )
    );
    // Keys are per user: Bob's k-1 is his own.
    let bob = issuer.token(BOB, WRITE);
    let (status, _, _) = call(&api, post(&bob, &body).header("idempotency-key", "k-1")).await;
    assert_eq!(status, StatusCode::CREATED);
    // A key longer than 200 characters, or not printable, is a 400.
    let (status, _, _) = call(
        &api,
        post(&token, &body).header("idempotency-key", &"k".repeat(201)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn twenty_parallel_retries_with_one_key_create_one_contact() {
    let (api, issuer) = api();
    let api = Arc::new(api);
    let token = issuer.token(ALICE, WRITE);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (api, token) = (api.clone(), token.clone());
            tokio::spawn(async move {
                call(
                    &api,
                    post(&token, &json!({"name": "Once"})).header("idempotency-key", "same"),
                )
                .await
                .0
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::CREATED);
    }
    let (_, _, list) = call(&api, event().bearer(&token)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_full_quota_is_409_and_a_delete_gives_room_back() {
    let (api, issuer) = api_with(MemoryStore::<Contact>::with_quota(2));
    let token = issuer.token(ALICE, WRITE);
    let mut ids = Vec::new();
    for name in ["A", "B"] {
        let (status, _, body) = call(&api, post(&token, &json!({"name": name}))).await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let (status, _, body) = call(&api, post(&token, &json!({"name": "C"}))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("quota_exceeded"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("2 contacts"),
        "{body}"
    );
    call(&api, delete(&token, &ids[0])).await;
    let (status, _, _) = call(&api, post(&token, &json!({"name": "C"}))).await;
    assert_eq!(status, StatusCode::CREATED);
}

/// Every write route needs write:contacts in `scope`: a read-only token, and an Editor's token
/// whose `permissions` list write:contacts but whose `scope` does not, are 403 naming it.
#[tokio::test]
async fn writes_need_the_write_scope_in_scope() {
    let (api, issuer) = api();
    let reader = issuer.token(ALICE, "openid read:contacts");
    let mut claims = issuer.claims(ALICE, "openid read:contacts");
    claims["permissions"] = json!(["read:contacts", "write:contacts"]);
    let editor_reading = issuer.sign(&claims);
    for token in [&reader, &editor_reading] {
        for request in [
            post(token, &json!({"name": "X"})),
            put(token, "c-1", &json!({"name": "X"})),
            delete(token, "c-1"),
        ] {
            let (status, headers, body) = call(&api, request).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
            assert_eq!(body["error"], "insufficient_scope");
            assert!(
                headers["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .contains("scope=\"write:contacts\""),
                "{headers:?}"
            );
        }
    }
    // The write scope does not read: GET needs read:contacts.
    let writer = issuer.token(ALICE, "write:contacts");
    let (status, _, _) = call(&api, event().bearer(&writer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_input_is_a_4xx_that_names_the_field() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    let long = "x".repeat(201);
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "name is required"),
        (json!({"name": ""}), "name must not be empty"),
        (json!({"name": "   "}), "name must not be empty"),
        (json!({"name": 42}), "name must be a string"),
        (json!({"name": long}), "name is longer than 200"),
        (
            json!({"name": "a\u{0007}b"}),
            "name contains a control character",
        ),
        (json!({"name": "a\nb"}), "name contains a control character"),
        (json!({"name": "A", "email": "not-an-address"}), "email"),
        (
            json!({"name": "A", "email": format!("{}@example.com", "a".repeat(250))}),
            "email",
        ),
        (
            json!({"name": "A", "phone": "1".repeat(41)}),
            "phone is longer than 40",
        ),
        (
            json!({"name": "A", "company": "c".repeat(201)}),
            "company is longer than 200",
        ),
        (
            json!({"name": "A", "id": "c-mine"}),
            "id is set by the server",
        ),
        (
            json!({"name": "A", "user_id": "auth0|bob"}),
            "user_id is set by the server",
        ),
        (
            json!({"name": "A", "created_at": "2020-01-01T00:00:00Z"}),
            "created_at is set by the server",
        ),
        (
            json!({"name": "A", "updated_at": "2020-01-01T00:00:00Z"}),
            "updated_at is set by the server",
        ),
        (
            json!({"name": "A", "nickname": "a"}),
            "unknown field \"nickname\"",
        ),
        (json!(["name", "A"]), "JSON object"),
    ];
    for (body, says) in cases {
        for request in [post(&token, &body), put(&token, "c-1", &body)] {
            let (status, _, answer) = call(&api, request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
            assert_eq!(answer["error"], "invalid_request");
            assert!(
                answer["error_description"].as_str().unwrap().contains(says),
                "{body}: {answer}"
            );
        }
    }
    // Malformed JSON, a repeated field.
    for (text, says) in [
        ("{\"name\":", "JSON object"),
        ("{\"name\":\"a\",\"name\":\"b\"}", "name is repeated"),
    ] {
        let (status, _, answer) = call(
            &api,
            event()
                .method("POST")
                .bearer(&token)
                .header("content-type", "application/json")
                .body(text),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(
            answer["error_description"].as_str().unwrap().contains(says),
            "{answer}"
        );
    }
    // Another content type: 415; over 16 KiB: 413.
    let (status, _, answer) = call(
        &api,
        event()
            .method("POST")
            .bearer(&token)
            .header("content-type", "text/plain")
            .body("{\"name\":\"A\"}"),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    let big = json!({"name": "A", "company": "x".repeat(17 * 1024)});
    let (status, _, _) = call(&api, post(&token, &big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // A bad id in the path; methods not listed: 405 with the right Allow.
    let (status, _, _) = call(&api, put(&token, "a%20b", &json!({"name": "A"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, headers, _) = call(
        &api,
        event().method("PATCH").path("/contacts/c-1").bearer(&token),
    )
    .await;
    assert_eq!(
        (status, headers["allow"].to_str().unwrap()),
        (StatusCode::METHOD_NOT_ALLOWED, "GET, PUT, DELETE")
    );
    let (status, headers, _) = call(&api, event().method("PUT").bearer(&token)).await;
    assert_eq!(
        (status, headers["allow"].to_str().unwrap()),
        (StatusCode::METHOD_NOT_ALLOWED, "GET, POST")
    );
    // Nothing was created by any of it.
    let (_, _, list) = call(&api, event().bearer(&token)).await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn preflights_allow_the_write_methods_and_headers() {
    let (api, _) = api();
    let (status, headers, _) = call(
        &api,
        event()
            .method("OPTIONS")
            .without_header("authorization")
            .header("origin", "http://localhost:3000")
            .header("access-control-request-method", "PUT")
            .header(
                "access-control-request-headers",
                "authorization, content-type, if-match",
            ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        headers["access-control-allow-methods"],
        "GET, POST, PUT, DELETE, OPTIONS"
    );
    assert_eq!(
        headers["access-control-allow-headers"],
        "authorization, content-type, dpop, if-match, idempotency-key"
    );
}

/// A contact named with 200 characters whose lower case takes 3 or 4 bytes each (CJK,
/// mathematical letters) is still pageable: the `next` cursor of a page ending on it is
/// accepted, and paging one at a time lists every contact once.
#[tokio::test]
async fn the_longest_names_in_any_script_can_be_paged_past() {
    let (api, issuer) = api();
    let token = issuer.token(ALICE, WRITE);
    let long = |c: char| std::iter::repeat_n(c, 200).collect::<String>();
    let names = [long('漢'), long('𝔄'), long('İ'), long('a')];
    for name in &names {
        let (status, _, body) = call(&api, post(&token, &json!({ "name": name }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=1&cursor={c}"),
            None => "limit=1".to_string(),
        };
        let (status, _, body) = call(&api, event().bearer(&token).query(&query)).await;
        assert_eq!(status, StatusCode::OK, "page {}: {body}", seen.len() + 1);
        for item in body["items"].as_array().unwrap() {
            seen.push(item["name"].as_str().unwrap().to_string());
        }
        match body["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let mut expected = names.to_vec();
    expected.sort_by_key(|n| n.to_lowercase());
    assert_eq!(seen, expected);
}
