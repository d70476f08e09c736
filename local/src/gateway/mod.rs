//! The local API Gateway: the HTTP API of `template.yaml`, run as API Gateway runs it.
//!
//! Its routes, integrations, authorizers (Lambda with simple responses and its result cache,
//! or JWT), CORS and stage throttling are read from the template's `AWS::Serverless::HttpApi`
//! with the template's intrinsics computed for the chosen parameters
//! ([`template`], [`definition`]) — there is no second copy of them here. Each request then
//! goes the way it goes on AWS:
//!
//! 1. a preflight no route serves is answered from the CORS configuration;
//! 2. no route: `404 {"message":"Not Found"}`; the route's bucket empty: `429`;
//! 3. the route's authorizer ([`lambda_authorizer`], [`jwt`]) decides, with API Gateway's own
//!    answers (`401`/`403`/`500 {"message":…}`) when it does not let the request through;
//! 4. the function gets the payload 2.0 event ([`event`]) with the authorizer's part, in this
//!    process or behind a Lambda Invoke API such as `cargo lambda watch` ([`functions`]); a
//!    failure is `500`, the integration's timeout `503`;
//! 5. every answer to an allowed origin carries the configured CORS headers ([`cors`]).

pub mod cors;
pub mod definition;
pub mod event;
pub mod functions;
pub mod jwt;
pub mod lambda_authorizer;
pub mod routing;
pub mod template;
pub mod throttle;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use lambda_http::aws_lambda_events::apigw::ApiGatewayRequestAuthorizer;

use cors::GatewayCors;
use definition::{ApiDefinition, AuthorizerDef, RouteDef, Security};
use event::{Incoming, event_headers, function_event};
use functions::{InvokeError, Target};
use jwt::{JwtAuthorizer, JwtOutcome};
use lambda_authorizer::{LambdaAuthorizer, Outcome, Source};
use routing::Routes;
use template::{Evaluator, Overrides, ParameterValues, Pseudo, Template, TemplateError};
use throttle::Bucket;

/// Payloads above this are refused at once (API Gateway's HTTP API quota is 10 MB).
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// A client that has not sent its whole body by then gets a 408 and the connection is free:
/// a request announcing more bytes than it sends is not waited for forever.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How to read the template.
#[derive(Debug, Clone)]
pub struct TemplateOptions {
    /// The SAM template (default `template.yaml`).
    pub path: PathBuf,
    /// `--parameter-overrides`.
    pub overrides: Overrides,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        Self {
            path: PathBuf::from("template.yaml"),
            overrides: Overrides::default(),
        }
    }
}

/// The template read for one set of parameters.
pub struct Loaded {
    pub template: Template,
    pub parameters: ParameterValues,
    pub api: ApiDefinition,
}

/// Reads the template, resolves its parameters (defaults, then `local`, then the user's
/// overrides), checks its `Rules` and reads its HTTP API. `endpoint` is the gateway's URL
/// (what `Fn::GetAtt <Api>.ApiEndpoint` gives).
pub fn load(
    options: &TemplateOptions,
    local: &[(&str, String)],
    refs: &[(&str, String)],
    endpoint: &str,
) -> Result<Loaded, TemplateError> {
    let template = Template::load(&options.path)?;
    let file = options.path.clone();
    let parameters = ParameterValues::resolve(&template, local, &options.overrides)
        .map_err(|p| p.in_file(&file))?;
    let api = {
        let mut eval = Evaluator::new(&template, &parameters, Pseudo::default());
        for (id, value) in refs {
            eval = eval.with_ref(id, value.clone());
        }
        for (id, _) in template.resources_of_type("AWS::Serverless::HttpApi") {
            eval = eval.with_attribute(&format!("{id}.ApiEndpoint"), endpoint);
        }
        let failures = eval.rule_failures().map_err(|p| p.in_file(&file))?;
        if !failures.is_empty() {
            return Err(TemplateError {
                file: file.display().to_string(),
                at: "Rules".into(),
                problem: format!(
                    "these parameters break the template's rules (CloudFormation would refuse \
                     the stack): {}",
                    failures.join("; ")
                ),
            });
        }
        ApiDefinition::read(&template, &eval).map_err(|p| p.in_file(&file))?
    };
    Ok(Loaded {
        template,
        parameters,
        api,
    })
}

/// The running gateway: the API's definition with its functions, authorizers and buckets.
pub struct Gateway {
    api: ApiDefinition,
    routes: Routes,
    /// The function of each route, by route index.
    targets: Vec<(Target, Duration)>,
    lambda_authorizers: HashMap<String, LambdaAuthorizer>,
    jwt_authorizers: HashMap<String, JwtAuthorizer>,
    cors: Option<GatewayCors>,
    /// Each route's bucket, by route index (`None`: not throttled).
    buckets: Vec<Option<Bucket>>,
    stage_variables: HashMap<String, String>,
    pseudo: Pseudo,
}

