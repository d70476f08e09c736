//! `organizer events` writes events that the three functions answer as the README says.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::path::PathBuf;
use std::sync::Arc;

use authorizer::{AuthorizerState, RouteScopes};
use organizer_local::tenant::Tenant;
use organizer_local::tenant::config::TenantFile;
use organizer_local::tenant::state::StateDir;
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::routes::Service;
use organizer_shared::signing::jwks_document;
use organizer_shared::store::memory::{MemoryContactStore, MemoryEventStore};
use organizer_shared::store::sample;
use organizer_shared::{AuthConfig, JwksCache, TokenVerifier};
use serde_json::Value;

#[tokio::test]
async fn minted_events_get_the_documented_answers() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!(
        "organizer-events-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let state = StateDir::open(dir.join("state")).unwrap();
    let issuer = "http://localhost:4000/".to_string();
    let tenant = Tenant::load(
        issuer.clone(),
        TenantFile::load(&repo.join("tenant.yaml")).unwrap(),
        &state,
    )
    .unwrap();
    let files =
        organizer_local::events::write(&tenant, &repo.join("events"), &dir.join("out")).unwrap();
    assert_eq!(files.len(), 15);

    // The functions as configured for the dev tenant, trusting its keys.
    let config = AuthConfig::for_issuer(issuer, "organize");
    let cache = JwksCache::new(&config).unwrap();
    cache
        .load(
            jwks_document(tenant.keys.keys.iter())
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    let verifier = Arc::new(TokenVerifier::new(&config, cache));
    let owner = format!(
        "{}@clients",
        tenant.client_by_name("Organizer Machine").unwrap().id
    );
    let contacts_store = Arc::new(MemoryContactStore::default());
    let events_store = Arc::new(MemoryEventStore::default());
    sample::seed(&owner, contacts_store.as_ref(), events_store.as_ref())
        .await
        .unwrap();
    let cors = Cors::new(["http://localhost:3000"]);
    let contacts_api = contacts::ContactsApi {
        context: ApiContext::new(
            Service::Contacts,
            verifier.clone(),
            cors.clone(),
            "organize",
        ),
        store: contacts_store,
    };
    let calendar_api = calendar::CalendarApi {
        context: ApiContext::new(Service::Calendar, verifier.clone(), cors, "organize"),
        store: events_store,
    };
    let authorizer = AuthorizerState {
        verifier,
        routes: RouteScopes::default(),
    };

    let read = |name: &str| std::fs::read_to_string(dir.join("out").join(name)).unwrap();
    for (name, status) in [
        ("contacts-list.json", 200),
        ("contacts-get.json", 200),
        ("contacts-list-no-token.json", 401),
        ("calendar-list.json", 200),
        ("calendar-get.json", 200),
        ("calendar-list-wrong-scope.json", 403),
        ("contacts-create.json", 201),
        ("contacts-create.json", 201),
        ("contacts-replace.json", 200),
        ("contacts-delete.json", 204),
        ("contacts-delete.json", 404),
        ("calendar-create.json", 201),
        ("calendar-replace.json", 200),
        ("calendar-delete.json", 204),
    ] {
        let request = lambda_http::request::from_str(&read(name)).unwrap();
        let response = if name.starts_with("contacts") {
            contacts::handle(&contacts_api, request).await
        } else {
            calendar::handle(&calendar_api, request).await
        };
        assert_eq!(response.status().as_u16(), status, "{name}");
    }
    for (name, allowed) in [
        ("authorizer-valid.json", true),
        ("authorizer-missing-header.json", false),
        ("authorizer-wrong-scope.json", false),
    ] {
        let event: Value = serde_json::from_str(&read(name)).unwrap();
        assert_eq!(
            authorizer::authorize(&authorizer, &event).await["isAuthorized"],
            allowed,
            "{name}"
        );
    }

    // The same requests as the template's API Gateway sends them in each authorizer mode: the
    // authorizer's part filled, and none for what the gateway answers itself.
    let template = organizer_local::gateway::TemplateOptions {
        path: repo.join("template.yaml"),
        overrides: Default::default(),
    };
    let modes = organizer_local::events::write_modes(
        &tenant,
        &files,
        &dir.join("out"),
        &template,
        &["lambda", "jwt"],
    )
    .await
    .unwrap();
    for mode in ["lambda", "jwt"] {
        let of_mode: Vec<_> = modes.iter().filter(|m| m.mode == mode).collect();
        assert_eq!(of_mode.len(), 12, "{mode}: every function event");
        for m in of_mode {
            match (m.name.as_str(), &m.outcome) {
                ("contacts-list-no-token.json", Err(answer)) => {
                    assert_eq!(answer, r#"401 {"message":"Unauthorized"}"#, "{mode}")
                }
                ("calendar-list-wrong-scope.json", Err(answer)) => {
                    assert_eq!(answer, r#"403 {"message":"Forbidden"}"#, "{mode}")
                }
                (name, Ok(path)) => {
                    let event: Value =
                        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                    let authorizer = &event["requestContext"]["authorizer"];
                    if mode == "lambda" {
                        assert_eq!(authorizer["lambda"]["sub"], owner.as_str(), "{name}");
                    } else {
                        assert_eq!(authorizer["jwt"]["claims"]["sub"], owner.as_str(), "{name}");
                        assert!(authorizer["jwt"]["scopes"].is_array(), "{name}");
                    }
                    // The functions answer it as they answer the event without it.
                    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
                    let response = if name.starts_with("contacts") {
                        contacts::handle(&contacts_api, request).await
                    } else {
                        calendar::handle(&calendar_api, request).await
                    };
                    assert!(response.status().as_u16() < 500, "{mode} {name}");
                }
                (name, outcome) => panic!("{mode} {name}: {outcome:?}"),
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
