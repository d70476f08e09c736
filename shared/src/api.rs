//! HTTP plumbing shared by every service's function: the request pipeline around each route
//! (CORS, authentication, error mapping, logging) and the small parsers of paths, query
//! parameters and cursors. The generic handler is in [`crate::service`].
//!
//! The functions answer API Gateway HTTP API (payload 2.0) events through `lambda_http`, and
//! the local gateway feeds them the same events, so this is the only HTTP layer there is.

use std::sync::Arc;

use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::access::{AccessCheck, AccessConfig, Recording, RequestFacts, request_url};
use crate::config::{AuthConfig, ConfigError, Env, ProcessEnv};
use crate::dpop::{MemoryReplayStore, ReplayStore};
use crate::error::ApiError;
use crate::manifest::ServiceSpec;
use crate::metrics::{self, DEFAULT_NAMESPACE, Denial, Metrics, Stdout};
use crate::routes::{self, Miss, Route};
use crate::scope::ScopeCheck;
use crate::startup::{self, StartupError};
use crate::store::model::is_valid_id;
use crate::store::{DEFAULT_LIMIT, MAX_LIMIT, StoreError, cursor};
use crate::token::{AccessClaims, TokenVerifier};

/// Which browser origins may call the API (`ALLOWED_ORIGINS`, comma-separated exact origins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    pub fn new(origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            origins: origins.into_iter().map(Into::into).collect(),
        }
    }

    /// Reads `ALLOWED_ORIGINS`. Each entry is an exact origin (`scheme://host[:port]`, no path);
    /// `*` is refused: the API answers with user data and deserves a named list.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let example = "http://localhost:3000,https://d111111abcdef8.cloudfront.net";
        let raw = env.get("ALLOWED_ORIGINS").unwrap_or_default();
        let mut origins = Vec::new();
        for origin in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                && origin.split_once("://").is_some_and(|(_, rest)| {
                    !rest.is_empty() && !rest.contains(['/', '?', '#', '@', '*'])
                });
            if !valid {
                return Err(ConfigError {
                    variable: "ALLOWED_ORIGINS",
                    problem: format!(
                        "{origin:?} is not an origin (scheme://host[:port], no path, no wildcard)"
                    ),
                    example,
                });
            }
            origins.push(origin.to_string());
        }
        Ok(Self { origins })
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }

    fn decorate(&self, origin: Option<&str>, response: &mut Response<Body>) {
        let headers = response.headers_mut();
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = origin.filter(|o| self.allows(o))
            && let Ok(value) = HeaderValue::from_str(origin)
        {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("WWW-Authenticate, DPoP-Nonce, ETag, Location"),
            );
        }
    }
}

/// What every request of a function needs: which service it is, the verifier, the CORS
/// policy and the realm. Built once in `main` and borrowed by each invocation.
pub struct ApiContext {
    pub service: &'static ServiceSpec,
    pub verifier: Arc<TokenVerifier>,
    pub cors: Cors,
    /// The `realm` of every `WWW-Authenticate` challenge: the logical API's identifier.
    pub realm: String,
    /// Where each invocation's metrics go (stdout in Lambda, the figures locally).
    pub metrics: Metrics,
    /// The credentials this API takes (`DPOP_MODE`), over `verifier`. Defaults to bearer
    /// tokens only.
    pub access: AccessCheck,
}

impl ApiContext {
    /// `realm` is the API's identifier, the audience the verifier requires.
    pub fn new(
        service: &'static ServiceSpec,
        verifier: Arc<TokenVerifier>,
        cors: Cors,
        realm: impl Into<String>,
    ) -> Self {
        Self {
            service,
            access: AccessCheck::bearer_only(verifier.clone()),
            verifier,
            cors,
            realm: realm.into(),
            metrics: Metrics::new(DEFAULT_NAMESPACE, &service.name, Arc::new(Stdout)),
        }
    }

    /// This context taking the credentials `access` takes (DPoP, see [`crate::access`]).
    pub fn with_access(mut self, access: AccessCheck) -> Self {
        self.access = access;
        self
    }

    /// The context of a Lambda function, from its environment: the configuration (an error
    /// names the variable and an example) and the verifier. Nothing is fetched yet: run
    /// [`ApiContext::warm_up`] beside the other start-up work.
    pub fn from_env(service: &'static ServiceSpec) -> Result<Self, StartupError> {
        Self::from_env_with(service, &ProcessEnv)
    }

    /// [`ApiContext::from_env`] with another environment: the local gateway gives a function
    /// linked into it the environment `template.yaml` gives it in Lambda.
    /// Proofs' `jti`s are remembered by this process only: see
    /// [`ApiContext::from_env_with_replay`] for a store every instance shares.
    pub fn from_env_with(
        service: &'static ServiceSpec,
        env: &impl Env,
    ) -> Result<Self, StartupError> {
        Self::from_env_with_replay(service, env, Arc::new(MemoryReplayStore::default()))
    }

