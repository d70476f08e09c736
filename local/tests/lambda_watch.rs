//! The three functions as Lambda runs them, under `cargo lambda watch` (docs/local-lambda.md,
//! "a function under cargo-lambda"): each built by cargo-lambda's `cargo run`, started against
//! its Runtime API emulator, configured only through the environment the template gives it
//! (`organizer function-env`), invoked with events minted by `organizer events` for the local
//! stack's dev tenant, and then behind the local API Gateway (`--invoke-url`): requests over
//! HTTP through the template's Lambda authorizer, itself under watch. The data is in DynamoDB
//! Local (`ORGANIZER_TEST_DYNAMODB`, started by `make test`).
//!
//! One `cargo lambda watch` per function, each given the function's own manifest: the workspace's
//! default member is the local tool (so that `cargo run` starts the local stack), and watch
//! compiles a function with `cargo run --bin <function>`, which only looks in the selected
//! package.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use organizer_local::{StackOptions, StoreChoice};
use organizer_shared::store::Item;
use serde_json::Value;

/// How long one invocation may take: starting the function (a `cargo run` of an up-to-date
/// binary, a JWKS fetch) and answering. A wait, never a measurement.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the debug build of the three functions may take when `make test` did not do it.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1200);

fn cargo_lambda() -> PathBuf {
    let path = common::repo().join(".local/venv/bin/cargo-lambda");
    assert!(
        path.is_file(),
        "cargo-lambda is not installed at {}: run scripts/lambda-build.sh (or `make test`, which \
         runs it) to install it into .local/venv",
        path.display()
    );
    path
}

