//! `organizer events`: ready-to-invoke events for every route of every service of the manifest,
//! with fresh tokens, and the same function events as the template's API Gateway would send
//! them in each authorizer mode.
//!
//! The events are built from the manifest (`services.yaml`) and each service's sample data, by
//! the local gateway's own event builder, so a new service gets its events without a file of
//! its own: per service `<name>-list`, `-get`, `-create` (with an `Idempotency-Key`),
//! `-replace` (`If-Match: *`), `-delete`, `-list-no-token` (401) and `-list-wrong-scope` (403,
//! a token with another service's read scope only); and `authorizer-valid`,
//! `authorizer-missing-header`, `authorizer-wrong-scope` for the Lambda authorizer.
//!
//! Tokens come from the dev tenant's own client-credentials grant, for its machine client, so
//! they are exactly what `POST /oauth/token` would return; ids are those of the sample data the
//! local stack seeds for that client.
//!
//! The per-mode copies are not written by hand: each event's request goes through the local
//! gateway built from the template with that `AuthorizerMode` — the real authorizer or JWT
//! authorizer, trusting the tenant's keys — and what the function would receive is written
//! down. A request API Gateway itself would answer (401, 403) has no event in that mode.

use std::collections::HashMap;
use std::fs;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use organizer_shared::JwksCache;
use organizer_shared::manifest::{ServiceSpec, manifest};
use organizer_shared::service::Rules;
use organizer_shared::signing::jwks_document;
use organizer_shared::store::spec;
use serde_json::Value;

use crate::gateway::definition::AuthorizerDef;
use crate::gateway::event::{
    Incoming, authorizer_event, authorizer_event_json, function_event, function_event_json,
};
use crate::gateway::functions::{EventHandler, FunctionAnswer, Target};
use crate::gateway::jwt::JwtAuthorizer;
use crate::gateway::{Gateway, TemplateOptions};
use crate::linked::{TemplateEnv, linked_item};
use crate::tenant::grants::client_credentials;
use crate::tenant::params::Params;
use crate::tenant::{Client, Tenant};

/// The host API Gateway would name in the events (a made-up API id in eu-west-1).
const HOST: &str = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com";
const SOURCE_IP: &str = "203.0.113.10";
/// 2026-11-26T09:30:00Z: the events' fixed time.
const TIME_MS: i64 = 1_795_685_400_000;

/// One request an event stands for.
struct Sample {
    name: String,
    method: Method,
    path: String,
    route_key: String,
    id: Option<String>,
    token: Option<String>,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
}

/// The headers a browser's request for `sample` carries through API Gateway.
fn headers_of(sample: &Sample) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut set = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(n, v);
        }
    };
    set("accept", "application/json");
    set("host", HOST);
    set("origin", "http://localhost:3000");
    set("user-agent", "Mozilla/5.0 (X11; Linux x86_64)");
    set("x-forwarded-for", SOURCE_IP);
    set("x-forwarded-port", "443");
    set("x-forwarded-proto", "https");
    if let Some(token) = &sample.token {
        set("authorization", &format!("Bearer {token}"));
    }
    for (name, value) in &sample.headers {
        set(name, value);
    }
    if sample.body.is_some() {
        set("content-type", "application/json");
    }
    let length = sample.body.as_ref().map_or(0, String::len);
    set("content-length", &length.to_string());
    headers
}

