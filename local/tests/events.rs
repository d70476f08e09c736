//! `organizer events` writes, for every service of the manifest, events that the functions
//! answer as events/README.md says.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use authorizer::{AuthorizerState, RouteScopes};
use organizer_local::StoreChoice;
use organizer_local::linked::{self, Stores};
use organizer_local::tenant::Tenant;
use organizer_local::tenant::config::TenantFile;
use organizer_local::tenant::state::StateDir;
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::manifest::manifest;
use organizer_shared::signing::jwks_document;
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
    let files = organizer_local::events::write(&tenant, &dir.join("out"))
        .await
        .unwrap();
    let services = &manifest().services;
    // Per service: list, get, create, replace, delete, no token, wrong scope; and three for
    // the authorizer.
    assert_eq!(files.len(), services.len() * 7 + 3, "{files:?}");

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
    let stores = Stores::new(&StoreChoice::Memory, vec![owner.clone()]).await;
    let cors = Cors::new(["http://localhost:3000"]);
    let mut handlers = HashMap::new();
    for service in services {
        let context = ApiContext::new(service, verifier.clone(), cors.clone(), "organize");
        handlers.insert(
            service.name.clone(),
            linked::handler(context, &stores).await.unwrap(),
        );
    }
    let handler_of = |name: &str| {
        let service = name.split('-').next().unwrap();
        handlers[service].clone()
    };
    let authorizer = AuthorizerState::new(
        verifier.clone(),
        RouteScopes::default(),
        organizer_shared::access::AccessCheck::bearer_only(verifier),
    );

    let read = |name: &str| std::fs::read_to_string(dir.join("out").join(name)).unwrap();
    for service in services {
        let name = &service.name;
        let mut locations = Vec::new();
        for (event, status) in [
            ("list", 200),
            ("get", 200),
            ("list-no-token", 401),
            ("list-wrong-scope", 403),
            ("create", 201),
            ("create", 201),
            ("replace", 200),
            ("delete", 204),
            ("delete", 404),
        ] {
            let file = format!("{name}-{event}.json");
            let request = lambda_http::request::from_str(&read(&file)).unwrap();
            let response = handler_of(&file).call(request).await;
            assert_eq!(response.status().as_u16(), status, "{file}");
            if let Some(location) = response.headers().get("location") {
                locations.push(location.to_str().unwrap().to_string());
            }
        }
        assert_eq!(locations.len(), 2, "{name}: {locations:?}");
        assert_eq!(
            locations[0], locations[1],
            "{name}: a retried create answers the first create's item"
        );
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
        assert_eq!(
            of_mode.len(),
            files.len() - 3,
            "{mode}: every function event"
        );
        for m in of_mode {
            match (m.name.as_str(), &m.outcome) {
                (name, Err(answer)) if name.ends_with("-list-no-token.json") => {
                    assert_eq!(answer, r#"401 {"message":"Unauthorized"}"#, "{mode}")
                }
                (name, Err(answer)) if name.ends_with("-list-wrong-scope.json") => {
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
                    let response = handler_of(name).call(request).await;
                    assert!(response.status().as_u16() < 500, "{mode} {name}");
                }
                (name, outcome) => panic!("{mode} {name}: {outcome:?}"),
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
