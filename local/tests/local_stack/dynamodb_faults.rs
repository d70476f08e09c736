//! What a client of the API sees when DynamoDB misbehaves: the stack on DynamoDB Local behind
//! a fault-injecting proxy (`common::fault_proxy`). The SDK retries a failed call a bounded
//! number of times (counted at the proxy, never timed); beyond that the client gets a 503 with
//! `Retry-After` and no internals; a create whose answer was lost, retried by the client with
//! its `Idempotency-Key`, creates one item; the quota counter never drifts from the items.
//! (`make check` leaves out the tests with "dynamodb" in their name.)

use organizer_local::{RunningStack, StackOptions, StoreChoice, start};
use organizer_shared::manifest::manifest;
use organizer_shared::store::dynamo::AttributeValue;
use organizer_shared::store::dynamo::{self, DYNAMODB_MAX_ATTEMPTS};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::api::{api_get, machine, machine_token};
use crate::common::fault_proxy::{Fault, FaultProxy};
use crate::common::{repo, temp_dir};

fn dynamodb_local() -> String {
    std::env::var("ORGANIZER_TEST_DYNAMODB")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "DynamoDB Local is not running for this test: run `make test`, which installs \
                 and starts it and sets ORGANIZER_TEST_DYNAMODB"
            )
        })
}

async fn stack_behind(proxy: &FaultProxy) -> RunningStack {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    start(StackOptions {
        tenant_port: 0,
        api_port: 0,
        site_port: 0,
        extra_site_ports: vec![],
        session_check_seconds: organizer_local::site::DEFAULT_SESSION_CHECK_SECONDS,
        tenant_file: repo().join("tenant.yaml"),
        state_dir: temp_dir("organizer-faults"),
        site_dir: repo().join("site"),
        gateway: crate::common::gateway_options(),
        store: StoreChoice::Dynamo {
            endpoint: Some(proxy.endpoint.clone()),
            tables: manifest()
                .services
                .iter()
                .map(|s| (s.name.clone(), format!("faults-{}-{suffix}", s.name)))
                .collect(),
        },
    })
    .await
    .expect("the stack starts on DynamoDB Local behind the proxy")
}

async fn post(
    stack: &RunningStack,
    token: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/contacts", stack.api_url))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Every contact of the machine client, through the API.
async fn all_contacts(stack: &RunningStack, token: &str) -> Vec<Value> {
    let (status, body) = api_get(stack, "/contacts?limit=100", token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["next"].is_null(), "one page holds them");
    body["items"].as_array().unwrap().clone()
}

/// The quota counter of `owner` in the contacts table, read straight from DynamoDB Local.
async fn counter(owner: &str) -> i64 {
    let client = dynamo::client(Some(&dynamodb_local())).await;
    let tables = client.list_tables().limit(100).send().await.unwrap();
    let mut found = None;
    for name in tables.table_names() {
        if name.starts_with("faults-contacts-") {
            let item = client
                .get_item()
                .table_name(name)
                .key("user_id", AttributeValue::S(owner.into()))
                .key("id", AttributeValue::S("#count".into()))
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            if let Some(item) = item.item() {
                found = item
                    .get("item_count")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok());
            }
        }
    }
    found.expect("the contacts table has the machine client's counter")
}