    /// [`ApiContext::from_env_with`], proofs' `jti`s recorded in `replay` (`DPOP_MODE`
    /// allowed or required; unused when off).
    pub fn from_env_with_replay(
        service: &'static ServiceSpec,
        env: &impl Env,
        replay: Arc<dyn ReplayStore>,
    ) -> Result<Self, StartupError> {
        let auth = AuthConfig::from_env(env)?;
        let cors = Cors::from_env(env)?;
        let access = AccessConfig::from_env(env)?;
        let verifier = TokenVerifier::from_config(&auth)?;
        let access = AccessCheck::new(verifier.clone(), access, replay, Recording::Record);
        Ok(Self {
            metrics: Metrics::from_env(env, &service.name),
            ..Self::new(service, verifier, cors, auth.audience).with_access(access)
        })
    }

    /// Loads the signing keys so the first request does not wait on them.
    pub async fn warm_up(&self) {
        startup::warm_up(&self.verifier).await;
    }

    /// This function's route for the request, with its path parameter: 404 for a path it
    /// does not serve, 405 (with `Allow`) for a method it does not answer there.
    pub fn route(&self, request: &Request) -> Result<(&'static Route, Option<String>), ApiError> {
        let segments = path_segments(request);
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        match routes::resolve(self.service, request.method().as_str(), &segments) {
            Ok((route, param)) => Ok((route, param.map(str::to_string))),
            Err(Miss::NotFound) => Err(ApiError::NotFound(format!(
                "no such route: use {}",
                routes::describe(self.service)
            ))),
            Err(Miss::MethodNotAllowed { allow }) => Err(ApiError::MethodNotAllowed { allow }),
        }
    }

    /// The access token's claims, if the credentials are acceptable ([`AccessCheck`]: a
    /// bearer token, or a DPoP-bound token with its proof) and the token grants `scope`.
    pub async fn authorize(
        &self,
        request: &Request,
        scope: ScopeCheck<'_>,
    ) -> Result<Arc<AccessClaims>, ApiError> {
        let url = || self.url_of(request);
        let start = crate::xray::now();
        let checked = self
            .access
            .check(&RequestFacts {
                headers: request.headers(),
                method: request.method().as_str(),
                url: &url,
            })
            .await;
        metrics::span("verify token", start, checked.is_err());
        let claims = checked?;
        scope.check(&claims)?;
        Ok(claims)
    }

    /// The URL the client called, as a DPoP proof's `htu` names it ([`request_url`]): from the
    /// event's `x-forwarded-proto`, `Host` (else `requestContext.domainName`) and raw path, or
    /// `PUBLIC_API_URL`.
    pub fn url_of(&self, request: &Request) -> String {
        let (raw_path, domain, stage) = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => (
                ctx.http.path.as_deref(),
                ctx.domain_name.as_deref(),
                ctx.stage.as_deref(),
            ),
            _ => (None, None, None),
        };
        request_url(
            self.access.config.public_url.as_deref(),
            header_str(
                request,
                header::HeaderName::from_static("x-forwarded-proto"),
            ),
            header_str(request, header::HOST).or(domain),
            raw_path.unwrap_or_else(|| request.uri().path()),
            stage,
        )
    }

    /// Answers a CORS preflight, or `None` when `request` is not one.
    pub fn preflight(&self, request: &Request) -> Option<Response<Body>> {
        if request.method() != Method::OPTIONS {
            return None;
        }
        let origin = header_str(request, header::ORIGIN);
        let wanted = header_str(request, header::ACCESS_CONTROL_REQUEST_METHOD);
        let methods = routes::methods_of(self.service);
        let allow = methods.join(", ");
        let response = match (origin, wanted) {
            (Some(origin), Some(method))
                if self.cors.allows(origin) && methods.contains(&method) =>
            {
                let mut r = empty(StatusCode::NO_CONTENT);
                let h = r.headers_mut();
                if let Ok(v) = HeaderValue::from_str(origin) {
                    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
                }
                if let Ok(v) = HeaderValue::from_str(&format!("{allow}, OPTIONS")) {
                    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
                }
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static(
                        "authorization, content-type, dpop, if-match, idempotency-key",
                    ),
                );
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("600"),
                );
                h.append(header::VARY, HeaderValue::from_static("Origin"));
                r
            }
            (Some(origin), Some(_)) if self.cors.allows(origin) => {
                self.error(&ApiError::MethodNotAllowed { allow })
            }
            (Some(_), Some(_)) => self.error(&ApiError::OriginNotAllowed),
            _ => self.error(&ApiError::MethodNotAllowed { allow }),
        };
        Some(response)
    }

    /// Turns a route's result into the response: errors mapped in one place, CORS and
    /// security headers added, one log line written.
    pub fn respond(
        &self,
        request: &Request,
        result: Result<Response<Body>, ApiError>,
    ) -> Response<Body> {
        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                match &error {
                    ApiError::Auth(auth) => {
                        if let Some(denial) = Denial::of(auth) {
                            metrics::note_denial(denial);
                        }
                    }
                    ApiError::QuotaExceeded { .. } => metrics::note(|t| t.quota_refused = true),
                    _ => {}
                }
                match &error {
                    ApiError::Internal(detail) => {
                        tracing::error!(event = "request_failed", %detail, "request failed")
                    }
                    ApiError::Unavailable(detail) => {
                        tracing::warn!(event = "store_unavailable", %detail, "store unavailable")
                    }
                    _ => {
                        tracing::info!(event = "request_refused", error = %error, "request refused")
                    }
                }
                self.error(&error)
            }
        };
        self.cors
            .decorate(header_str(request, header::ORIGIN), &mut response);
        // In Lambda the request's metrics document is its log line (written by the caller,
        // `service::handle`): one line per request.
        if !self.metrics.logs_requests() {
            tracing::info!(event = "request", method = %request.method(), path = %request.uri().path(), status = response.status().as_u16(), authorizer = gateway_authorizer(request), "request");
        }
        response
    }

    fn error(&self, error: &ApiError) -> Response<Body> {
        let mut response = json(error.status(), &error.body());
        for (name, value) in error.headers_with(&self.access.challenges(&self.realm)) {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// Which of API Gateway's authorizers let the request through (from its event), for the log:
/// `lambda`, `jwt`, or `none` (no authorizer on the route, or an event from elsewhere).
pub fn gateway_authorizer(request: &Request) -> &'static str {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => match &ctx.authorizer {
            Some(a) if a.jwt.is_some() => "jwt",
            Some(a) if !a.fields.is_empty() => "lambda",
            Some(a) if a.iam.is_some() => "iam",
            _ => "none",
        },
        _ => "none",
    }
}

