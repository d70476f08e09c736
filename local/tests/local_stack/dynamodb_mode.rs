//! The stack on DynamoDB Local (`ORGANIZER_TEST_DYNAMODB`, started by `make test`): tables
//! created and seeded at start-up, and served through the API. (`make check` leaves out the
//! tests with "dynamodb" in their name.)

use organizer_local::{StackOptions, StoreChoice, start};
use organizer_shared::manifest::manifest;
use reqwest::StatusCode;

use crate::common::api::{api_get, machine_token};
use crate::common::{repo, temp_dir};

#[tokio::test]
async fn tables_are_created_seeded_and_served() {
    let endpoint = std::env::var("ORGANIZER_TEST_DYNAMODB").ok().filter(|v| !v.is_empty()).unwrap_or_else(|| {
        panic!(
            "DynamoDB Local is not running for this test: run `make test` (README), which installs and starts it \
             and sets ORGANIZER_TEST_DYNAMODB"
        )
    });
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let stack = start(StackOptions {
        tenant_port: 0,
        api_port: 0,
        site_port: 0,
        extra_site_ports: vec![],
        session_check_seconds: organizer_local::site::DEFAULT_SESSION_CHECK_SECONDS,
        tenant_file: repo().join("tenant.yaml"),
        state_dir: temp_dir("organizer-test"),
        site_dir: repo().join("site"),
        gateway: crate::common::gateway_options(),
        store: StoreChoice::Dynamo {
            endpoint: Some(endpoint),
            tables: manifest()
                .services
                .iter()
                .map(|s| (s.name.clone(), format!("{}-{suffix}", s.name)))
                .collect(),
        },
    })
    .await
    .expect("the stack starts on DynamoDB Local");
    let token = machine_token(&stack, None).await;
    // Every service of the manifest is served from its own new table, seeded.
    for service in &manifest().services {
        let (status, body) = api_get(&stack, &format!("/{}?limit=1", service.name), &token).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", service.name);
        assert_eq!(
            body["items"].as_array().unwrap().len(),
            1,
            "{}: {body}",
            service.name
        );
    }
    let (status, body) = api_get(&stack, "/contacts?limit=100", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 20);
    let (status, body) = api_get(&stack, "/calendar?limit=3", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 3);
    assert!(body["next"].is_string());
    stack.stop().await;
}
