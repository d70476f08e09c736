//! The Lambda authorizer: API Gateway asks it, before the route's function runs, whether the
//! request's bearer token is valid and grants the scope that route needs.
//!
//! It answers the simple response of payload 2.0: `{"isAuthorized": bool, "context": {...}}`.
//! Anything wrong — no header, a malformed event, an unknown route, a bad token, a missing
//! scope — is `isAuthorized: false`, never an error or a timeout. Decisions are per route:
//! the SAM template caches them keyed on the Authorization header *and* `$context.routeKey`,
//! so an answer for `GET /contacts` is never reused for `GET /calendar`.
//!
//! With DPoP on (`DPOP_MODE`, see `organizer_shared::access`) it runs the functions' own access
//! check: a DPoP-bound token only as `Authorization: DPoP` with a proof for this request, by
//! the token's key. It checks the proof fully but does not record its `jti`: the function
//! behind it records it, and recording here too would make every request its own replay. So
//! that a cached Allow can never be reused with an old proof, the template keys the cache on
//! the `DPoP` header too (DPoP required), or turns the cache off (DPoP allowed).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, HeaderName, HeaderValue};
use organizer_shared::access::{AccessCheck, AccessConfig, Recording, RequestFacts, request_url};
use organizer_shared::config::{ConfigError, Env};
use organizer_shared::dpop::MemoryReplayStore;
use organizer_shared::error::AuthError;
use organizer_shared::metrics::{Denial, Metrics, note, note_denial};
use organizer_shared::routes::routes;
use organizer_shared::{AccessClaims, ScopeCheck, TokenVerifier};
use organizer_shared::{AuthConfig, StartupError};
use serde_json::{Value, json};
use tracing::Instrument;

/// Which scopes each route needs, by API Gateway route key (`GET /contacts/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteScopes(HashMap<String, Vec<String>>);

/// The route table's scopes (`organizer_shared::routes::routes()`, from the manifest).
impl Default for RouteScopes {
    fn default() -> Self {
        Self(
            routes()
                .iter()
                .map(|route| {
                    let scopes = route.scope.0.iter().map(|s| s.to_string()).collect();
                    (route.key().to_string(), scopes)
                })
                .collect(),
        )
    }
}

impl RouteScopes {
    /// `ROUTE_SCOPES` replaces the defaults: `GET /contacts=read:contacts;GET /calendar=read:calendar`.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let Some(raw) = env.get("ROUTE_SCOPES").filter(|v| !v.trim().is_empty()) else {
            return Ok(Self::default());
        };
        let mut map = HashMap::new();
        for entry in raw.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((route, scope)) = entry.split_once('=') else {
                return Err(ConfigError {
                    variable: "ROUTE_SCOPES",
                    problem: format!("{entry:?} is not ROUTE=SCOPE"),
                    example: "GET /contacts=read:contacts;GET /calendar=read:calendar",
                });
            };
            let scopes = scope.split_whitespace().map(str::to_string).collect();
            map.insert(route.trim().to_string(), scopes);
        }
        Ok(Self(map))
    }

    /// The scopes `route_key` needs, all of them; `None` for a route not in the map.
    pub fn scopes_for(&self, route_key: &str) -> Option<Vec<&str>> {
        self.0
            .get(route_key)
            .map(|scopes| scopes.iter().map(String::as_str).collect())
    }
}

/// Built once per container, borrowed by every invocation.
pub struct AuthorizerState {
    pub verifier: Arc<TokenVerifier>,
    pub routes: RouteScopes,
    /// Each decision's metrics document (`Service` = `authorizer`).
    pub metrics: Metrics,
    /// The credentials taken (`DPOP_MODE`), proofs checked but not recorded.
    pub access: AccessCheck,
}

fn deny() -> Value {
    json!({"isAuthorized": false})
}

impl AuthorizerState {
    /// The state of the authorizer from its environment: `AUTH0_DOMAIN` or `ISSUER`,
    /// `AUDIENCE`, `JWKS_URI`, and optionally `ROUTE_SCOPES`, `DPOP_MODE` and
    /// `PUBLIC_API_URL` (an error names the variable). Nothing is fetched yet.
    pub fn from_env(env: &impl Env) -> Result<Self, StartupError> {
        let auth = AuthConfig::from_env(env)?;
        let verifier = TokenVerifier::from_config(&auth)?;
        Ok(Self {
            routes: RouteScopes::from_env(env)?,
            // The replay store is never written: the authorizer checks proofs only.
            access: AccessCheck::new(
                verifier.clone(),
                AccessConfig::from_env(env)?,
                Arc::new(MemoryReplayStore::new(1)),
                Recording::CheckOnly,
            ),
            verifier,
            metrics: Metrics::from_env(env, "authorizer"),
        })
    }