fn header_str(request: &Request, name: header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// An answer without a body (a preflight's, a delete's), never cached.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The size of the last JSON answer of this thread: the next one starts with room for it
/// instead of growing from 128 bytes (a page of contacts is about 4 KB: six reallocations).
fn size_hint() -> &'static std::thread::LocalKey<std::cell::Cell<usize>> {
    thread_local! {
        static LAST: std::cell::Cell<usize> = const { std::cell::Cell::new(256) };
    }
    &LAST
}

/// The `{id}` of an item route, checked before it reaches the store: an id the service could
/// never have made is a 400 that says what ids look like, not a lookup. `one` names an item
/// ("contact", "event").
pub fn item_id<'a>(id: Option<&'a str>, one: &str) -> Result<&'a str, ApiError> {
    let id = id.unwrap_or("");
    if is_valid_id(id) {
        Ok(id)
    } else {
        Err(ApiError::BadRequest(format!(
            "{one} ids are 1 to 64 letters, digits, '-' or '_'"
        )))
    }
}

/// A JSON response that is never cached or sniffed.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    let mut buffer = Vec::with_capacity(size_hint().get());
    let serialized = serde_json::to_writer(&mut buffer, body)
        .map_err(|_| ())
        .and_then(|()| String::from_utf8(buffer).map_err(|_| ()));
    let (status, text) = match serialized {
        Ok(text) => {
            size_hint().set(text.len().next_power_of_two().min(1 << 20));
            (status, text)
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, r#"{"error":"server_error","error_description":"the server failed to answer this request"}"#.to_string()),
    };
    json_text(status, text)
}

/// A JSON answer already serialized (a stored one, replayed): the same headers as [`json`].
pub fn json_text(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A list answer: `{"items": [...], "next": "<cursor>" | null}`.
#[derive(Serialize)]
pub struct ListBody<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The path's segments, without the API Gateway stage prefix (`/prod/contacts` → `contacts`).
pub fn path_segments(request: &Request) -> Vec<String> {
    let path = request.uri().path();
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone().filter(|s| s != "$default"),
        _ => None,
    };
    let path = match stage {
        Some(stage) => path
            .strip_prefix(&format!("/{stage}"))
            .filter(|p| p.is_empty() || p.starts_with('/'))
            .unwrap_or(path),
        None => path,
    };
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The query string, parsed strictly: each parameter at most once.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(request: &Request) -> Result<Self, ApiError> {
        let raw = request.uri().query().unwrap_or("");
        if raw.len() > 2048 {
            return Err(ApiError::BadRequest("the query string is too long".into()));
        }
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect();
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(ApiError::BadRequest(format!(
                    "query parameter {name} is repeated"
                )));
            }
        }
        Ok(Self(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `limit`: 1 to 100, default 50.
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(ApiError::BadRequest(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}"
                ))),
            },
        }
    }

    /// `cursor`: decoded for this listing and owner, and checked by `valid`; a 400 otherwise.
    pub fn cursor(
        &self,
        kind: &str,
        owner: &str,
        valid: impl Fn(&str) -> bool,
    ) -> Result<Option<String>, ApiError> {
        match self.get("cursor") {
            None => Ok(None),
            Some(raw) => cursor::decode(kind, owner, raw)
                .filter(|key| valid(key))
                .map(Some)
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "the cursor is invalid: use the `next` value of a previous page".into(),
                    )
                }),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(detail) => ApiError::Unavailable(detail),
            StoreError::Backend(detail) => ApiError::Internal(detail),
        }
    }
}
