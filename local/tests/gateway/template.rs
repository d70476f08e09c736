//! The template is the configuration: a route, a scope, an origin, a throttle or a permission
//! changed in a copy of `template.yaml` changes what the gateway does, with no Rust change;
//! what it cannot read stops it, naming the place.

use organizer_local::gateway::template::Overrides;
use organizer_local::gateway::{TemplateOptions, load};
use reqwest::StatusCode;

use crate::common::api::machine_token;
use crate::common::repo;
use crate::harness::{Harness, Setup, edited_template, message};

/// (Renamed within the invoke permission's `…/calendar*` pattern: outside it, API Gateway could
/// not call the function, as the next test shows.)
#[tokio::test]
async fn a_route_renamed_in_the_template_moves_with_it() {
    let template = edited_template(|t| {
        t.replace(
            "          /calendar/{id}:\n",
            "          /calendar-items/{id}:\n",
        )
    });
    let h = Harness::new(Setup {
        template: template.clone(),
        overrides: &["AuthorizerMode=none"],
        ..Setup::default()
    })
    .await;
    let token = machine_token(&h.stack, None).await;
    let (status, _, body) = h.get("/calendar/e-1", &token).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, message("Not Found"))
    );
    let (status, _, event) = h.get("/calendar-items/e-1", &token).await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["routeKey"], "GET /calendar-items/{id}");
    assert_eq!(event["pathParameters"]["id"], "e-1");
    // The list route is untouched.
    assert_eq!(h.get("/calendar", &token).await.0, StatusCode::OK);
    // With the Lambda authorizer, as deployed: it knows no scope for the new route (its
    // ROUTE_SCOPES, by default the functions' route table), so it denies it.
    let h = Harness::new(Setup {
        template,
        ..Setup::default()
    })
    .await;
    let token = machine_token(&h.stack, None).await;
    let (status, _, body) = h.get("/calendar-items/e-1", &token).await;
    assert_eq!(
        (status, body),
        (StatusCode::FORBIDDEN, message("Forbidden"))
    );
    assert_eq!(h.get("/calendar", &token).await.0, StatusCode::OK);
}

/// JWT mode: the route's scopes come from the template's security requirement.
#[tokio::test]
async fn a_scope_changed_in_the_template_changes_what_the_jwt_authorizer_lets_through() {
    let template = edited_template(|t| {
        t.replace(
            "[{JwtAuthorizer: [read:contacts]}]",
            "[{JwtAuthorizer: [read:calendar, admin:everything]}]",
        )
    });
    let h = Harness::new(Setup {
        template,
        overrides: &["AuthorizerMode=jwt"],
        ..Setup::default()
    })
    .await;
    let contacts_only = machine_token(&h.stack, Some("read:contacts")).await;
    let calendar_only = machine_token(&h.stack, Some("read:calendar")).await;
    let (status, headers, body) = h.get("/contacts", &contacts_only).await;
    assert_eq!(
        (status, body),
        (StatusCode::FORBIDDEN, message("Forbidden"))
    );
    assert!(headers.get("www-authenticate").is_none());
    // Any one of the route's scopes suffices.
    let (status, _, event) = h.get("/contacts", &calendar_only).await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(
        event["requestContext"]["authorizer"]["jwt"]["scopes"],
        serde_json::json!(["read:calendar"])
    );
}