fn dynamodb_endpoint() -> String {
    std::env::var("ORGANIZER_TEST_DYNAMODB").ok().filter(|v| !v.is_empty()).expect(
        "ORGANIZER_TEST_DYNAMODB is not set: this test needs DynamoDB Local; run it through \
         `make test` (scripts/test.sh starts DynamoDB Local and sets it), or start DynamoDB Local \
         yourself (scripts/dynamodb-local.sh) and set ORGANIZER_TEST_DYNAMODB=http://127.0.0.1:<port>",
    )
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The debug build `cargo lambda watch` runs, done up front (`make test` does it before the
/// tests; then this is only cargo's freshness check) so that no invocation waits on a compile.
/// Built together, the three packages resolve the same features as each one alone, so watch's
/// `cargo run` finds them fresh.
async fn build_functions() {
    let mut build = tokio::process::Command::new(cargo());
    build
        .current_dir(common::repo())
        .args([
            "build",
            "-p",
            "contacts",
            "-p",
            "calendar",
            "-p",
            "authorizer",
        ])
        .kill_on_drop(true);
    let output = tokio::time::timeout(BUILD_TIMEOUT, build.output())
        .await
        .expect("the debug build of the functions finished in time")
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build -p contacts -p calendar -p authorizer failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One `cargo lambda watch` process group; dropping it stops it, whatever way the test ends.
struct Watch {
    function: &'static str,
    port: u16,
    child: Child,
    log: PathBuf,
}

impl Watch {
    fn start(function: &'static str, port: u16, dir: &Path, env: &[(String, String)]) -> Self {
        use std::os::unix::process::CommandExt;
        let log = dir.join(format!("watch-{function}.log"));
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let mut command = Command::new(cargo_lambda());
        command
            .current_dir(common::repo())
            .args(["lambda", "watch", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            // Other edits in the working tree must not restart the function mid-test.
            .arg("--ignore-changes")
            .args([
                "--manifest-path",
                &format!("functions/{function}/Cargo.toml"),
            ])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("CARGO", cargo())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group, so that the cargo and function processes it starts are
            // stopped with it.
            .process_group(0);
        let child = command.spawn().expect("cargo lambda watch starts");
        Self {
            function,
            port,
            child,
            log,
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Resolves when watch, the build or the function has stopped: an invocation would then
    /// wait for ever.
    async fn stopped(&mut self) -> String {
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return format!("cargo lambda watch exited ({status})");
            }
            let log = self.log_text();
            if log.contains("command exited") || log.contains("command killed") {
                return "the function (or its build) exited".into();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn wait_listening(&mut self) {
        let address = format!("127.0.0.1:{}", self.port);
        let connect = async {
            while tokio::net::TcpStream::connect(&address).await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::select! {
            result = tokio::time::timeout(Duration::from_secs(60), connect) => {
                if result.is_err() {
                    panic!("cargo lambda watch for {} does not listen on {address}:\n{}", self.function, self.log_text());
                }
            }
            why = self.stopped() => panic!("{why} before listening:\n{}", self.log_text()),
        }
    }

    /// Invokes the function with one event, through watch's Lambda Invoke API; its answer.
    async fn invoke(&mut self, client: &reqwest::Client, event_file: &Path) -> Value {
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/{}/invocations",
            self.port, self.function
        );
        let event = fs::read_to_string(event_file).unwrap();
        let name = event_file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let answer = tokio::select! {
            answer = client.post(&url).body(event).send() => answer,
            why = self.stopped() => panic!("{why} while invoking {} with {name}:\n{}", self.function, self.log_text()),
        };
        let answer = answer.unwrap_or_else(|e| {
            panic!(
                "invoking {} with {name}: {e}\n{}",
                self.function,
                self.log_text()
            )
        });
        let status = answer.status();
        let text = answer.text().await.unwrap();
        assert!(
            status.is_success(),
            "{} with {name}: invoke answered {status}: {text}\n{}",
            self.function,
            self.log_text()
        );
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        // SIGTERM lets watch stop the function it started; SIGKILL if it does not.
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// An API Gateway (payload 2.0) response: status and decoded JSON body.
fn http_answer(answer: &Value) -> (u64, Value) {
    let status = answer["statusCode"].as_u64().unwrap_or_else(|| {
        panic!("not an API Gateway response: {answer}");
    });
    let body = answer["body"].as_str().unwrap_or("null");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn functions_under_cargo_lambda_watch_answer_minted_events() {
    let cargo_lambda = cargo_lambda();
    let endpoint = dynamodb_endpoint();
    assert!(cargo_lambda.is_file());
    let dir = common::temp_dir("organizer-lambda-watch");
    fs::create_dir_all(&dir).unwrap();

    // The local stack on DynamoDB Local (tables of this test only, created and seeded for the
    // machine client as the stack seeds them), its gateway sending each function's events to
    // the watch on that function's port.
    let ports = [
        ("ContactsFunction", "contacts", common::free_port()),
        ("CalendarFunction", "calendar", common::free_port()),
        ("AuthorizerFunction", "authorizer", common::free_port()),
    ];
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let store = StoreChoice::Dynamo {
        endpoint: Some(endpoint),
        tables: ["contacts", "calendar"]
            .into_iter()
            .map(|s| (s.to_string(), format!("lambda-watch-{s}-{suffix}")))
            .collect(),
    };
    let mut gateway = common::gateway_options();
    gateway.invoke_urls = ports
        .iter()
        .map(|(id, _, port)| (Some(id.to_string()), format!("http://127.0.0.1:{port}")))
        .collect();
    let stack = organizer_local::start(StackOptions {
        tenant_port: 0,
        api_port: 0,
        site_port: 0,
        extra_site_ports: vec![],
        session_check_seconds: organizer_local::site::DEFAULT_SESSION_CHECK_SECONDS,
        tenant_file: common::repo().join("tenant.yaml"),
        state_dir: common::fresh_state(),
        site_dir: common::repo().join("site"),
        gateway,
        store: store.clone(),
    })
    .await
    .expect("the local stack starts on DynamoDB Local");
    let machine_id = stack
        .tenant
        .client_by_name("Organizer Machine")
        .expect("tenant.yaml has the machine client")
        .id
        .clone();
    let owner = format!("{machine_id}@clients");
    let events = organizer_local::events::write(&stack.tenant, &dir.join("events"))
        .await
        .unwrap();
    let event = |name: &str| {
        events
            .iter()
            .find(|p| p.file_name().is_some_and(|f| f == name))
            .unwrap_or_else(|| panic!("organizer events wrote no {name}"))
            .clone()
    };

    build_functions().await;

    // Each function's whole configuration, as template.yaml gives it in AWS (what
    // `organizer function-env` prints), with the local tables.
    let env = |id: &str| {
        let mut env =
            organizer_local::lambda_watch::environment(&stack.gateway.api().functions[id], &store);
        env.push(("RUST_LOG".into(), "info".into()));
        env
    };
    let [contacts, calendar, authorizer] =
        ports.map(|(id, binary, port)| Watch::start(binary, port, &dir, &env(id)));
    let (mut contacts, mut calendar, mut authorizer) = (contacts, calendar, authorizer);
    for watch in [&mut contacts, &mut calendar, &mut authorizer] {
        watch.wait_listening().await;
    }
    let http = reqwest::Client::builder()
        .timeout(INVOKE_TIMEOUT)
        .build()
        .unwrap();

    // contacts: 200 with data, 401 without a token.
    let (status, body) = http_answer(&contacts.invoke(&http, &event("contacts-list.json")).await);
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().expect("a listing");
    assert!(!items.is_empty(), "{body}");
    let (status, body) = http_answer(&contacts.invoke(&http, &event("contacts-get.json")).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["id"],
        contacts::Contact::samples(&owner)[0].id(),
        "{body}"
    );
    let answer = contacts
        .invoke(&http, &event("contacts-list-no-token.json"))
        .await;
    let (status, body) = http_answer(&answer);
    assert_eq!(status, 401, "{answer}");
    assert_eq!(body["error"], "unauthorized", "{answer}");

    // calendar: 200 with data, 403 for the contacts-only token.
    let (status, body) = http_answer(&calendar.invoke(&http, &event("calendar-list.json")).await);
    assert_eq!(status, 200, "{body}");
    assert!(
        !body["items"].as_array().expect("a listing").is_empty(),
        "{body}"
    );
    let (status, body) = http_answer(&calendar.invoke(&http, &event("calendar-get.json")).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["id"],
        calendar::Event::samples(&owner)[0].id(),
        "{body}"
    );
    let answer = calendar
        .invoke(&http, &event("calendar-list-wrong-scope.json"))
        .await;
    let (status, body) = http_answer(&answer);
    assert_eq!(status, 403, "{answer}");
    assert_eq!(body["error"], "insufficient_scope", "{answer}");

    // writes, on DynamoDB: create (201 with Location and ETag), its retry with the same
    // Idempotency-Key (the first answer, nothing more created), replace (200), delete (204).
    let count = |body: &serde_json::Value| body["items"].as_array().map_or(0, Vec::len);
    let (_, body) = http_answer(&contacts.invoke(&http, &event("contacts-list.json")).await);
    let before = count(&body);
    let mut locations: HashMap<&str, Vec<String>> = HashMap::new();
    for (file, status) in [
        ("contacts-create.json", 201),
        ("contacts-create.json", 201),
        ("contacts-replace.json", 200),
        ("contacts-delete.json", 204),
        ("calendar-create.json", 201),
        ("calendar-create.json", 201),
        ("calendar-replace.json", 200),
        ("calendar-delete.json", 204),
    ] {
        let service = if file.starts_with("contacts") {
            &mut contacts
        } else {
            &mut calendar
        };
        let answer = service.invoke(&http, &event(file)).await;
        assert_eq!(answer["statusCode"], status, "{file}: {answer}");
        if status == 201 {
            let location = answer["headers"]["location"].as_str().unwrap_or_default();
            assert!(location.starts_with('/'), "{file}: {answer}");
            assert_eq!(answer["headers"]["etag"], "\"1\"", "{file}: {answer}");
            locations
                .entry(file)
                .or_default()
                .push(location.to_string());
        }
    }
    for (file, seen) in &locations {
        assert_eq!(seen.len(), 2, "{file}");
        assert_eq!(
            seen[0], seen[1],
            "{file}: a retried create answers the first create's item"
        );
    }
    // The retried create made nothing: the one created item is there, once.
    let (_, body) = http_answer(&contacts.invoke(&http, &event("contacts-list.json")).await);
    let created_id = locations["contacts-create.json"][0]
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let created = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == created_id.as_str())
        .count();
    assert_eq!(created, 1, "{body}");
    // One created, one deleted: as many as before (a second create would show here).
    assert_eq!(count(&body), before, "{body}");

    // authorizer: allow with the caller's identity; deny without a header or the route's scope.
    let answer = authorizer
        .invoke(&http, &event("authorizer-valid.json"))
        .await;
    assert_eq!(answer["isAuthorized"], true, "{answer}");
    assert_eq!(answer["context"]["sub"], owner.as_str(), "{answer}");
    assert_eq!(
        answer["context"]["client_id"],
        machine_id.as_str(),
        "{answer}"
    );
    let scopes: Vec<&str> = answer["context"]["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .collect();
    assert!(scopes.contains(&"read:contacts"), "{answer}");
    for name in [
        "authorizer-missing-header.json",
        "authorizer-wrong-scope.json",
    ] {
        let answer = authorizer.invoke(&http, &event(name)).await;
        assert_eq!(answer["isAuthorized"], false, "{name}: {answer}");
    }

    // Behind the local API Gateway, as deployed: the template's Lambda authorizer (under watch)
    // in front of the functions (under watch).
    let token = common::api::machine_token(&stack, None).await;
    let contacts_only = common::api::machine_token(&stack, Some("read:contacts")).await;
    let api = |method: reqwest::Method, path: &str, token: Option<&str>| {
        let mut request = http.request(method, format!("{}{path}", stack.api_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    };
    let answer = api(reqwest::Method::GET, "/contacts", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert!(!body["items"].as_array().unwrap().is_empty(), "{body}");
    let answer = api(reqwest::Method::GET, "/contacts", None)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(
        answer.json::<Value>().await.unwrap(),
        serde_json::json!({"message": "Unauthorized"})
    );
    let answer = api(reqwest::Method::GET, "/calendar", Some(&contacts_only))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    assert_eq!(
        answer.json::<Value>().await.unwrap(),
        serde_json::json!({"message": "Forbidden"})
    );
    let answer = api(reqwest::Method::POST, "/calendar", Some(&token))
        .json(&serde_json::json!({"title": "Through the gateway", "start": "2030-01-01T09:00:00Z", "end": "2030-01-01T10:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201, "{:?}", answer.text().await);
    // The function's log line says which authorizer let the request through.
    assert!(
        calendar.log_text().contains(r#""authorizer":"lambda""#),
        "{}",
        calendar.log_text()
    );

    drop((contacts, calendar, authorizer));
    stack.stop().await;
    fs::remove_dir_all(&dir).unwrap();
}