impl Gateway {
    /// `targets` has where each function the API invokes runs, by logical id. `throttling`
    /// off serves every request however fast they come (for benchmarks).
    pub fn new(
        api: ApiDefinition,
        targets: &HashMap<String, Target>,
        jwt_authorizers: HashMap<String, JwtAuthorizer>,
        throttling: bool,
    ) -> Result<Self, String> {
        let target_of = |id: &str| -> Result<(Target, Duration), String> {
            let def = api
                .functions
                .get(id)
                .ok_or_else(|| format!("{id} is not a function of the template"))?;
            let target = targets
                .get(id)
                .cloned()
                .ok_or_else(|| format!("{id}: no way to invoke it was given"))?;
            Ok((target, def.timeout))
        };
        let mut route_targets = Vec::with_capacity(api.routes.len());
        for route in &api.routes {
            let (target, timeout) = target_of(&route.function)?;
            if matches!(target, Target::Authorizer(_)) {
                return Err(format!(
                    "{}: the route's function {} is {}, not an HTTP API function",
                    route.key,
                    route.function,
                    target.kind()
                ));
            }
            route_targets.push((target, timeout));
        }
        let mut lambda_authorizers = HashMap::new();
        let mut jwt = jwt_authorizers;
        for (name, def) in &api.authorizers {
            match def {
                AuthorizerDef::Lambda(lambda) => {
                    let (target, timeout) = target_of(&lambda.function)?;
                    if matches!(target, Target::Http(_) | Target::Event(_)) {
                        return Err(format!(
                            "authorizer {name}: its function {} is {}, not a Lambda authorizer",
                            lambda.function,
                            target.kind()
                        ));
                    }
                    lambda_authorizers.insert(
                        name.clone(),
                        LambdaAuthorizer::new(lambda.clone(), target, timeout),
                    );
                }
                AuthorizerDef::Jwt(def) => {
                    jwt.entry(name.clone())
                        .or_insert_with(|| JwtAuthorizer::new(def.clone()));
                }
            }
        }
        let buckets = api
            .routes
            .iter()
            .map(|r| {
                throttling
                    .then(|| {
                        api.route_throttles
                            .get(&r.key)
                            .or(api.default_throttle.as_ref())
                    })
                    .flatten()
                    .map(|t| Bucket::new(*t))
            })
            .collect();
        Ok(Self {
            routes: Routes::new(&api.routes),
            targets: route_targets,
            lambda_authorizers,
            jwt_authorizers: jwt,
            cors: api.cors.clone().map(GatewayCors::new),
            buckets,
            stage_variables: api.stage_variables.clone().into_iter().collect(),
            pseudo: Pseudo::default(),
            api,
        })
    }

    pub fn api(&self) -> &ApiDefinition {
        &self.api
    }

    /// A Lambda authorizer by scheme name (tests look at its cache).
    pub fn lambda_authorizer(&self, name: &str) -> Option<&LambdaAuthorizer> {
        self.lambda_authorizers.get(name)
    }

    /// Answers one request as API Gateway would.
    pub async fn handle(
        &self,
        method: &Method,
        uri: &http::Uri,
        request_headers: &HeaderMap,
        body: &[u8],
        peer: SocketAddr,
    ) -> Response {
        let request_id = request_id();
        let mut log = AccessLog::default();
        let mut response = self
            .answer(
                method,
                uri,
                request_headers,
                body,
                peer,
                &request_id,
                &mut log,
            )
            .await;
        // A preflight's answer has its CORS headers already.
        if let Some(cors) = &self.cors
            && log.decision != Some(PREFLIGHT)
        {
            cors.decorate(request_headers, response.headers_mut());
        }
        if let Ok(id) = HeaderValue::from_str(&request_id) {
            response
                .headers_mut()
                .insert(HeaderName::from_static("apigw-requestid"), id);
        }
        tracing::info!(
            event = "api_access",
            request_id = %request_id,
            method = %method,
            path = %uri.path(),
            route = log.route.unwrap_or("-"),
            status = response.status().as_u16(),
            authorizer = log.authorizer.as_deref().unwrap_or("-"),
            decision = log.decision.unwrap_or("-"),
            error = log.error.as_deref().unwrap_or("-"),
            "request"
        );
        response
    }

