//! DPoP at the contacts handler, with API Gateway events: the `htu` is the URL the client
//! called (the event's scheme, host and raw path, or `PUBLIC_API_URL`), and a proof is served
//! once across two instances of the function sharing the DynamoDB replay table (DynamoDB
//! Local: `ORGANIZER_TEST_DYNAMODB`, started by `make test`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use contacts::Contact;
use http::StatusCode;
use organizer_shared::access::{AccessCheck, AccessConfig, DpopMode, Recording};
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::contract::{dynamodb_local_endpoint, unique_table};
use organizer_shared::dpop::{MemoryReplayStore, ReplayStore};
use organizer_shared::service::{ServiceApi, handle};
use organizer_shared::store::dynamo::{DynamoReplayStore, client, ensure_replay_table};
use organizer_shared::store::memory::MemoryStore;
use organizer_shared::store::{Item, Store, spec};
use organizer_shared::testing::{DpopKey, EventBuilder, TEST_AUDIENCE, TestIssuer, response_parts};
use serde_json::json;

const FIXTURE: &str = include_str!("fixtures/apigw-v2-get-contacts.json");
/// What the fixture's event says the client called.
const CALLED: &str = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/contacts";
const ALICE: &str = "auth0|alice";

async fn store() -> Arc<dyn Store<Contact>> {
    let store = Arc::new(MemoryStore::<Contact>::default());
    for c in Contact::samples(ALICE) {
        store.create(ALICE, &c, None).await.unwrap();
    }
    store
}

fn api(
    issuer: &TestIssuer,
    store: Arc<dyn Store<Contact>>,
    replay: Arc<dyn ReplayStore>,
    public_url: Option<&str>,
) -> ServiceApi<Contact> {
    let verifier = issuer.verifier();
    let access = AccessCheck::new(
        verifier.clone(),
        AccessConfig {
            mode: DpopMode::Required,
            public_url: public_url.map(String::from),
        },
        replay,
        Recording::Record,
    );
    let context = ApiContext::new(
        spec::<Contact>(),
        verifier,
        Cors::new(["http://localhost:3000"]),
        TEST_AUDIENCE,
    )
    .with_access(access);
    ServiceApi { context, store }
}

fn bound_token(issuer: &TestIssuer, key: &DpopKey) -> String {
    let mut claims = issuer.claims(ALICE, "read:contacts");
    claims["cnf"] = json!({"jkt": key.thumbprint()});
    issuer.sign(&claims)
}

fn event(token: &str, proof: &str) -> EventBuilder {
    EventBuilder::from_fixture(FIXTURE)
        .header("authorization", &format!("DPoP {token}"))
        .header("dpop", proof)
}

#[tokio::test]
async fn the_htu_is_the_url_the_client_called() {
    let issuer = TestIssuer::new();
    let key = DpopKey::es256();
    let token = bound_token(&issuer, &key);
    let api = api(
        &issuer,
        store().await,
        Arc::new(MemoryReplayStore::default()),
        None,
    );
    let status = |e: EventBuilder| {
        let api = &api;
        async move { response_parts(&handle(api, e.build()).await).0 }
    };
    // The event's https, Host and raw path.
    assert_eq!(
        status(event(&token, &key.proof_for("GET", CALLED, &token))).await,
        StatusCode::OK
    );
    // The query is not part of it.
    let with_query = event(&token, &key.proof_for("GET", CALLED, &token)).query("limit=2");
    assert_eq!(status(with_query).await, StatusCode::OK);
    // http instead of https, another host, another path: not what was called.
    for url in [
        "http://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/contacts",
        "https://api.example.com/contacts",
        "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/calendar",
    ] {
        let e = event(&token, &key.proof_for("GET", url, &token));
        assert_eq!(status(e).await, StatusCode::UNAUTHORIZED, "{url}");
    }
    // A named stage: the client called /prod/contacts.
    let staged = |url: &str| {
        event(&token, &key.proof_for("GET", url, &token))
            .stage("prod")
            .path("/prod/contacts")
    };
    let prod = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/contacts";
    assert_eq!(status(staged(prod)).await, StatusCode::OK);
    assert_eq!(status(staged(CALLED)).await, StatusCode::UNAUTHORIZED);
    // A custom domain: the Host header the client sent.
    let custom = event(
        &token,
        &key.proof_for("GET", "https://api.example.com/contacts", &token),
    )
    .header("host", "api.example.com");
    assert_eq!(status(custom).await, StatusCode::OK);
}

/// Behind CloudFront the event names API Gateway's host: PUBLIC_API_URL says what the client
/// called.
#[tokio::test]
async fn public_api_url_overrides_the_events_host() {
    let issuer = TestIssuer::new();
    let key = DpopKey::es256();
    let token = bound_token(&issuer, &key);
    let api = api(
        &issuer,
        store().await,
        Arc::new(MemoryReplayStore::default()),
        Some("https://d111111abcdef8.cloudfront.net/api"),
    );
    let call = |url: &str| {
        let e = event(&token, &key.proof_for("GET", url, &token));
        let api = &api;
        async move { response_parts(&handle(api, e.build()).await).0 }
    };
    assert_eq!(
        call("https://d111111abcdef8.cloudfront.net/api/contacts").await,
        StatusCode::OK
    );
    assert_eq!(call(CALLED).await, StatusCode::UNAUTHORIZED);
}

/// Two instances of the function (two clients, one table), twenty copies of one proof at once:
/// exactly one is served, the others get RFC 9449's answer and no data.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_twenty_copies_of_a_proof_across_two_instances_one_is_served() {
    let endpoint = dynamodb_local_endpoint();
    let table = unique_table("dpop-replay");
    let first = client(Some(&endpoint)).await;
    ensure_replay_table(&first, &table).await.unwrap();
    let second = client(Some(&endpoint)).await;
    let issuer = TestIssuer::new();
    let store = store().await;
    let instances = Arc::new([
        api(
            &issuer,
            store.clone(),
            Arc::new(DynamoReplayStore::new(first, table.clone())),
            None,
        ),
        api(
            &issuer,
            store,
            Arc::new(DynamoReplayStore::new(second, table)),
            None,
        ),
    ]);
    let key = DpopKey::es256();
    let token = bound_token(&issuer, &key);
    let proof = key.proof_for("GET", CALLED, &token);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (instances, e) = (instances.clone(), event(&token, &proof));
        tasks.spawn(async move { response_parts(&handle(&instances[i % 2], e.build()).await) });
    }
    let mut served = 0;
    while let Some(answer) = tasks.join_next().await {
        let (status, headers, body) = answer.unwrap();
        if status == StatusCode::OK {
            served += 1;
            continue;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
        assert!(body.get("items").is_none());
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with(
                "DPoP realm=\"organize\", algs=\"ES256\", error=\"invalid_dpop_proof\""
            ),
            "{challenge}"
        );
    }
    assert_eq!(served, 1);
}
