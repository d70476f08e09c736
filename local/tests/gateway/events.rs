//! The events the gateway builds have the shape of API Gateway's, key for key and type for
//! type: compared with AWS's example events that the `aws_lambda_events` crate ships (the
//! payload 2.0 request with a Lambda authorizer, with a JWT authorizer, without one, and the
//! 2.0 authorizer request), and read back by that crate's types, as `lambda_http` reads them.

use std::path::PathBuf;

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::api::machine_token;
use crate::common::repo;
use crate::harness::{FakeLambda, Harness, Setup, edited_template};

/// Where the `aws_lambda_events` crate of this build keeps its fixtures.
fn fixtures() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(repo().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "aws_lambda_events")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("aws_lambda_events is a dependency (through lambda_http)");
    PathBuf::from(manifest)
        .parent()
        .unwrap()
        .join("src/fixtures")
}

fn fixture(name: &str) -> Value {
    let path = fixtures().join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Maps whose keys are data (header names, parameters, claims): only their values' types are
/// compared.
const FREE_MAPS: &[&str] = &[
    "headers",
    "queryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext.authorizer.lambda",
    "requestContext.authorizer.jwt.claims",
];
/// AWS's examples have these; a request without mutual TLS does not.
const ONLY_IN_AWS_EXAMPLE: &[&str] = &["requestContext.authentication"];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The differences of shape between `ours` and AWS's `theirs`.
fn differences(ours: &Value, theirs: &Value, at: &str, out: &mut Vec<String>) {
    if kind(ours) != kind(theirs) {
        out.push(format!(
            "{at}: ours is {}, AWS's is {}",
            kind(ours),
            kind(theirs)
        ));
        return;
    }
    match (ours, theirs) {
        (Value::Object(o), Value::Object(t)) if FREE_MAPS.contains(&at) => {
            let their_kinds: Vec<&str> = t.values().map(kind).collect();
            for (k, v) in o {
                if !their_kinds.contains(&kind(v)) {
                    out.push(format!(
                        "{at}.{k}: ours is {}, AWS's values are {their_kinds:?}",
                        kind(v)
                    ));
                }
            }
        }
        (Value::Object(o), Value::Object(t)) => {
            for (k, v) in o {
                let here = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match t.get(k) {
                    Some(tv) => differences(v, tv, &here, out),
                    None => out.push(format!("{here}: not in AWS's example")),
                }
            }
            for k in t.keys() {
                let here = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                if !o.contains_key(k) && !ONLY_IN_AWS_EXAMPLE.contains(&here.as_str()) {
                    out.push(format!("{here}: missing from ours"));
                }
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            if let (Some(a), Some(b)) = (o.first(), t.first()) {
                differences(a, b, &format!("{at}[0]"), out);
            }
        }
        _ => {}
    }
}

fn assert_same_shape(ours: &Value, theirs: &Value, what: &str) {
    let mut out = Vec::new();
    differences(ours, theirs, "", &mut out);
    assert!(
        out.is_empty(),
        "{what}:\n  {}\nours: {ours:#}",
        out.join("\n  ")
    );
}

/// A request with everything an event can carry: cookies, a query string, a path parameter,
/// a body, and stage variables (the repository's template has none: added to a copy).
async fn full_request(h: &Harness, token: &str) -> Value {
    let (status, _, event) = h
        .send(
            "PUT",
            "/contacts/c-1?a=1&a=2&b=x",
            &[
                ("authorization", &format!("Bearer {token}")),
                ("cookie", "one=1; two=2"),
                ("content-type", "application/json"),
                ("user-agent", "events-test"),
                ("origin", "http://localhost:3000"),
            ],
            r#"{"name":"Ada"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{event}");
    event
}

fn with_stage_variables() -> PathBuf {
    edited_template(|t| {
        t.replace(
            "      StageName: $default\n",
            "      StageName: $default\n      StageVariables:\n        tier: local\n",
        )
    })
}

#[tokio::test]
async fn function_events_in_each_mode_have_the_shape_of_aws_examples() {
    let lambda_example = fixture("example-apigw-v2-request-lambda-authorizer.json");
    let jwt_example = fixture("example-apigw-v2-request-jwt-authorizer.json");
    let mut none_example = lambda_example.clone();
    none_example["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    for (mode, example) in [
        ("lambda", &lambda_example),
        ("jwt", &jwt_example),
        ("none", &none_example),
    ] {
        let overrides = [format!("AuthorizerMode={mode}")];
        let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
        let h = Harness::new(Setup {
            template: with_stage_variables(),
            overrides: &overrides,
            ..Setup::default()
        })
        .await;
        let token = machine_token(&h.stack, None).await;
        let event = full_request(&h, &token).await;
        assert_same_shape(&event, example, mode);
        // Read by the types lambda_http reads events with.
        let typed: ApiGatewayV2httpRequest = serde_json::from_value(event.clone()).unwrap();
        assert_eq!(typed.route_key.as_deref(), Some("PUT /contacts/{id}"));
        assert_eq!(typed.path_parameters["id"], "c-1");
        assert_eq!(typed.cookies, Some(vec!["one=1".into(), "two=2".into()]));
        assert_eq!(event["queryStringParameters"]["a"], "1,2");
        assert_eq!(event["body"], r#"{"name":"Ada"}"#);
        assert_eq!(event["isBase64Encoded"], false);
        assert_eq!(event["stageVariables"]["tier"], "local");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(event["requestContext"]["http"]["userAgent"], "events-test");
        // Only what the mode's authorizer gives.
        let authorizer = &event["requestContext"]["authorizer"];
        match mode {
            "lambda" => {
                assert!(authorizer["lambda"].is_object() && authorizer.get("jwt").is_none())
            }
            "jwt" => assert!(authorizer["jwt"].is_object() && authorizer.get("lambda").is_none()),
            _ => assert!(event["requestContext"].get("authorizer").is_none()),
        }
    }
}

#[tokio::test]
async fn the_authorizer_request_has_the_shape_of_aws_example() {
    let lambda = FakeLambda::start().await;
    let h = Harness::new(Setup {
        template: with_stage_variables(),
        targets: vec![("AuthorizerFunction", lambda.target("allow"))],
        ..Setup::default()
    })
    .await;
    full_request(&h, "a-token").await;
    let request = lambda.events("allow").pop().unwrap();
    assert_same_shape(
        &request,
        &fixture("example-apigw-v2-custom-authorizer-v2-request.json"),
        "authorizer request",
    );
    let typed: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(request).unwrap();
    assert_eq!(
        typed.identity_source,
        Some(vec!["Bearer a-token".into(), "PUT /contacts/{id}".into()])
    );
    assert_eq!(
        typed.route_arn.as_deref(),
        Some("arn:aws:execute-api:us-east-1:000000000000:local/$default/PUT/contacts/c-1")
    );
}
