//! A local API Gateway built from a template (the repository's, or an edited copy), with the
//! dev tenant of a running stack as its issuer, and functions the tests can watch:
//!
//! - [`FakeLambda`]: a Lambda Invoke API on a free port (what `cargo lambda watch` serves)
//!   whose functions echo their event, answer as an authorizer would, or misbehave;
//! - [`Counting`]: the real authorizer, in process, counting its invocations.
//!
//! Requests go to [`Gateway::handle`] without a socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use authorizer::AuthorizerState;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::response::IntoResponse;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use organizer_local::RunningStack;
use organizer_local::gateway::functions::{AuthorizerHandler, Remote, Target};
use organizer_local::gateway::template::Overrides;
use organizer_local::gateway::{Gateway, TemplateOptions, load};
use organizer_local::linked::TemplateEnv;
use serde_json::{Value, json};

use crate::common::{repo, stack, temp_dir};

/// The repository's template with `edit` applied, written to a fresh folder.
pub fn edited_template(edit: impl FnOnce(String) -> String) -> PathBuf {
    let yaml = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    let edited = edit(yaml.clone());
    assert_ne!(edited, yaml, "the edit changed nothing");
    let dir = temp_dir("organizer-template");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("template.yaml");
    std::fs::write(&path, edited).unwrap();
    path
}

/// Functions behind a Lambda Invoke API, by name, recording every event they get.
#[derive(Clone)]
pub struct FakeLambda {
    pub url: String,
    events: Recorded,
}

/// The events each fake function got: (its name, the event).
type Recorded = Arc<Mutex<Vec<(String, Value)>>>;

async fn invoke(
    State(events): State<Recorded>,
    UrlPath(name): UrlPath<String>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    events.lock().unwrap().push((name.clone(), event.clone()));
    let json = |v: Value| (StatusCode::OK, axum::Json(v)).into_response();
    match name.as_str() {
        // An HTTP function that answers with the event it got.
        "echo" => json(json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json", "access-control-allow-origin": "*"},
            "body": event.to_string(),
        })),
        // An authorizer that lets everything through, with a context of its own.
        "allow" => json(json!({"isAuthorized": true, "context": {"from": "fake", "n": 1}})),
        "deny" => json(json!({"isAuthorized": false})),
        "not-a-bool" => json(json!({"isAuthorized": "true"})),
        "malformed" => (StatusCode::OK, "this is not JSON").into_response(),
        // cargo lambda watch answers a function's error with a 500 ...
        "fails" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"errorType": "Error", "errorMessage": "boom"})),
        )
            .into_response(),
        // ... Lambda itself with a 200 and X-Amz-Function-Error.
        "function-error" => (
            StatusCode::OK,
            [("x-amz-function-error", "Unhandled")],
            axum::Json(json!({"errorType": "Error", "errorMessage": "boom"})),
        )
            .into_response(),
        "hangs" => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            json(json!({"isAuthorized": true}))
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

impl FakeLambda {
    pub async fn start() -> Self {
        let events = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route(
                "/2015-03-31/functions/{name}/invocations",
                axum::routing::post(invoke),
            )
            .with_state(events.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, events }
    }

    pub fn target(&self, name: &str) -> Target {
        Target::Remote(Remote::new(&self.url, name))
    }

    /// The events function `name` got, in order.
    pub fn events(&self, name: &str) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

/// An in-process authorizer that counts its invocations.
pub struct Counting<T> {
    pub inner: T,
    pub calls: AtomicUsize,
}

impl<T: AuthorizerHandler> AuthorizerHandler for Counting<T> {
    fn call<'a>(
        &'a self,
        event: &'a Value,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Value> + Send + 'a>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.call(event)
    }
}

/// An in-process authorizer that panics.
pub struct Panics;

impl AuthorizerHandler for Panics {
    fn call<'a>(
        &'a self,
        _event: &'a Value,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Value> + Send + 'a>> {
        Box::pin(async { panic!("the authorizer panics") })
    }
}

