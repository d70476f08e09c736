//! The route table (`organizer_shared::routes::ROUTES`) is the one definition of the API's
//! routes. `template.yaml` and `events/` cannot import it, so these tests fail when they
//! disagree with it: a route added to the table but not to the template (or the reverse), a
//! route whose integration points at another function, a Lambda-authorizer route missing,
//! a JWT-authorizer route whose `AuthorizationScopes` differ, a route without a sample event.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::BTreeSet;
use std::path::PathBuf;

use organizer_shared::routes::ROUTES;
use serde_norway::Value;
use serde_norway::value::TaggedValue;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Value {
    let text = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// `!If [condition, then, else]` as (condition, then, else).
fn fn_if(value: &Value) -> Option<(&str, &Value, &Value)> {
    let Value::Tagged(tagged) = value else {
        return None;
    };
    let TaggedValue { tag, value } = tagged.as_ref();
    if *tag != "If" {
        return None;
    }
    let items = value.as_sequence()?;
    Some((items.first()?.as_str()?, items.get(1)?, items.get(2)?))
}

/// The text of a scalar or of a tagged scalar (`!Sub "..."`).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Tagged(t) => text(&t.value),
        Value::Sequence(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        other => format!("{other:?}"),
    }
}

/// The operations of the HTTP API's OpenAPI body: (route key, operation).
fn operations(template: &Value) -> Vec<(String, Value)> {
    let paths = &template["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"];
    let paths = paths.as_mapping().expect("Api's DefinitionBody has paths");
    let mut ops = Vec::new();
    for (path, methods) in paths {
        let path = path.as_str().unwrap();
        for (method, op) in methods.as_mapping().unwrap() {
            let method = method.as_str().unwrap().to_ascii_uppercase();
            if method == "PARAMETERS" {
                continue;
            }
            ops.push((format!("{method} {path}"), op.clone()));
        }
    }
    ops
}

#[test]
fn template_routes_are_the_route_table() {
    let template = template();
    let ops = operations(&template);
    let in_template: BTreeSet<String> = ops.iter().map(|(k, _)| k.clone()).collect();
    let in_table: BTreeSet<String> = ROUTES.iter().map(|r| r.key()).collect();
    assert_eq!(
        in_template, in_table,
        "template.yaml's routes (left) differ from organizer_shared::routes::ROUTES (right)"
    );
    for route in ROUTES {
        let key = route.key();
        let (_, op) = ops.iter().find(|(k, _)| *k == key).unwrap();
        let uri = text(&op["x-amazon-apigateway-integration"]["uri"]);
        assert!(
            uri.contains(&format!("${{{}.Arn}}", route.service.function())),
            "{key}: the integration must invoke {}, not {uri}",
            route.service.function()
        );
        assert_eq!(
            op["x-amazon-apigateway-integration"]["payloadFormatVersion"].as_str(),
            Some("2.0"),
            "{key}"
        );
        // security: !If [UseLambdaAuthorizer, [{LambdaAuthorizer: []}],
        //                 !If [UseJwtAuthorizer, [{JwtAuthorizer: [scopes]}], []]]
        let (condition, lambda, rest) = fn_if(&op["security"])
            .unwrap_or_else(|| panic!("{key}: security is not an !If on the authorizer mode"));
        assert_eq!(condition, "UseLambdaAuthorizer", "{key}");
        assert!(
            lambda[0]
                .as_mapping()
                .is_some_and(|m| m.contains_key("LambdaAuthorizer")),
            "{key}: the Lambda authorizer must guard this route: {lambda:?}"
        );
        let (condition, jwt, none) =
            fn_if(rest).unwrap_or_else(|| panic!("{key}: no JWT-authorizer branch"));
        assert_eq!(condition, "UseJwtAuthorizer", "{key}");
        let scopes: Vec<String> = jwt[0]["JwtAuthorizer"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{key}: no JwtAuthorizer scopes: {jwt:?}"))
            .iter()
            .map(text)
            .collect();
        let expected: Vec<String> = route.scope.0.iter().map(|s| s.to_string()).collect();
        assert_eq!(scopes, expected, "{key}: JWT AuthorizationScopes");
        assert_eq!(
            none.as_sequence().map(Vec::len),
            Some(0),
            "{key}: mode none"
        );
    }
}

#[test]
fn every_route_has_a_sample_event() {
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(repo().join("events")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // Authorizer requests (type REQUEST) name routes too, but the function events are the
        // samples each route needs.
        if event.get("type").is_none()
            && let Some(key) = event["routeKey"].as_str()
        {
            keys.insert(key.to_string());
        }
    }
    for route in ROUTES {
        assert!(
            keys.contains(&route.key()),
            "events/ has no sample event for {} (add one, with routeKey {:?})",
            route.key(),
            route.key()
        );
    }
}
