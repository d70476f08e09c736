//! `organizer events`: ready-to-invoke copies of `events/*.json` with fresh tokens, and of the
//! function events as the template's API Gateway would send them in each authorizer mode.
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
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use organizer_shared::JwksCache;
use organizer_shared::signing::jwks_document;
use organizer_shared::store::sample;
use serde_json::Value;

use crate::gateway::definition::AuthorizerDef;
use crate::gateway::event::function_event_json;
use crate::gateway::functions::{EventHandler, FunctionAnswer, Target};
use crate::gateway::jwt::JwtAuthorizer;
use crate::gateway::{Gateway, TemplateOptions};
use crate::linked::TemplateEnv;
use crate::tenant::grants::client_credentials;
use crate::tenant::params::Params;
use crate::tenant::{Client, Tenant};

/// Writes every `*.json` of `templates` into `out` with the placeholders filled in; returns the
/// files written.
pub fn write(tenant: &Tenant, templates: &Path, out: &Path) -> Result<Vec<PathBuf>, String> {
    let machine = tenant
        .clients
        .iter()
        .find(|c| c.is_confidential() && c.allows_grant("client_credentials"))
        .ok_or("tenant.yaml has no machine-to-machine client with client_credentials")?;
    let token = mint(tenant, machine, None)?;
    let contacts_only = mint(tenant, machine, Some("read:contacts"))?;
    let owner = format!("{}@clients", machine.id);
    let contact_id = sample::contacts(&owner)
        .first()
        .map(|c| c.id.clone())
        .unwrap_or_default();
    let event_id = sample::events(&owner)
        .first()
        .map(|e| e.id.clone())
        .unwrap_or_default();
    fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut written = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(templates)
        .map_err(|e| format!("{}: {e}", templates.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let filled = text
            .replace("__TOKEN_CONTACTS_ONLY__", &contacts_only)
            .replace("__TOKEN__", &token)
            .replace("__CONTACT_ID__", &contact_id)
            .replace("__EVENT_ID__", &event_id);
        let target = out.join(path.file_name().unwrap_or_default());
        fs::write(&target, filled).map_err(|e| format!("{}: {e}", target.display()))?;
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