/// A gateway under test, with a stack for the tenant (its tokens and keys).
pub struct Harness {
    pub stack: RunningStack,
    pub gateway: Gateway,
    pub lambda: FakeLambda,
    /// The real authorizer's invocations (when it is the one in use).
    pub authorizer: Arc<Counting<AuthorizerState>>,
}

/// How to build a [`Harness`].
pub struct Setup<'a> {
    pub template: PathBuf,
    pub overrides: &'a [&'a str],
    /// Functions replaced, by logical id; the default: both HTTP functions echo their event,
    /// the authorizer is the real one (counted).
    pub targets: Vec<(&'a str, Target)>,
    pub throttling: bool,
}

impl Default for Setup<'_> {
    fn default() -> Self {
        Self {
            template: repo().join("template.yaml"),
            overrides: &[],
            targets: Vec::new(),
            throttling: false,
        }
    }
}

struct Shared(Arc<Counting<AuthorizerState>>);

impl AuthorizerHandler for Shared {
    fn call<'a>(
        &'a self,
        event: &'a Value,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Value> + Send + 'a>> {
        self.0.call(event)
    }
}

impl Harness {
    pub async fn new(setup: Setup<'_>) -> Self {
        Self::try_new(setup).await.unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn try_new(setup: Setup<'_>) -> Result<Self, String> {
        let stack = stack().await;
        let lambda = FakeLambda::start().await;
        let loaded = load(
            &TemplateOptions {
                path: setup.template.clone(),
                overrides: Overrides::parse(setup.overrides)?,
            },
            &[
                ("Issuer", stack.tenant.issuer.clone()),
                ("Audience", "organize".into()),
                ("AllowedOrigins", "http://localhost:3000".into()),
            ],
            &[],
            "http://localhost:3001",
        )
        .map_err(|e| e.to_string())?;
        // The template's authorizer environment; in modes without one, the dev tenant's (the
        // counted authorizer is then unused).
        let authorizer_env = loaded
            .api
            .functions
            .values()
            .find(|f| f.binary.as_deref() == Some("authorizer"))
            .map(|f| f.environment.clone())
            .unwrap_or_else(|| {
                [("ISSUER".to_string(), stack.tenant.issuer.clone())]
                    .into_iter()
                    .collect()
            });
        let authorizer = Arc::new(Counting {
            inner: AuthorizerState::from_env(&TemplateEnv(&authorizer_env))
                .map_err(|e| e.to_string())?,
            calls: AtomicUsize::new(0),
        });
        let mut targets: HashMap<String, Target> = HashMap::new();
        for function in loaded.api.functions.values() {
            let target = if function.binary.as_deref() == Some("authorizer") {
                Target::Authorizer(Arc::new(Shared(authorizer.clone())))
            } else {
                lambda.target("echo")
            };
            targets.insert(function.id.clone(), target);
        }
        for (id, target) in setup.targets {
            targets.insert(id.to_string(), target);
        }
        let gateway = Gateway::new(loaded.api, &targets, HashMap::new(), setup.throttling)?;
        Ok(Self {
            stack,
            gateway,
            lambda,
            authorizer,
        })
    }

    pub fn authorizer_calls(&self) -> usize {
        self.authorizer.calls.load(Ordering::SeqCst)
    }

    /// A request through the gateway: its status, headers and body (JSON, or a string).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut map = HeaderMap::new();
        map.insert("host", HeaderValue::from_static("localhost:3001"));
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let uri: http::Uri = path.parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let response = self
            .gateway
            .handle(
                &Method::from_bytes(method.as_bytes()).unwrap(),
                &uri,
                &map,
                body.as_bytes(),
                peer,
            )
            .await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, body)
    }

    /// A GET with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, HeaderMap, Value) {
        self.send(
            "GET",
            path,
            &[("authorization", &format!("Bearer {token}"))],
            "",
        )
        .await
    }
}

/// The body API Gateway answers with itself.
pub fn message(text: &str) -> Value {
    json!({ "message": text })
}
