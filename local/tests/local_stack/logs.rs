//! What the stack writes to its log, read from the real `organizer serve` process: JSON lines
//! with a stable `event` name, the trace id's place in each request's span, and never a token, a
//! signature or a client secret — not for an allowed request, a write, or a refused token, in
//! either mode where our code reads the token (the Lambda authorizer, or the function itself).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{free_port, repo, temp_dir};

struct Serving {
    child: Child,
    log: std::path::PathBuf,
    tenant: String,
    api: String,
    state: std::path::PathBuf,
}

/// `organizer serve` on free ports and a fresh state folder, its stdout and stderr in one file,
/// once its tenant serves its keys and its API answers.
async fn serve(mode: &str) -> Serving {
    let state = temp_dir("organizer-logs");
    let log = temp_dir("organizer-logs-out");
    let out = std::fs::File::create(&log).unwrap();
    let (tenant_port, api_port) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_organizer"))
        .current_dir(repo())
        .args(["serve", "--tenant-port", &tenant_port.to_string()])
        .args(["--api-port", &api_port.to_string()])
        .args(["--site-port", &free_port().to_string()])
        .args(["--second-site-port", &free_port().to_string()])
        .arg("--state-dir")
        .arg(&state)
        .args(["--parameter-overrides", &format!("AuthorizerMode={mode}")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap();
    let mut serving = Serving {
        child,
        log,
        tenant: format!("http://localhost:{tenant_port}"),
        api: format!("http://localhost:{api_port}"),
        state,
    };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if serving.child.try_wait().unwrap().is_some() {
            break;
        }
        let keys = client
            .get(format!("{}/.well-known/jwks.json", serving.tenant))
            .send()
            .await;
        // A connection, not a request: a request would be a log line of its own.
        let api = tokio::net::TcpStream::connect(("127.0.0.1", api_port)).await;
        if keys.is_ok_and(|r| r.status().is_success()) && api.is_ok() {
            return serving;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "organizer serve exited or did not answer on its ports:\n{}",
        std::fs::read_to_string(&serving.log).unwrap_or_default()
    );
}

impl Serving {
    /// Stops the process as Ctrl-C does (so it writes its last lines) and returns its output.
    fn stop(mut self) -> String {
        let stopped = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        let status = self.child.wait().unwrap();
        let output = std::fs::read_to_string(&self.log).unwrap();
        assert!(
            status.success() || status.code().is_none(),
            "{status}: {output}"
        );
        output
    }
}

#[tokio::test]
async fn the_log_has_an_event_per_line_and_never_a_token_or_secret() {
    for (mode, refused) in [
        ("lambda", StatusCode::FORBIDDEN),
        ("none", StatusCode::UNAUTHORIZED),
    ] {
        let stack = serve(mode).await;
        let clients: Value = serde_json::from_str(
            &std::fs::read_to_string(stack.state.join("clients.json")).unwrap(),
        )
        .unwrap();
        let machine = &clients["Organizer Machine"];
        let (id, secret) = (
            machine["client_id"].as_str().unwrap(),
            machine["client_secret"].as_str().unwrap(),
        );
        let client = reqwest::Client::new();
        let answer: Value = client
            .post(format!("{}/oauth/token", stack.tenant))
            .form(&[
                ("grant_type", "client_credentials"),
                ("audience", "organize"),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["access_token"].as_str().unwrap().to_string();
        let (_, signature) = token.rsplit_once('.').unwrap();
        // The same claims and signature with one character of the signature changed.
        let tampered = format!(
            "{}{}",
            &token[..token.len() - 2],
            if token.ends_with("AA") { "BB" } else { "AA" }
        );
        // And a wrong secret, which the tenant refuses.
        let wrong_secret = format!("{secret}-wrong");
        let refused_secret = client
            .post(format!("{}/oauth/token", stack.tenant))
            .form(&[
                ("grant_type", "client_credentials"),
                ("audience", "organize"),
                ("client_id", id),
                ("client_secret", wrong_secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refused_secret.status(), StatusCode::UNAUTHORIZED, "{mode}");

        let get = |token: &str| {
            client
                .get(format!("{}/contacts", stack.api))
                .bearer_auth(token)
                .send()
        };
        assert_eq!(
            get(&token).await.unwrap().status(),
            StatusCode::OK,
            "{mode}"
        );
        assert_eq!(get(&tampered).await.unwrap().status(), refused, "{mode}");
        let created = client
            .post(format!("{}/contacts", stack.api))
            .bearer_auth(&token)
            .header("idempotency-key", "logs-test")
            .json(&json!({"name": "Logged Once"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED, "{mode}");

        let output = stack.stop();
        for (what, text) in [
            ("the access token", token.as_str()),
            ("its signature", signature),
            ("the tampered token", tampered.as_str()),
            ("the client secret", secret),
            ("the wrong secret", wrong_secret.as_str()),
        ] {
            assert!(
                !output.contains(text),
                "{mode}: {what} is in the log:\n{output}"
            );
        }
        // Every JSON line names its event; the function's lines carry the request's span with
        // its trace id. (The start-up banner and the figures are plain text for the terminal.)
        let lines: Vec<Value> = output
            .lines()
            .filter(|line| line.starts_with('{'))
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect();
        for line in &lines {
            let event = line["fields"]["event"].as_str().unwrap_or_default();
            assert!(!event.is_empty(), "{mode}: a line without an event: {line}");
        }
        let requests: Vec<&Value> = lines
            .iter()
            .filter(|line| line["fields"]["event"] == "request")
            .collect();
        assert_eq!(
            requests.len(),
            if mode == "lambda" { 2 } else { 3 },
            "{mode}: one line per request the functions answered:\n{output}"
        );
        for line in requests {
            assert!(line["span"]["trace_id"].is_string(), "{mode}: {line}");
        }
    }
}