/// `sample` as the gateway's event builder takes it (the body only for the function: an
/// authorizer is not given it), and what it builds from it.
fn build<R>(sample: &Sample, with_body: bool, make: impl FnOnce(&Incoming<'_>) -> R) -> R {
    let headers = headers_of(sample);
    let path_parameters: HashMap<String, String> = sample
        .id
        .iter()
        .map(|id| ("id".to_string(), id.clone()))
        .collect();
    let body = match (&sample.body, with_body) {
        (Some(body), true) => body.as_bytes(),
        _ => b"",
    };
    make(&Incoming {
        method: &sample.method,
        raw_path: &sample.path,
        route_path: &sample.path,
        query: "",
        headers: &headers,
        cookies: &[],
        body,
        route_key: &sample.route_key,
        path_parameters: &path_parameters,
        stage: "$default",
        stage_variables: &HashMap::new(),
        request_id: "CkX9TiGbDoEEJmA=",
        source_ip: SOURCE_IP,
        now_ms: TIME_MS,
        api_id: "a1b2c3d4e5",
        region: "eu-west-1",
        account_id: "123456789012",
    })
}

/// The event of `sample`, as API Gateway (without an authorizer) would send it.
fn event_of(sample: &Sample) -> Value {
    build(sample, true, |incoming| {
        function_event_json(&function_event(incoming, None))
    })
}

/// The Lambda authorizer's request for `sample`: its identity sources are the Authorization
/// header and the route.
fn authorizer_event_of(sample: &Sample) -> Value {
    let identity: Vec<String> = sample
        .token
        .iter()
        .map(|token| vec![format!("Bearer {token}"), sample.route_key.clone()])
        .next()
        .unwrap_or_default();
    build(sample, false, |incoming| {
        authorizer_event_json(&authorizer_event(incoming, identity))
    })
}

/// The tokens the events carry.
struct Tokens {
    all: String,
    /// Each service's read scope alone, by service.
    read_only: HashMap<String, String>,
}

/// The samples of `T`'s service for `owner` (the machine client).
async fn samples_of<T: Rules>(owner: &str, tokens: &Tokens) -> Vec<Sample> {
    let spec = spec::<T>();
    let items = T::samples(owner);
    let (Some(first), Some(second), Some(last)) = (items.first(), items.get(1), items.last())
    else {
        return Vec::new();
    };
    let fields = |item: &T| serde_json::to_string(item.fields()).unwrap_or_default();
    let name = &spec.name;
    let list_key = format!("GET /{name}");
    let item_path = format!("/{name}/{}", first.id());
    let other = manifest()
        .services
        .iter()
        .find(|s| s.name != *name)
        .and_then(|s| tokens.read_only.get(&s.name))
        .cloned();
    let mut out = vec![
        Sample {
            name: format!("{name}-list"),
            method: Method::GET,
            path: format!("/{name}"),
            route_key: list_key.clone(),
            id: None,
            token: Some(tokens.all.clone()),
            headers: vec![],
            body: None,
        },
        Sample {
            name: format!("{name}-get"),
            method: Method::GET,
            path: item_path.clone(),
            route_key: format!("GET /{name}/{{id}}"),
            id: Some(first.id().into()),
            token: Some(tokens.all.clone()),
            headers: vec![],
            body: None,
        },
        Sample {
            name: format!("{name}-create"),
            method: Method::POST,
            path: format!("/{name}"),
            route_key: format!("POST /{name}"),
            id: None,
            token: Some(tokens.all.clone()),
            headers: vec![("idempotency-key", format!("sample-create-{name}-1"))],
            body: Some(fields(last)),
        },
        Sample {
            name: format!("{name}-replace"),
            method: Method::PUT,
            path: item_path.clone(),
            route_key: format!("PUT /{name}/{{id}}"),
            id: Some(first.id().into()),
            token: Some(tokens.all.clone()),
            headers: vec![("if-match", "*".into())],
            body: Some(fields(second)),
        },
        Sample {
            name: format!("{name}-delete"),
            method: Method::DELETE,
            path: item_path,
            route_key: format!("DELETE /{name}/{{id}}"),
            id: Some(first.id().into()),
            token: Some(tokens.all.clone()),
            headers: vec![],
            body: None,
        },
        Sample {
            name: format!("{name}-list-no-token"),
            method: Method::GET,
            path: format!("/{name}"),
            route_key: list_key.clone(),
            id: None,
            token: None,
            headers: vec![],
            body: None,
        },
    ];
    if let Some(other) = other {
        out.push(Sample {
            name: format!("{name}-list-wrong-scope"),
            method: Method::GET,
            path: format!("/{name}"),
            route_key: list_key,
            id: None,
            token: Some(other),
            headers: vec![],
            body: None,
        });
    }
    out
}

/// Writes every event into `out`; returns the files written.
pub async fn write(tenant: &Tenant, out: &Path) -> Result<Vec<PathBuf>, String> {
    let machine = tenant
        .clients
        .iter()
        .find(|c| c.is_confidential() && c.allows_grant("client_credentials"))
        .ok_or("tenant.yaml has no machine-to-machine client with client_credentials")?;
    let mut read_only = HashMap::new();
    for service in &manifest().services {
        read_only.insert(
            service.name.clone(),
            mint(tenant, machine, Some(&service.scopes.read.name))?,
        );
    }
    let tokens = Tokens {
        all: mint(tenant, machine, None)?,
        read_only,
    };
    let owner = format!("{}@clients", machine.id);
    fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut events: Vec<(String, Value)> = Vec::new();
    for service in &manifest().services {
        let samples = linked_item!(service.binary.as_str(), samples_of(&owner, &tokens))
            .ok_or_else(|| format!("the local tool does not link {}'s item type", service.name))?;
        events.extend(samples.iter().map(|s| (s.name.clone(), event_of(s))));
    }
    // The authorizer's requests, for the first service's list route.
    if let Some(first) = manifest().services.first() {
        let second = manifest().services.get(1).unwrap_or(first);
        let sample = |token: Option<String>, service: &ServiceSpec| Sample {
            name: String::new(),
            method: Method::GET,
            path: format!("/{}", service.name),
            route_key: format!("GET /{}", service.name),
            id: None,
            token,
            headers: vec![],
            body: None,
        };
        events.push((
            "authorizer-valid".into(),
            authorizer_event_of(&sample(Some(tokens.all.clone()), first)),
        ));
        events.push((
            "authorizer-missing-header".into(),
            authorizer_event_of(&sample(None, first)),
        ));
        events.push((
            "authorizer-wrong-scope".into(),
            authorizer_event_of(&sample(tokens.read_only.get(&first.name).cloned(), second)),
        ));
    }
    let mut written = Vec::new();
    for (name, event) in events {
        let target = out.join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&event).unwrap_or_default() + "\n";
        fs::write(&target, text).map_err(|e| format!("{}: {e}", target.display()))?;
        written.push(target);
    }
    Ok(written)
}