    #[allow(clippy::too_many_arguments)]
    async fn answer<'a>(
        &'a self,
        method: &Method,
        uri: &http::Uri,
        request_headers: &HeaderMap,
        body: &[u8],
        peer: SocketAddr,
        request_id: &str,
        log: &mut AccessLog<'a>,
    ) -> Response {
        let raw_path = uri.path();
        let Some(route_path) = self.strip_stage(raw_path) else {
            return gateway_answer(StatusCode::NOT_FOUND, "Not Found");
        };
        if method == Method::OPTIONS
            && let Some(cors) = &self.cors
            && self.routes.find("OPTIONS", route_path, true).is_none()
        {
            let mut response = empty(StatusCode::NO_CONTENT);
            response
                .headers_mut()
                .extend(cors.preflight_headers(request_headers));
            log.decision = Some(PREFLIGHT);
            return response;
        }
        let Some(matched) = self.routes.find(method.as_str(), route_path, true) else {
            return gateway_answer(StatusCode::NOT_FOUND, "Not Found");
        };
        let route: &RouteDef = &self.api.routes[matched.index];
        log.route = Some(&route.key);
        if let Some(Some(bucket)) = self.buckets.get(matched.index)
            && !bucket.take()
        {
            return gateway_answer(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        }
        let host = request_headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| http::uri::Authority::try_from(*h).is_ok())
            .unwrap_or("localhost");
        let source_ip = peer.ip().to_string();
        let Some((headers, cookies)) = event_headers(request_headers, host, &source_ip) else {
            return gateway_answer(StatusCode::BAD_REQUEST, "Bad Request");
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let incoming = Incoming {
            method,
            raw_path,
            route_path,
            query: uri.query().unwrap_or(""),
            headers: &headers,
            cookies: &cookies,
            body,
            route_key: &route.key,
            path_parameters: &matched.path_parameters,
            stage: &self.api.stage,
            stage_variables: &self.stage_variables,
            request_id,
            source_ip: &source_ip,
            now_ms,
            api_id: "local",
            region: &self.pseudo.region,
            account_id: &self.pseudo.account_id,
        };
        let authorizer = match self.authorize(route, &incoming, log).await {
            Ok(part) => part,
            Err(response) => return response,
        };
        if !route.invoke_allowed {
            log.error = Some(format!(
                "no AWS::Lambda::Permission lets API Gateway invoke {} for {}",
                route.function, route.key
            ));
            return gateway_answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
        let (target, function_timeout) = &self.targets[matched.index];
        // The function's own Timeout ends an invocation as an error (500); the integration's
        // timeout, when it is the shorter, as API Gateway's 503.
        let (limit, timed_out) = if *function_timeout < route.timeout {
            (*function_timeout, StatusCode::INTERNAL_SERVER_ERROR)
        } else {
            (route.timeout, StatusCode::SERVICE_UNAVAILABLE)
        };
        let event = function_event(&incoming, authorizer);
        match target.invoke_http(event, limit).await {
            Ok(answer) => {
                let mut response = Response::new(Body::from(answer.body));
                *response.status_mut() = answer.status;
                *response.headers_mut() = answer.headers;
                response
            }
            Err(InvokeError::Failed(why)) => {
                tracing::error!(event = "integration_failed", function = %route.function, %why, "the integration failed");
                log.error = Some(why);
                gateway_answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
            Err(InvokeError::TimedOut) => {
                log.error = Some(format!("{} did not answer in time", route.function));
                if timed_out == StatusCode::SERVICE_UNAVAILABLE {
                    gateway_answer(timed_out, "Service Unavailable")
                } else {
                    gateway_answer(timed_out, "Internal Server Error")
                }
            }
        }
    }

    /// The route's authorizer step: the part of `requestContext.authorizer` it gives the
    /// function, or API Gateway's answer when it stops the request.
    async fn authorize<'a>(
        &'a self,
        route: &'a RouteDef,
        incoming: &Incoming<'_>,
        log: &mut AccessLog<'a>,
    ) -> Result<Option<ApiGatewayRequestAuthorizer>, Response> {
        match &route.security {
            Security::Open => Ok(None),
            Security::Lambda { authorizer } => {
                log.authorizer = Some(authorizer.clone());
                let Some(lambda) = self.lambda_authorizers.get(authorizer) else {
                    return Err(gateway_answer(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    ));
                };
                if !lambda.def.invoke_allowed {
                    log.error = Some(format!(
                        "no AWS::Lambda::Permission lets API Gateway invoke the authorizer {authorizer}"
                    ));
                    return Err(gateway_answer(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    ));
                }
                let (outcome, source) = lambda.decide(incoming).await;
                let cached = source == Source::Cache;
                match outcome {
                    Outcome::Allowed(context) => {
                        log.decision = Some(if cached { "allow (cached)" } else { "allow" });
                        let mut part = ApiGatewayRequestAuthorizer::default();
                        part.fields = (*context).clone();
                        Ok(Some(part))
                    }
                    Outcome::MissingIdentity => {
                        log.decision = Some("no identity source");
                        Err(gateway_answer(StatusCode::UNAUTHORIZED, "Unauthorized"))
                    }
                    Outcome::Denied => {
                        log.decision = Some(if cached { "deny (cached)" } else { "deny" });
                        Err(gateway_answer(StatusCode::FORBIDDEN, "Forbidden"))
                    }
                    Outcome::Failed(why) => {
                        tracing::error!(event = "authorizer_failed", %authorizer, %why, "the authorizer failed");
                        log.decision = Some("error");
                        log.error = Some(why);
                        Err(gateway_answer(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "Internal Server Error",
                        ))
                    }
                }
            }
            Security::Jwt { authorizer, scopes } => {
                log.authorizer = Some(authorizer.clone());
                let Some(jwt) = self.jwt_authorizers.get(authorizer) else {
                    return Err(gateway_answer(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    ));
                };
                let value = match &jwt.def.identity_source {
                    definition::IdentitySource::Header(name) => incoming
                        .headers
                        .get(name.as_str())
                        .and_then(|v| v.to_str().ok()),
                    _ => None,
                };
                match jwt.decide(value, scopes).await {
                    JwtOutcome::Allowed(description) => {
                        log.decision = Some("allow");
                        let mut part = ApiGatewayRequestAuthorizer::default();
                        part.jwt = Some(description);
                        Ok(Some(part))
                    }
                    JwtOutcome::Unauthorized(challenge) => {
                        log.decision = Some("invalid token");
                        log.error = Some(challenge.clone());
                        let mut response = gateway_answer(StatusCode::UNAUTHORIZED, "Unauthorized");
                        if let Ok(value) = HeaderValue::from_str(&challenge) {
                            response
                                .headers_mut()
                                .insert(http::header::WWW_AUTHENTICATE, value);
                        }
                        Err(response)
                    }
                    JwtOutcome::Forbidden => {
                        log.decision = Some("insufficient scope");
                        Err(gateway_answer(StatusCode::FORBIDDEN, "Forbidden"))
                    }
                }
            }
        }
    }

    /// The path without the stage prefix (`/prod/contacts` → `/contacts`); `None` for a path
    /// outside the stage.
    fn strip_stage<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.api.stage == "$default" {
            return Some(path);
        }
        let rest = path
            .strip_prefix('/')?
            .strip_prefix(self.api.stage.as_str())?;
        match rest {
            "" => Some("/"),
            r if r.starts_with('/') => Some(r),
            _ => None,
        }
    }
}