/// Lambda mode: the authorizer's scopes are its environment's (`ROUTE_SCOPES`), which the
/// template gives it as it gives it in Lambda.
#[tokio::test]
async fn the_authorizer_gets_its_environment_from_the_template() {
    let template = edited_template(|t| {
        t.replace(
            "      CodeUri: functions/authorizer\n",
            "      CodeUri: functions/authorizer\n      Environment:\n        Variables:\n          ROUTE_SCOPES: \"GET /contacts=read:calendar\"\n",
        )
    });
    let h = Harness::new(Setup {
        template,
        ..Setup::default()
    })
    .await;
    let contacts_only = machine_token(&h.stack, Some("read:contacts")).await;
    let calendar_only = machine_token(&h.stack, Some("read:calendar")).await;
    assert_eq!(
        h.get("/contacts", &contacts_only).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(h.get("/contacts", &calendar_only).await.0, StatusCode::OK);
    // A route the variable leaves out is denied: the authorizer knows no scope for it.
    assert_eq!(
        h.get("/calendar", &calendar_only).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn without_an_invoke_permission_api_gateway_cannot_call_the_function() {
    let template = edited_template(|t| {
        let start = t.find("  ContactsInvokePermission:").unwrap();
        let end = t.find("  CalendarInvokePermission:").unwrap();
        format!("{}{}", &t[..start], &t[end..])
    });
    let h = Harness::new(Setup {
        template,
        ..Setup::default()
    })
    .await;
    let token = machine_token(&h.stack, None).await;
    let (status, _, body) = h.get("/contacts", &token).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            message("Internal Server Error")
        )
    );
    assert!(
        h.lambda.events("echo").is_empty(),
        "the function was not called"
    );
    assert_eq!(h.get("/calendar", &token).await.0, StatusCode::OK);
}

/// Stage throttling from the template's parameters: a bucket per route, 429 beyond it.
#[tokio::test]
async fn the_stage_throttles_each_route_as_the_template_says() {
    let h = Harness::new(Setup {
        overrides: &["ApiThrottlingBurstLimit=5", "ApiThrottlingRateLimit=1"],
        throttling: true,
        ..Setup::default()
    })
    .await;
    let token = machine_token(&h.stack, None).await;
    let started = std::time::Instant::now();
    let answers = futures_join(40, || h.get("/contacts", &token)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let ok = answers.iter().filter(|a| a.0 == StatusCode::OK).count();
    let throttled: Vec<_> = answers
        .iter()
        .filter(|a| a.0 == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(ok + throttled.len(), 40, "{answers:?}");
    // The burst, plus what the rate refilled meanwhile.
    assert!(
        ok >= 5 && ok as f64 <= 5.0 + elapsed.ceil() + 1.0,
        "{ok} served in {elapsed} s"
    );
    assert_eq!(throttled[0].2, message("Too Many Requests"));
    // Another route has its own bucket.
    assert_eq!(h.get("/calendar", &token).await.0, StatusCode::OK);
}

async fn futures_join<F, Fut, T>(n: usize, make: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    futures_util::future::join_all((0..n).map(|_| make())).await
}

/// Each construct the gateway does not model stops it, naming the resource and the construct:
/// never a route served more openly than API Gateway would serve it.
#[test]
fn what_the_gateway_cannot_read_stops_start_up_naming_it() {
    type Edit = Box<dyn Fn(String) -> String>;
    let cases: Vec<(&str, Edit, &str, &str)> = vec![
        (
            "SAM's Auth property",
            Box::new(|t| {
                t.replace(
                    "      StageName: $default\n",
                    "      StageName: $default\n      Auth:\n        DefaultAuthorizer: X\n",
                )
            }),
            "Resources.Api.Properties.Auth",
            "SAM's Auth property is not read",
        ),
        (
            "an HTTP proxy integration",
            Box::new(|t| {
                t.replacen(
                    "                type: aws_proxy\n",
                    "                type: http_proxy\n",
                    1,
                )
            }),
            "Resources.Api.Properties.DefinitionBody.paths./contacts.get.x-amazon-apigateway-integration",
            "integration type \"http_proxy\"",
        ),
        (
            "payload format 1.0",
            Box::new(|t| {
                t.replacen(
                    "                payloadFormatVersion: \"2.0\"\n",
                    "                payloadFormatVersion: \"1.0\"\n",
                    1,
                )
            }),
            "x-amazon-apigateway-integration",
            "payloadFormatVersion Some(\"1.0\")",
        ),
        (
            "two authorizers on a route",
            Box::new(|t| {
                t.replace(
                    "                - [{LambdaAuthorizer: []}]\n",
                    "                - [{LambdaAuthorizer: []}, {Other: []}]\n",
                )
            }),
            ".get.security",
            "more than one authorizer",
        ),
        (
            "an import from another stack",
            Box::new(|t| {
                t.replace(
                    "          title: !Ref AWS::StackName\n",
                    "          title: !ImportValue other-stack-name\n",
                )
            }),
            "Resources.Api.Properties.DefinitionBody.info",
            "Fn::ImportValue is not supported",
        ),
        (
            "an implicit API event on a function",
            Box::new(|t| {
                t.replace("      CodeUri: functions/contacts\n", "      CodeUri: functions/contacts\n      Events:\n        List:\n          Type: HttpApi\n          Properties: {Path: /x, Method: get}\n")
            }),
            "Resources.ContactsFunction.Properties.Events.List",
            "an implicit HttpApi event is not read",
        ),
        (
            "IAM policy responses",
            Box::new(|t| {
                t.replace(
                    "                  enableSimpleResponses: true\n",
                    "                  enableSimpleResponses: false\n",
                )
            }),
            "securitySchemes.LambdaAuthorizer.x-amazon-apigateway-authorizer",
            "enableSimpleResponses is not true",
        ),
        (
            "a Lambda authorizer with scopes",
            Box::new(|t| {
                t.replacen(
                    "                - [{LambdaAuthorizer: []}]\n",
                    "                - [{LambdaAuthorizer: [read:contacts]}]\n",
                    1,
                )
            }),
            "/contacts.get.security",
            "takes scopes with JWT authorizers only",
        ),
        (
            "parameter mapping on an integration",
            Box::new(|t| {
                t.replacen(
                    "                payloadFormatVersion: \"2.0\"\n",
                    "                payloadFormatVersion: \"2.0\"\n                requestParameters: {\"overwrite:header.x-user\": \"$context.authorizer.sub\"}\n",
                    1,
                )
            }),
            "x-amazon-apigateway-integration.requestParameters",
            "requestParameters is not read",
        ),
        (
            "a route without an integration",
            Box::new(|t| {
                t.replacen(
                    "              x-amazon-apigateway-integration: *contactsIntegration\n",
                    "",
                    1,
                )
            }),
            "Resources.Api.Properties.DefinitionBody.paths./contacts.post",
            "has no x-amazon-apigateway-integration",
        ),
    ];
    for (what, edit, at, problem) in cases {
        let path = edited_template(edit);
        let error = load(
            &TemplateOptions {
                path,
                overrides: Overrides::default(),
            },
            &[("Issuer", "http://localhost:4000/".into())],
            &[],
            "http://localhost:3001",
        )
        .err()
        .unwrap_or_else(|| panic!("{what}: the gateway started"));
        assert!(
            error.at.contains(at),
            "{what}: at {:?}, not {at:?}: {error}",
            error.at
        );
        assert!(error.problem.contains(problem), "{what}: {error}");
    }
}

/// Bad overrides and broken rules are refused as `sam deploy` refuses them.
#[test]
fn overrides_and_rules_are_checked_as_cloudformation_checks_them() {
    let template = repo().join("template.yaml");
    let try_load = |overrides: &[&str], local: &[(&str, String)]| {
        load(
            &TemplateOptions {
                path: template.clone(),
                overrides: Overrides::parse(overrides).unwrap(),
            },
            local,
            &[],
            "http://localhost:3001",
        )
        .err()
        .map(|e| e.to_string())
    };
    let local = [("Issuer", "http://localhost:4000/".to_string())];
    assert_eq!(try_load(&["AuthorizerMode=jwt"], &local), None);
    let error = try_load(&["AuthorizerMode=iam"], &local).unwrap();
    assert!(
        error.contains("not one of lambda, jwt, none") && error.contains("e.g. lambda"),
        "{error}"
    );
    let error = try_load(&["NoSuchParameter=1"], &local).unwrap();
    assert!(
        error.contains("NoSuchParameter is not a parameter of the template"),
        "{error}"
    );
    let error = try_load(&["ApiThrottlingRateLimit=0"], &local).unwrap();
    assert!(error.contains("below the MinValue 1"), "{error}");
    // Both a domain and an issuer: the template's rule refuses it.
    let error = try_load(&["Auth0Domain=my-tenant.eu.auth0.com"], &local).unwrap();
    assert!(
        error.contains("OneTenant") && error.contains("Set only one of Auth0Domain and Issuer"),
        "{error}"
    );
    // Neither: refused too.
    let error = try_load(&[], &[]).unwrap();
    assert!(error.contains("Set Auth0Domain"), "{error}");
}