fn mint(tenant: &Tenant, client: &Client, scope: Option<&str>) -> Result<String, String> {
    let mut params = Params::new();
    params.insert("grant_type".into(), "client_credentials".into());
    let api = tenant
        .file
        .logical_api()
        .ok_or("tenant.yaml lists no API in resourceServers")?;
    params.insert("audience".into(), api.identifier.clone());
    if let Some(scope) = scope {
        params.insert("scope".into(), scope.into());
    }
    // A Bearer token: the tool holds no DPoP key (an API that requires DPoP refuses this).
    let answer =
        client_credentials::grant(tenant, client, &params, None).map_err(|e| e.description)?;
    answer["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "no access token".to_string())
}

/// What `write_modes` did with one event in one mode.
pub struct ModeEvent {
    pub mode: String,
    pub name: String,
    /// The file written, or what API Gateway answers instead of calling the function.
    pub outcome: Result<PathBuf, String>,
}

/// A function that keeps the event it is given and answers 200.
#[derive(Default)]
struct Capture(Mutex<Option<ApiGatewayV2httpRequest>>);

impl EventHandler for Capture {
    fn call(
        &self,
        event: ApiGatewayV2httpRequest,
    ) -> Pin<Box<dyn Future<Output = FunctionAnswer> + Send + '_>> {
        if let Ok(mut kept) = self.0.lock() {
            *kept = Some(event);
        }
        Box::pin(async {
            FunctionAnswer {
                status: StatusCode::OK,
                headers: HeaderMap::new(),
                body: Vec::new(),
            }
        })
    }
}

