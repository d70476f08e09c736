//! The authorizer's decisions for events built from a fixture, with really signed tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use authorizer::{AuthorizerState, RouteScopes, authorize};
use organizer_shared::testing::TestIssuer;
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("fixtures/apigw-v2-authorizer-request.json");

fn event(route: &str, authorization: Option<&str>) -> Value {
    let mut event: Value = serde_json::from_str(FIXTURE).unwrap();
    event["routeKey"] = json!(route);
    match authorization {
        Some(value) => {
            event["identitySource"] = json!([value]);
            event["headers"]["authorization"] = json!(value);
        }
        None => {
            event.as_object_mut().unwrap().remove("identitySource");
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("authorization");
        }
    }
    event
}

fn state(issuer: &TestIssuer) -> AuthorizerState {
    let verifier = issuer.verifier();
    AuthorizerState::new(
        verifier.clone(),
        RouteScopes::default(),
        organizer_shared::access::AccessCheck::bearer_only(verifier),
    )
}

#[tokio::test]
async fn allows_with_context_only_for_the_routes_scope() {
    let issuer = TestIssuer::new();
    let state = state(&issuer);
    let contacts_only = format!(
        "Bearer {}",
        issuer.token("auth0|alice", "openid read:contacts")
    );
    for route in ["GET /contacts", "GET /contacts/{id}"] {
        let answer = authorize(&state, &event(route, Some(&contacts_only))).await;
        assert_eq!(answer["isAuthorized"], true, "{route}");
        assert_eq!(answer["context"]["sub"], "auth0|alice");
        assert_eq!(answer["context"]["scope"], "openid read:contacts");
        assert_eq!(answer["context"]["client_id"], "spa-client-id");
    }
    // The same token on a calendar route: denied (the decision is per route).
    for route in ["GET /calendar", "GET /calendar/{id}"] {
        assert_eq!(
            authorize(&state, &event(route, Some(&contacts_only))).await,
            json!({"isAuthorized": false}),
            "{route}"
        );
    }
}

#[tokio::test]
async fn everything_wrong_is_a_deny_never_an_error() {
    let issuer = TestIssuer::new();
    let state = state(&issuer);
    let good = format!(
        "Bearer {}",
        issuer.token("auth0|alice", "read:contacts read:calendar")
    );
    let deny = json!({"isAuthorized": false});
    assert_eq!(authorize(&state, &event("GET /contacts", None)).await, deny);
    for value in [
        "Basic abc",
        "Bearer",
        "Bearer not.a.jwt",
        "Bearer a,Bearer b",
        &format!("{good}x"),
    ] {
        assert_eq!(
            authorize(&state, &event("GET /contacts", Some(value))).await,
            deny,
            "{value}"
        );
    }
    assert_eq!(
        authorize(&state, &event("DELETE /contacts", Some(&good))).await,
        deny,
        "unknown route"
    );
    assert_eq!(
        authorize(&state, &event("$default", Some(&good))).await,
        deny
    );
    for malformed in [
        json!(null),
        json!([]),
        json!("x"),
        json!({"routeKey": 5}),
        json!({"routeKey": "GET /contacts", "identitySource": [7]}),
    ] {
        assert_eq!(authorize(&state, &malformed).await, deny, "{malformed}");
    }
    let wrong_scope = format!(
        "Bearer {}",
        issuer.token("auth0|alice", "read:calendar read:contactsX")
    );
    assert_eq!(
        authorize(&state, &event("GET /contacts", Some(&wrong_scope))).await,
        deny
    );
    assert_eq!(
        authorize(&state, &event("GET /contacts", Some(&good))).await["isAuthorized"],
        true
    );
}

#[test]
fn route_scopes_are_configurable() {
    let routes =
        RouteScopes::from_env(&[("ROUTE_SCOPES", "GET /contacts=read:all; GET /x=read:x")])
            .unwrap();
    assert_eq!(routes.scopes_for("GET /contacts"), Some(vec!["read:all"]));
    assert_eq!(routes.scopes_for("GET /calendar"), None);
    assert_eq!(
        RouteScopes::from_env(&[("ROUTE_SCOPES", "")]).unwrap(),
        RouteScopes::default()
    );
    assert_eq!(
        RouteScopes::from_env(&[("ROUTE_SCOPES", "GET /contacts")])
            .unwrap_err()
            .variable,
        "ROUTE_SCOPES"
    );
}

/// With DPoP required: a bound token with a proof for this request (the event's host and raw
/// path) is allowed, and allowed again (the authorizer records no jti: the function does);
/// as Bearer, with another key's proof, for another URL, or a plain bearer token: denied.
#[tokio::test]
async fn with_dpop_the_proof_is_checked_but_not_recorded() {
    use organizer_shared::access::{AccessCheck, AccessConfig, DpopMode, Recording};
    use organizer_shared::dpop::MemoryReplayStore;
    use organizer_shared::testing::DpopKey;

    let issuer = TestIssuer::new();
    let verifier = issuer.verifier();
    let state = AuthorizerState::new(
        verifier.clone(),
        RouteScopes::default(),
        AccessCheck::new(
            verifier,
            AccessConfig {
                mode: DpopMode::Required,
                public_url: None,
            },
            std::sync::Arc::new(MemoryReplayStore::default()),
            Recording::CheckOnly,
        ),
    );
    let key = DpopKey::es256();
    let mut claims = issuer.claims("auth0|alice", "read:contacts");
    claims["cnf"] = json!({"jkt": key.thumbprint()});
    let token = issuer.sign(&claims);
    // API Gateway says https where the fixture does not.
    let url = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/contacts";
    let with_proof = |authorization: &str, proof: &str| {
        let mut e = event("GET /contacts", Some(authorization));
        e["headers"]["dpop"] = json!(proof);
        e
    };
    let proof = key.proof_for("GET", url, &token);
    let allowed = with_proof(&format!("DPoP {token}"), &proof);
    for _ in 0..2 {
        assert_eq!(authorize(&state, &allowed).await["isAuthorized"], true);
    }
    let other = DpopKey::es256().proof_for("GET", url, &token);
    let elsewhere = key.proof_for(
        "GET",
        "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/calendar",
        &token,
    );
    let plain = issuer.token("auth0|alice", "read:contacts");
    for (case, e) in [
        ("as Bearer", with_proof(&format!("Bearer {token}"), &proof)),
        ("another key", with_proof(&format!("DPoP {token}"), &other)),
        (
            "another URL",
            with_proof(&format!("DPoP {token}"), &elsewhere),
        ),
        (
            "no proof",
            event("GET /contacts", Some(&format!("DPoP {token}"))),
        ),
        (
            "a bearer token",
            event("GET /contacts", Some(&format!("Bearer {plain}"))),
        ),
    ] {
        assert_eq!(
            authorize(&state, &e).await,
            json!({"isAuthorized": false}),
            "{case}"
        );
    }
}
