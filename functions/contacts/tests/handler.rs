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
        "WWW-Authenticate, DPoP-Nonce, ETag, Location"
    );
}

fn names(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// `q` finds contacts by name, company or e-mail, in any case and Unicode form, in name order;
/// it never finds another user's, and bad words are a 400.
#[tokio::test]
async fn a_search_finds_by_name_company_or_email_in_any_case() {
    let (api, issuer) = api().await;
    let token = issuer.token(ALICE, "openid read:contacts");
    let search = |q: &str| {
        let query = format!("q={}", urlencode(q));
        call(&api, event().bearer(&token).query(&query))
    };
    let (status, _, body) = search("ADA").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(names(&body), ["Ada Lovelace"]);
    // A company, and an e-mail address's domain.
    let (_, _, body) = search("compiler works").await;
    assert_eq!(names(&body), ["Grace Hopper"]);
    let (_, _, body) = search("@bletchley").await;
    assert!(names(&body).contains(&"Alan Turing".to_string()), "{body}");
    // Nothing found: an empty page, no next.
    let (status, _, body) = search("zzz-nobody").await;
    assert_eq!(status, StatusCode::OK);
    assert!(names(&body).is_empty() && body["next"].is_null(), "{body}");
    // Another user's contacts are never found (Bob has Ada too).
    let bob = issuer.token(BOB, "openid read:contacts");
    let (_, _, body) = call(&api, event().bearer(&bob).query("q=ada")).await;
    assert_eq!(names(&body), ["Ada Lovelace"]);
    let (_, _, body) = call(&api, event().bearer(&bob).query("q=hopper")).await;
    assert_eq!(names(&body), ["Grace Hopper"]);
    let (_, _, body) = call(&api, event().bearer(&bob).query("q=knuth")).await;
    assert!(
        names(&body).is_empty(),
        "Bob has three contacts only: {body}"
    );
    for bad in ["", "   ", &"x".repeat(101), "a\u{1}b"] {
        let (status, _, body) = search(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
        assert_eq!(body["error"], "invalid_request");
    }
}

/// Unicode: a name written with a combining accent is found by the precomposed letter (and
/// the other way), as the API stores text in NFC.
#[tokio::test]
async fn a_search_matches_accents_in_either_unicode_form() {
    let (api, issuer) = api().await;
    let token = issuer.token(ALICE, "openid read:contacts write:contacts");
    let (status, _, _) = call(
        &api,
        event()
            .method("POST")
            .bearer(&token)
            .json_body(&serde_json::json!({"name": "Re\u{301}my Martin"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for q in ["r\u{e9}my", "RE\u{301}MY"] {
        let query = format!("q={}", urlencode(q));
        let (_, _, body) = call(&api, event().bearer(&token).query(&query)).await;
        assert_eq!(names(&body), ["R\u{e9}my Martin"], "{q:?}");
    }
}

/// A search reads at most a bounded number of contacts per request: over 2,500 contacts with
/// one match at the end, pages come back empty with `next` until the match is reached.
#[tokio::test]
async fn a_search_reads_a_bounded_number_of_contacts_per_request() {
    let (api, issuer) = api().await;
    let token = issuer.token("auth0|many", "openid read:contacts write:contacts");
    for i in 0..2_500 {
        let name = if i == 2_499 {
            "Zz Needle".to_string()
        } else {
            format!("Hay {i:04}")
        };
        let (status, _, body) = call(
            &api,
            event()
                .method("POST")
                .bearer(&token)
                .json_body(&serde_json::json!({ "name": name })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut query = "q=needle".to_string();
    let mut requests = 0;
    loop {
        requests += 1;
        let (status, _, body) = call(&api, event().bearer(&token).query(&query)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        match body["next"].as_str() {
            Some(next) => {
                assert!(names(&body).is_empty(), "{body}");
                query = format!("q=needle&cursor={next}");
            }
            None => {
                assert_eq!(names(&body), ["Zz Needle"]);
                break;
            }
        }
    }
    // 2,500 contacts read at most 1,000 a request: three requests.
    assert_eq!(requests, 3);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
