//! `jwt` mode: API Gateway's built-in JWT authorizer, with the dev tenant's discovery document
//! and keys, and AWS's answers.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::api::machine_token;
use crate::harness::{Harness, Setup, message};

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims(h: &Harness) -> Value {
    json!({
        "iss": h.stack.tenant.issuer,
        "sub": "auth0|someone",
        "aud": ["organize", "https://other/"],
        "exp": now() + 600,
        "iat": now() - 5,
        "scope": "read:contacts write:contacts",
        "email_verified": true,
    })
}

fn signed(h: &Harness, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut c = claims(h);
    edit(c.as_object_mut().unwrap());
    h.stack.tenant.keys.active().sign(&c).unwrap()
}

fn challenge(description: &str, scopes: &str) -> String {
    format!("Bearer scope=\"{scopes}\" error=\"invalid_token\" error_description=\"{description}\"")
}

#[tokio::test]
async fn valid_tokens_pass_with_their_claims_as_strings() {
    let h = Harness::new(Setup {
        overrides: &["AuthorizerMode=jwt"],
        ..Setup::default()
    })
    .await;
    let token = signed(&h, |_| {});
    // With or without the Bearer prefix, as AWS documents.
    for value in [format!("Bearer {token}"), token.clone()] {
        let (status, _, event) = h
            .send("GET", "/contacts", &[("authorization", &value)], "")
            .await;
        assert_eq!(status, StatusCode::OK, "{event}");
        let jwt = &event["requestContext"]["authorizer"]["jwt"];
        assert_eq!(jwt["claims"]["sub"], "auth0|someone");
        assert_eq!(jwt["claims"]["aud"], "[organize https://other/]");
        assert_eq!(jwt["claims"]["email_verified"], "true");
        assert!(
            jwt["claims"]["exp"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .is_ok()
        );
        assert_eq!(jwt["scopes"], json!(["read:contacts", "write:contacts"]));
        assert!(
            event["requestContext"]["authorizer"]
                .get("lambda")
                .is_none()
        );
    }
    // A real token of the tenant, too.
    let machine = machine_token(&h.stack, None).await;
    assert_eq!(h.get("/calendar", &machine).await.0, StatusCode::OK);
}

#[tokio::test]
async fn invalid_tokens_get_401_with_aws_challenge() {
    let h = Harness::new(Setup {
        overrides: &["AuthorizerMode=jwt"],
        ..Setup::default()
    })
    .await;
    let scopes = "read:contacts";
    let hs256 = {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT","kid":"x"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims(&h).to_string());
        format!("{header}.{payload}.c2ln")
    };
    let forged = {
        let token = signed(&h, |_| {});
        let (rest, _) = token.rsplit_once('.').unwrap();
        let other = signed(&h, |c| {
            c.insert("sub".into(), json!("auth0|victim"));
        });
        let (_, signature) = other.rsplit_once('.').unwrap();
        format!("{rest}.{signature}")
    };
    let cases = [
        (
            "a.b",
            "token contains an invalid number of segments".to_string(),
        ),
        (hs256.as_str(), "signing method HS256 is invalid".into()),
        (&forged, "the token signature is invalid".into()),
        (
            &signed(&h, |c| {
                c.insert("exp".into(), json!(now() - 1));
            }),
            "the token has expired".into(),
        ),
        (
            &signed(&h, |c| {
                c.insert("aud".into(), json!("https://elsewhere/"));
            }),
            "the token does not have a valid audience".into(),
        ),
        (
            &signed(&h, |c| {
                c.insert("iss".into(), json!("https://evil.example/"));
            }),
            "the token does not have a valid issuer".into(),
        ),
        (
            &signed(&h, |c| {
                c.insert("nbf".into(), json!(now() + 600));
            }),
            "the token is not valid yet".into(),
        ),
    ];
    for (token, description) in cases {
        let (status, headers, body) = h.get("/contacts", token).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, message("Unauthorized")),
            "{description}"
        );
        assert_eq!(
            headers["www-authenticate"],
            challenge(&description, scopes).as_str()
        );
    }
    // No token at all: a bare challenge.
    let (status, headers, _) = h.send("GET", "/contacts", &[], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Bearer");
    // client_id stands in for a missing aud.
    let no_aud = signed(&h, |c| {
        c.remove("aud");
        c.insert("client_id".into(), json!("organize"));
    });
    assert_eq!(h.get("/contacts", &no_aud).await.0, StatusCode::OK);
    assert!(
        h.lambda.events("echo").len() == 1,
        "only the valid token reached the function"
    );
}

#[tokio::test]
async fn a_valid_token_without_the_routes_scope_is_403() {
    let h = Harness::new(Setup {
        overrides: &["AuthorizerMode=jwt"],
        ..Setup::default()
    })
    .await;
    let read_only = machine_token(&h.stack, Some("read:contacts read:calendar")).await;
    for (method, path) in [
        ("POST", "/contacts"),
        ("PUT", "/calendar/e-1"),
        ("DELETE", "/contacts/c-1"),
    ] {
        let (status, headers, body) = h
            .send(
                method,
                path,
                &[("authorization", &format!("Bearer {read_only}"))],
                "{}",
            )
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::FORBIDDEN, message("Forbidden")),
            "{method} {path}"
        );
        assert!(headers.get("www-authenticate").is_none());
    }
    let scope_less = signed(&h, |c| {
        c.remove("scope");
    });
    assert_eq!(
        h.get("/contacts", &scope_less).await.0,
        StatusCode::FORBIDDEN
    );
    assert!(h.lambda.events("echo").is_empty());
}