/// A 503 a client can act on: `temporarily_unavailable`, `Retry-After`, nothing of DynamoDB.
fn assert_unavailable(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &Value) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(headers.contains_key("retry-after"), "{headers:?}");
    let text = body.to_string();
    for internal in [
        "Throttling",
        "InternalServerError",
        "dynamodb",
        "DynamoDB",
        "faults-",
    ] {
        assert!(!text.contains(internal), "{internal} leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_faults_are_retried_then_answered_with_503_and_no_write_is_lost_or_doubled() {
    let proxy = FaultProxy::start(&dynamodb_local()).await;
    let stack = stack_behind(&proxy).await;
    let token = machine_token(&stack, None).await;
    let owner = format!("{}@clients", machine(&stack).0);
    let client = reqwest::Client::new();
    let get = |path: &str| {
        client
            .get(format!("{}{path}", stack.api_url))
            .bearer_auth(&token)
            .send()
    };
    let seeded = all_contacts(&stack, &token).await.len();
    assert_eq!(counter(&owner).await, seeded as i64);

    // Throttled twice, then answered: the SDK's retries hide it from the client, not from
    // the metrics (two retries of one call).
    proxy.reset();
    proxy.arm("Query", Fault::Throttle, 2);
    stack.figures.take();
    let response = get("/contacts").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(proxy.seen("Query"), 3);
    let figures = stack.figures.take();
    let listed = &figures[&("contacts".to_string(), "GET /contacts".to_string())];
    assert_eq!(
        listed.counters.get("DynamoDbRetries"),
        Some(&2.0),
        "{listed:?}"
    );
    assert!(
        listed.counters.contains_key("DynamoDbLatency"),
        "{listed:?}"
    );

    // Throttled, failing or too slow at every attempt: a bounded number of attempts, then 503.
    for (operation, path, fault) in [
        ("Query", "/contacts".to_string(), Fault::Throttle),
        ("Query", "/contacts".to_string(), Fault::ServerError),
        (
            "Query",
            "/contacts".to_string(),
            Fault::Slow(std::time::Duration::from_secs(3)),
        ),
        (
            "GetItem",
            format!(
                "/contacts/{}",
                all_contacts(&stack, &token).await[0]["id"]
                    .as_str()
                    .unwrap()
            ),
            Fault::ServerError,
        ),
    ] {
        proxy.reset();
        proxy.arm(operation, fault, 1000);
        stack.figures.take();
        let response = get(&path).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_unavailable(status, &headers, &body);
        assert_eq!(
            proxy.seen(operation),
            DYNAMODB_MAX_ATTEMPTS as usize,
            "{fault:?} on {operation}: the SDK's attempts"
        );
        // The 503 is a 5xx in the metrics, and a throttle that outlasted the retries a
        // DynamoDbThrottled (what the template's alarm watches).
        let figures = stack.figures.take();
        let (_, row) = figures
            .iter()
            .find(|((service, _), _)| service == "contacts")
            .unwrap();
        assert_eq!(row.status, [0, 0, 1], "{fault:?}: {row:?}");
        if matches!(fault, Fault::Throttle) {
            assert_eq!(row.counters.get("DynamoDbThrottled"), Some(&1.0), "{row:?}");
        }
    }

    // A create whose answer is lost once: the SDK retries it, and it is there once.
    proxy.reset();
    proxy.arm("TransactWriteItems", Fault::DropAnswer, 1);
    let (status, headers, body) =
        post(&stack, &token, "lost-once", &json!({"name": "Lost Once"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let location = headers["location"].clone();
    let (status, headers, _) =
        post(&stack, &token, "lost-once", &json!({"name": "Lost Once"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        headers["location"], location,
        "the retry answers the first create"
    );

    // Lost at every attempt: the client hears 503, though DynamoDB did the work; its retry with
    // the same key answers the first create, and nothing is created twice.
    proxy.reset();
    proxy.arm("TransactWriteItems", Fault::DropAnswer, 1000);
    let (status, headers, body) = post(
        &stack,
        &token,
        "lost-always",
        &json!({"name": "Lost Always"}),
    )
    .await;
    assert_unavailable(status, &headers, &body);
    proxy.reset();
    let (status, _, body) = post(
        &stack,
        &token,
        "lost-always",
        &json!({"name": "Lost Always"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let contacts = all_contacts(&stack, &token).await;
    for name in ["Lost Once", "Lost Always"] {
        assert_eq!(
            contacts.iter().filter(|c| c["name"] == name).count(),
            1,
            "{name}: {contacts:?}"
        );
    }
    assert_eq!(contacts.len(), seeded + 2);
    assert_eq!(
        counter(&owner).await,
        contacts.len() as i64,
        "the quota counter"
    );

    // A replace whose answer is lost: the retry with the old If-Match is a 412 whose current
    // item is the replace's own work.
    let target = contacts.iter().find(|c| c["name"] == "Lost Once").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let put = || {
        client
            .put(format!("{}/contacts/{target}", stack.api_url))
            .bearer_auth(&token)
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Renamed"}))
            .send()
    };
    proxy.reset();
    proxy.arm("UpdateItem", Fault::DropAnswer, 1000);
    assert_eq!(
        put().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    proxy.reset();
    let response = put().await.unwrap();
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["current"]["name"], "Renamed", "{body}");

    // A delete whose answer is lost: the item is gone and the counter follows.
    proxy.reset();
    proxy.arm("TransactWriteItems", Fault::DropAnswer, 1000);
    let id = contacts[0]["id"].as_str().unwrap();
    let response = client
        .delete(format!("{}/contacts/{id}", stack.api_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    proxy.reset();
    let response = client
        .delete(format!("{}/contacts/{id}", stack.api_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    // Already gone: the client's retry learns it was deleted.
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let contacts = all_contacts(&stack, &token).await;
    assert_eq!(contacts.len(), seeded + 1);
    assert_eq!(
        counter(&owner).await,
        contacts.len() as i64,
        "the quota counter"
    );
    stack.stop().await;
}