const PREFLIGHT: &str = "preflight";

/// What one request's log line says.
#[derive(Default)]
struct AccessLog<'a> {
    route: Option<&'a str>,
    authorizer: Option<String>,
    decision: Option<&'static str>,
    error: Option<String>,
}

/// One of API Gateway's own answers: `{"message": "<reason>"}`.
pub fn gateway_answer(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// A request id unique to this process's requests: a random prefix drawn once and a counter
/// (a random id per request cost a getrandom system call each: about 1 % of the stack's CPU).
fn request_id() -> String {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix:016x}-{n:016x}")
}

/// The request's body, as API Gateway would take it: refused at once when its declared length
/// is over the limit (413), and not waited for beyond [`BODY_TIMEOUT`] (408).
async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Response> {
    let too_large = || gateway_answer(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(too_large());
    }
    // A request known to have no body (most `GET`s) needs no timer.
    if HttpBody::size_hint(&body).exact() == Some(0) {
        return to_bytes(body, MAX_BODY).await.map_err(|_| too_large());
    }
    match tokio::time::timeout(BODY_TIMEOUT, to_bytes(body, MAX_BODY)).await {
        Ok(read) => read.map_err(|_| too_large()),
        Err(_) => {
            let mut response = gateway_answer(StatusCode::REQUEST_TIMEOUT, "Request Timeout");
            response
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            Err(response)
        }
    }
}

/// The axum handler in front of [`Gateway::handle`].
pub async fn proxy(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let refused = match read_body(&parts.headers, body).await {
        Ok(body) if http::Uri::try_from(format!("{path}?{query}")).is_ok() => {
            return gateway
                .handle(&parts.method, &parts.uri, &parts.headers, &body, peer)
                .await;
        }
        Ok(_) => gateway_answer(StatusCode::BAD_REQUEST, "Bad Request"),
        Err(response) => response,
    };
    gateway.refused(&parts.headers, refused)
}

impl Gateway {
    /// An answer given before the request could be read (its body, its URI), with the headers
    /// every answer has.
    fn refused(&self, request_headers: &HeaderMap, mut response: Response) -> Response {
        if let Some(cors) = &self.cors {
            cors.decorate(request_headers, response.headers_mut());
        }
        if let Ok(id) = HeaderValue::from_str(&request_id()) {
            response
                .headers_mut()
                .insert(HeaderName::from_static("apigw-requestid"), id);
        }
        response
    }
}