    /// A state with the given verifier, routes and access check (tests, the local gateway).
    pub fn new(verifier: Arc<TokenVerifier>, routes: RouteScopes, access: AccessCheck) -> Self {
        Self {
            verifier,
            routes,
            access,
            metrics: Metrics::new(
                organizer_shared::metrics::DEFAULT_NAMESPACE,
                "authorizer",
                Arc::new(organizer_shared::metrics::Stdout),
            ),
        }
    }
}

/// The Authorization value API Gateway passed: the request's header (the identity sources
/// are in the template's order, which the authorizer should not depend on), else the first
/// identity source.
fn authorization(event: &Value) -> Option<&str> {
    let from_headers = event
        .get("headers")
        .and_then(Value::as_object)
        .and_then(|headers| {
            headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
                .and_then(|(_, v)| v.as_str())
        });
    from_headers.or_else(|| {
        event
            .get("identitySource")
            .and_then(Value::as_array)
            .and_then(|s| s.first())
            .and_then(Value::as_str)
    })
}

/// The value of the event's header `name` (API Gateway lower-cases names).
fn header<'e>(event: &'e Value, name: &str) -> Option<&'e str> {
    event
        .get("headers")
        .and_then(Value::as_object)
        .and_then(|headers| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str())
        })
}

/// Decides one authorizer request, and writes its metrics document (allowed, or denied by
/// reason; `AuthorizerErrors` when the keys were unavailable). Never fails: every problem is
/// a deny.
pub async fn authorize(state: &AuthorizerState, event: &Value) -> Value {
    authorize_traced(state, event, None).await
}

/// [`authorize`] for an invocation with an X-Ray trace id (Lambda's context gives it): every
/// log line of the decision and its metrics document carry it.
pub async fn authorize_traced(
    state: &AuthorizerState,
    event: &Value,
    trace_id: Option<&str>,
) -> Value {
    let started = Instant::now();
    let span = tracing::info_span!(
        "authorize",
        trace_id = trace_id.map_or("-", organizer_shared::metrics::trace_root)
    );
    let (decision, tally) = state
        .metrics
        .measure(decide(state, event).instrument(span))
        .await;
    let allowed = decision.get("isAuthorized") == Some(&Value::Bool(true));
    let failed = !allowed && tally.denial.is_none();
    state
        .metrics
        .decision(&tally, allowed, failed, started.elapsed(), trace_id);
    decision
}

/// Notes why a request is denied (the step that failed may have said more precisely).
fn denied(error: &AuthError) {
    if let Some(denial) = Denial::of(error) {
        note_denial(denial);
    }
}

async fn decide(state: &AuthorizerState, event: &Value) -> Value {
    let Some(route) = event.get("routeKey").and_then(Value::as_str) else {
        tracing::warn!(event = "authorizer_deny", "deny: the event has no routeKey");
        note_denial(Denial::Other);
        return deny();
    };
    note(|t| t.route = Some(route.to_string().into()));
    let Some(scopes) = state.routes.scopes_for(route) else {
        tracing::warn!(event = "authorizer_deny", %route, "deny: no scope is configured for this route");
        note_denial(Denial::Other);
        return deny();
    };
    let Some(value) = authorization(event).and_then(|v| HeaderValue::from_str(v).ok()) else {
        note_denial(Denial::NoToken);
        return deny();
    };
    let mut headers = HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, value);
    if let Some(proof) = header(event, "dpop").and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(HeaderName::from_static("dpop"), proof);
    }
    let context = |pointer: &str| event.pointer(pointer).and_then(Value::as_str);
    let url = || {
        request_url(
            state.access.config.public_url.as_deref(),
            header(event, "x-forwarded-proto"),
            header(event, "host").or(context("/requestContext/domainName")),
            context("/rawPath").unwrap_or("/"),
            context("/requestContext/stage"),
        )
    };
    let facts = RequestFacts {
        headers: &headers,
        method: context("/requestContext/http/method").unwrap_or(""),
        url: &url,
    };
    let start = organizer_shared::xray::now();
    let checked = state.access.check(&facts).await;
    organizer_shared::metrics::span("verify token", start, checked.is_err());
    let claims: Arc<AccessClaims> = match checked {
        Ok(claims) => claims,
        Err(error) => {
            tracing::info!(event = "authorizer_deny", %route, %error, "deny");
            denied(&error);
            return deny();
        }
    };
    if let Err(error) = ScopeCheck(&scopes).check(&claims) {
        tracing::info!(event = "authorizer_deny", %route, sub = %claims.sub, %error, "deny");
        denied(&error);
        return deny();
    }
    json!({
        "isAuthorized": true,
        "context": {
            "sub": claims.sub,
            "scope": claims.scope_string(),
            "client_id": claims.client_id.clone().unwrap_or_default(),
        }
    })
}