/// For each of `modes`, the function events of `written` (from [`write`]) as the gateway of
/// `template` in that `AuthorizerMode` would send them, into `out/<mode>/`.
pub async fn write_modes(
    tenant: &Tenant,
    written: &[PathBuf],
    out: &Path,
    template: &TemplateOptions,
    modes: &[&str],
) -> Result<Vec<ModeEvent>, String> {
    let jwks = jwks_document(tenant.keys.keys.iter()).to_string();
    let mut results = Vec::new();
    for mode in modes {
        let mut options = template.clone();
        options
            .overrides
            .0
            .push(("AuthorizerMode".into(), (*mode).to_string()));
        let local = crate::local_parameters(tenant, &[], &options).map_err(|e| e.to_string())?;
        let loaded = crate::gateway::load(&options, &local, &[], "http://localhost:3001")
            .map_err(|e| e.to_string())?;
        let capture = Arc::new(Capture::default());
        let mut targets = HashMap::new();
        for function in loaded.api.invoked_functions() {
            let target = if function.binary.as_deref() == Some("authorizer") {
                let state =
                    authorizer::AuthorizerState::from_env(&TemplateEnv(&function.environment))
                        .map_err(|e| format!("{}: {e}", function.id))?;
                state
                    .verifier
                    .keys()
                    .load(jwks.as_bytes())
                    .map_err(|e| e.to_string())?;
                Target::Authorizer(Arc::new(state))
            } else {
                Target::Event(capture.clone())
            };
            targets.insert(function.id.clone(), target);
        }
        let mut jwt = HashMap::new();
        for (name, def) in &loaded.api.authorizers {
            if let AuthorizerDef::Jwt(def) = def {
                let keys = JwksCache::new(&organizer_shared::AuthConfig::for_issuer(
                    def.issuer.clone(),
                    "",
                ))
                .map_err(|e| e.to_string())?;
                keys.load(jwks.as_bytes()).map_err(|e| e.to_string())?;
                jwt.insert(name.clone(), JwtAuthorizer::with_keys(def.clone(), keys));
            }
        }
        let gateway = Gateway::new(loaded.api, &targets, jwt, false)?;
        let dir = out.join(mode);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for path in written {
            let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let event: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            // Authorizer requests are for invoking an authorizer directly.
            if event.get("type").is_some() || event["requestContext"].get("http").is_none() {
                continue;
            }
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let outcome = match replay(&gateway, &event, &capture).await {
                Ok(event) => {
                    let target = dir.join(&name);
                    let json = serde_json::to_string_pretty(&function_event_json(&event))
                        .unwrap_or_default();
                    fs::write(&target, json + "\n")
                        .map_err(|e| format!("{}: {e}", target.display()))?;
                    Ok(target)
                }
                Err(answer) => Err(answer),
            };
            results.push(ModeEvent {
                mode: (*mode).to_string(),
                name,
                outcome,
            });
        }
    }
    Ok(results)
}

/// The request an event describes, through `gateway`: the event the function gets, or the
/// gateway's own answer.
async fn replay(
    gateway: &Gateway,
    event: &Value,
    capture: &Capture,
) -> Result<ApiGatewayV2httpRequest, String> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let method = Method::from_bytes(text(&event["requestContext"]["http"]["method"]).as_bytes())
        .map_err(|e| e.to_string())?;
    let path = text(&event["rawPath"]);
    let query = text(&event["rawQueryString"]);
    let uri: http::Uri = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
    .parse()
    .map_err(|e| format!("{e}"))?;
    let mut headers = HeaderMap::new();
    if let Some(map) = event["headers"].as_object() {
        for (name, value) in map {
            if let (Ok(name), Some(Ok(value))) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    if let Some(cookies) = event["cookies"].as_array() {
        let joined: Vec<&str> = cookies.iter().filter_map(Value::as_str).collect();
        if let Ok(value) = HeaderValue::from_str(&joined.join("; ")) {
            headers.insert(http::header::COOKIE, value);
        }
    }
    let body = match event["body"].as_str() {
        Some(b) if event["isBase64Encoded"] == true => {
            STANDARD.decode(b).map_err(|e| e.to_string())?
        }
        Some(b) => b.as_bytes().to_vec(),
        None => Vec::new(),
    };
    if let Ok(mut kept) = capture.0.lock() {
        *kept = None;
    }
    let peer = SocketAddr::from(([127, 0, 0, 1], 0));
    let response = gateway.handle(&method, &uri, &headers, &body, peer).await;
    let status = response.status();
    match capture.0.lock().ok().and_then(|mut k| k.take()) {
        Some(event) => Ok(event),
        None => {
            let bytes = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap_or_default();
            Err(format!(
                "{} {}",
                status.as_u16(),
                String::from_utf8_lossy(&bytes)
            ))
        }
    }
}
