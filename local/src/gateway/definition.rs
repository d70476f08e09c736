//! What the local gateway serves, read from the template's HTTP API: its routes and their
//! integrations, its authorizers, CORS, stage throttling and access-log format, and the
//! functions they name (with the environment each gets in Lambda).
//!
//! The template is the only source: nothing here names a route, a scope or a function. A
//! construct that would change what API Gateway does and that this reader does not model stops
//! start-up with an error naming where it is; it is never skipped, so no route is ever served
//! more openly than AWS would serve it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::template::{Evaluator, Problem, Template};

/// The HTTP API as the template defines it for one set of parameter values.
#[derive(Debug, Clone)]
pub struct ApiDefinition {
    /// The `AWS::Serverless::HttpApi` resource's logical id.
    pub id: String,
    /// `StageName` (`$default` serves paths as they are; another stage prefixes them).
    pub stage: String,
    pub routes: Vec<RouteDef>,
    pub authorizers: BTreeMap<String, AuthorizerDef>,
    pub cors: Option<CorsConfig>,
    /// `DefaultRouteSettings` throttling, for every route without its own `RouteSettings`.
    pub default_throttle: Option<Throttle>,
    pub route_throttles: BTreeMap<String, Throttle>,
    pub stage_variables: BTreeMap<String, String>,
    /// `AccessLogSettings.Format`: one line per request, with `$context` variables filled.
    pub access_log_format: Option<String>,
    /// Every function of the template, by logical id.
    pub functions: BTreeMap<String, FunctionDef>,
}

/// One route: `GET /contacts/{id}`, its function and its security.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDef {
    /// The route key: `GET /contacts/{id}`, `ANY /x`, or `$default`.
    pub key: String,
    /// `None` for `ANY` (`x-amazon-apigateway-any-method`).
    pub method: Option<String>,
    /// The path template, `$default` for the default route.
    pub path: String,
    /// The integration's function (logical id).
    pub function: String,
    /// The integration's `timeoutInMillis` (default 30 s, API Gateway's most).
    pub timeout: Duration,
    pub security: Security,
    /// Whether an `AWS::Lambda::Permission` lets API Gateway invoke the function for this route
    /// (without one, API Gateway answers 500).
    pub invoke_allowed: bool,
}

/// Who decides before the function runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// No authorizer: straight to the function.
    Open,
    /// A Lambda (request) authorizer, by scheme name.
    Lambda { authorizer: String },
    /// A JWT authorizer, by scheme name, with the route's scopes (any one suffices).
    Jwt {
        authorizer: String,
        scopes: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizerDef {
    Lambda(LambdaAuthorizerDef),
    Jwt(JwtAuthorizerDef),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaAuthorizerDef {
    pub name: String,
    /// The authorizer's function (logical id).
    pub function: String,
    pub identity_sources: Vec<IdentitySource>,
    /// `authorizerResultTtlInSeconds`: 0 turns the cache off.
    pub ttl: Duration,
    /// `enableSimpleResponses`: `{"isAuthorized": …}` rather than an IAM policy.
    pub simple_responses: bool,
    pub invoke_allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtAuthorizerDef {
    pub name: String,
    pub identity_source: IdentitySource,
    pub issuer: String,
    pub audience: Vec<String>,
}

/// Where an authorizer's input is read from (`$request.header.Authorization`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// A request header, name lower-cased.
    Header(String),
    Query(String),
    /// A `$context` variable: `routeKey`, `httpMethod`, `path`, …
    Context(String),
    StageVariable(String),
}

impl IdentitySource {
    fn parse(text: &str, at: &str) -> Result<Self, Problem> {
        let text = text.trim();
        let source = if let Some(name) = text.strip_prefix("$request.header.") {
            Self::Header(name.to_ascii_lowercase())
        } else if let Some(name) = text.strip_prefix("$request.querystring.") {
            Self::Query(name.to_string())
        } else if let Some(name) = text.strip_prefix("$context.") {
            if !CONTEXT_VARIABLES.contains(&name) {
                return Err(Problem::new(
                    at,
                    format!(
                        "identity source {text}: the local gateway knows the $context variables {}",
                        CONTEXT_VARIABLES.join(", ")
                    ),
                ));
            }
            Self::Context(name.to_string())
        } else if let Some(name) = text.strip_prefix("$stageVariables.") {
            Self::StageVariable(name.to_string())
        } else {
            return Err(Problem::new(
                at,
                format!(
                    "identity source {text:?} is not $request.header.X, $request.querystring.X, \
                     $context.X or $stageVariables.X"
                ),
            ));
        };
        if matches!(&source, Self::Header(n) | Self::Query(n) | Self::Context(n) | Self::StageVariable(n) if n.is_empty())
        {
            return Err(Problem::new(
                at,
                format!("identity source {text:?} names nothing"),
            ));
        }
        Ok(source)
    }
}

/// The `$context` variables an identity source may name locally.
pub const CONTEXT_VARIABLES: &[&str] = &[
    "routeKey",
    "httpMethod",
    "path",
    "stage",
    "apiId",
    "domainName",
    "identity.sourceIp",
];

/// `x-amazon-apigateway-cors`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsConfig {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
    pub allow_credentials: bool,
}

/// A token bucket: `rate` requests a second, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub rate: f64,
    pub burst: u32,
}

/// A function of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef {
    pub id: String,
    /// Its name in Lambda (`FunctionName`, else the logical id locally).
    pub name: String,
    /// The binary `cargo lambda` builds for it (`Metadata.BuildProperties.Binary`).
    pub binary: Option<String>,
    /// Its `CodeUri`: the folder of its crate.
    pub code_uri: Option<String>,
    /// `Globals.Function.Environment` and its own, computed.
    pub environment: BTreeMap<String, String>,
    /// `Timeout` (default 3 s, as Lambda's).
    pub timeout: Duration,
}

const HTTP_API: &str = "AWS::Serverless::HttpApi";
const FUNCTION: &str = "AWS::Serverless::Function";

/// Properties of the HttpApi resource that do not change what a request gets.
const IGNORED_API_PROPERTIES: &[&str] = &[
    "FailOnWarnings",
    "Description",
    "Tags",
    "Name",
    "PropagateTags",
    "DisableExecuteApiEndpoint",
    "Domain",
];

impl ApiDefinition {
    /// Reads the template's one HTTP API.
    pub fn read(template: &Template, eval: &Evaluator<'_>) -> Result<Self, Problem> {
        for (id, resource) in template.section("Resources") {
            let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("");
            if matches!(
                kind,
                "AWS::Serverless::Api" | "AWS::ApiGateway::RestApi" | "AWS::ApiGatewayV2::Api"
            ) {
                return Err(Problem::new(
                    format!("Resources.{id}"),
                    format!(
                        "{kind} is not served by the local gateway: it serves one {HTTP_API} \
                         with its routes in DefinitionBody"
                    ),
                ));
            }
        }
        let mut apis = Vec::new();
        for (id, resource) in template.resources_of_type(HTTP_API) {
            if exists(resource, eval, id)? {
                apis.push((id, resource));
            }
        }
        let (id, resource) = match apis.as_slice() {
            [one] => *one,
            [] => {
                return Err(Problem::new(
                    "Resources",
                    format!("no {HTTP_API} resource: the local gateway serves an HTTP API"),
                ));
            }
            several => {
                return Err(Problem::new(
                    "Resources",
                    format!(
                        "{} {HTTP_API} resources ({}): the local gateway serves one",
                        several.len(),
                        several
                            .iter()
                            .map(|(id, _)| id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        };
        let at = format!("Resources.{id}.Properties");
        let properties = match resource.get("Properties") {
            Some(p) => object(eval.required(p, &at)?, &at)?,
            None => Map::new(),
        };
        let functions = read_functions(template, eval)?;
        let permissions = read_permissions(template, eval, &functions)?;

        let mut body = None;
        let mut stage = "$default".to_string();
        let mut cors = None;
        let mut default_throttle = None;
        let mut route_throttles = BTreeMap::new();
        let mut stage_variables = BTreeMap::new();
        let mut access_log_format = None;
        for (key, value) in &properties {
            let here = format!("{at}.{key}");
            match key.as_str() {
                "DefinitionBody" => body = Some(object(value.clone(), &here)?),
                "StageName" => stage = string(value, &here)?,
                "CorsConfiguration" => cors = Some(read_sam_cors(value, &here)?),
                "DefaultRouteSettings" => default_throttle = read_throttle(value, &here)?,
                "RouteSettings" => {
                    for (route, settings) in object(value.clone(), &here)? {
                        if let Some(t) = read_throttle(&settings, &format!("{here}.{route}"))? {
                            route_throttles.insert(route, t);
                        }
                    }
                }
                "StageVariables" => {
                    for (name, v) in object(value.clone(), &here)? {
                        stage_variables
                            .insert(name.clone(), string(&v, &format!("{here}.{name}"))?);
                    }
                }
                "AccessLogSettings" => {
                    access_log_format = value
                        .get("Format")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                }
                ignored if IGNORED_API_PROPERTIES.contains(&ignored) => {}
                "Auth" => {
                    return Err(Problem::new(
                        here,
                        "SAM's Auth property is not read by the local gateway: define the \
                         authorizers in DefinitionBody's components.securitySchemes and each \
                         route's security",
                    ));
                }
                other => {
                    return Err(Problem::new(
                        here,
                        format!("the {other} property is not understood by the local gateway"),
                    ));
                }
            }
        }
        let Some(body) = body else {
            return Err(Problem::new(
                at,
                "has no DefinitionBody: the local gateway reads the routes from the OpenAPI body \
                 (DefinitionUri and implicit Events routes are not read)",
            ));
        };
        let body_at = format!("{at}.DefinitionBody");
        let api = Body {
            at: &body_at,
            api_id: id,
            stage: &stage,
            functions: &functions,
            permissions: &permissions,
        };
        let authorizers = api.authorizers(&body)?;
        let routes = api.routes(&body, &authorizers)?;
        if let Some(body_cors) = body.get("x-amazon-apigateway-cors") {
            if cors.is_some() {
                return Err(Problem::new(
                    &body_at,
                    "CORS is set both in CorsConfiguration and in x-amazon-apigateway-cors",
                ));
            }
            cors = Some(read_cors(
                body_cors,
                &format!("{body_at}.x-amazon-apigateway-cors"),
            )?);
        }
        Ok(Self {
            id: id.clone(),
            stage,
            routes,
            authorizers,
            cors,
            default_throttle,
            route_throttles,
            stage_variables,
            access_log_format,
            functions,
        })
    }

    /// The template's functions, for messages: `CalendarFunction, ContactsFunction`.
    pub fn function_ids(&self) -> String {
        self.functions
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The functions the API invokes (integrations and Lambda authorizers), each once.
    pub fn invoked_functions(&self) -> Vec<&FunctionDef> {
        let mut ids: Vec<&str> = self.routes.iter().map(|r| r.function.as_str()).collect();
        for authorizer in self.authorizers.values() {
            if let AuthorizerDef::Lambda(l) = authorizer {
                ids.push(&l.function);
            }
        }
        let mut out: Vec<&FunctionDef> = Vec::new();
        for id in ids {
            if let Some(f) = self.functions.get(id)
                && !out.iter().any(|o| o.id == f.id)
            {
                out.push(f);
            }
        }
        out
    }
}

/// Whether a resource exists for these parameters (its `Condition`).
fn exists(resource: &Value, eval: &Evaluator<'_>, id: &str) -> Result<bool, Problem> {
    match resource.get("Condition").and_then(Value::as_str) {
        Some(condition) => eval.condition(condition, &format!("Resources.{id}.Condition")),
        None => Ok(true),
    }
}

fn object(value: Value, at: &str) -> Result<Map<String, Value>, Problem> {
    match value {
        Value::Object(m) => Ok(m),
        other => Err(Problem::new(
            at,
            format!("expected a mapping, found {other}"),
        )),
    }
}

fn string(value: &Value, at: &str) -> Result<String, Problem> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(Problem::new(
            at,
            format!("expected a string, found {other}"),
        )),
    }
}

fn strings(value: &Value, at: &str) -> Result<Vec<String>, Problem> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| string(v, &format!("{at}[{i}]")))
            .collect(),
        Value::String(s) => Ok(s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()),
        other => Err(Problem::new(at, format!("expected a list, found {other}"))),
    }
}

fn number(value: &Value, at: &str) -> Result<f64, Problem> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite() && *n >= 0.0)
    .ok_or_else(|| Problem::new(at, format!("expected a number, found {value}")))
}

fn read_throttle(value: &Value, at: &str) -> Result<Option<Throttle>, Problem> {
    let rate = value.get("ThrottlingRateLimit");
    let burst = value.get("ThrottlingBurstLimit");
    match (rate, burst) {
        (None, None) => Ok(None),
        (rate, burst) => Ok(Some(Throttle {
            rate: match rate {
                Some(r) => number(r, &format!("{at}.ThrottlingRateLimit"))?,
                None => f64::INFINITY,
            },
            burst: match burst {
                Some(b) => number(b, &format!("{at}.ThrottlingBurstLimit"))? as u32,
                None => u32::MAX,
            },
        })),
    }
}

fn read_cors(value: &Value, at: &str) -> Result<CorsConfig, Problem> {
    let map = object(value.clone(), at)?;
    let mut cors = CorsConfig::default();
    for (key, v) in &map {
        let here = format!("{at}.{key}");
        match key.as_str() {
            "allowOrigins" => cors.allow_origins = strings(v, &here)?,
            "allowMethods" => cors.allow_methods = strings(v, &here)?,
            "allowHeaders" => cors.allow_headers = strings(v, &here)?,
            "exposeHeaders" => cors.expose_headers = strings(v, &here)?,
            "maxAge" => cors.max_age = Some(number(v, &here)? as u64),
            "allowCredentials" => {
                cors.allow_credentials = v
                    .as_bool()
                    .ok_or_else(|| Problem::new(&here, "expected true or false"))?;
            }
            other => {
                return Err(Problem::new(
                    here,
                    format!("{other} is not a CORS setting of HTTP APIs"),
                ));
            }
        }
    }
    Ok(cors)
}

/// SAM's `CorsConfiguration` (the same settings, capitalised; `true` allows every origin).
fn read_sam_cors(value: &Value, at: &str) -> Result<CorsConfig, Problem> {
    if value.as_bool() == Some(true) {
        return Ok(CorsConfig {
            allow_origins: vec!["*".into()],
            allow_methods: vec!["*".into()],
            allow_headers: vec!["*".into()],
            ..CorsConfig::default()
        });
    }
    let map = object(value.clone(), at)?;
    let renamed: Map<String, Value> = map
        .into_iter()
        .map(|(k, v)| {
            let mut chars = k.chars();
            let key = match chars.next() {
                Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                None => k,
            };
            (key, v)
        })
        .collect();
    read_cors(&Value::Object(renamed), at)
}

/// The functions of the template that exist for these parameters.
fn read_functions(
    template: &Template,
    eval: &Evaluator<'_>,
) -> Result<BTreeMap<String, FunctionDef>, Problem> {
    let globals = template
        .root
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .cloned()
        .unwrap_or(Value::Null);
    let global_env = match globals.get("Environment").and_then(|e| e.get("Variables")) {
        Some(vars) => object(
            eval.required(vars, "Globals.Function.Environment.Variables")?,
            "Globals.Function.Environment.Variables",
        )?,
        None => Map::new(),
    };
    let global_timeout = match globals.get("Timeout") {
        Some(t) => Some(number(
            &eval.required(t, "Globals.Function.Timeout")?,
            "Globals.Function.Timeout",
        )?),
        None => None,
    };
    let mut out = BTreeMap::new();
    for (id, resource) in template.resources_of_type(FUNCTION) {
        if !exists(resource, eval, id)? {
            continue;
        }
        let at = format!("Resources.{id}.Properties");
        let properties = match resource.get("Properties") {
            Some(p) => object(eval.required(p, &at)?, &at)?,
            None => Map::new(),
        };
        if let Some(events) = properties.get("Events").and_then(Value::as_object) {
            for (name, event) in events {
                let kind = event.get("Type").and_then(Value::as_str).unwrap_or("");
                if matches!(kind, "HttpApi" | "Api") {
                    return Err(Problem::new(
                        format!("{at}.Events.{name}"),
                        format!(
                            "an implicit {kind} event is not read by the local gateway: add the \
                             route to the HttpApi's DefinitionBody"
                        ),
                    ));
                }
            }
        }
        let mut environment = BTreeMap::new();
        let own_env = match properties
            .get("Environment")
            .and_then(|e| e.get("Variables"))
        {
            Some(vars) => object(vars.clone(), &format!("{at}.Environment.Variables"))?,
            None => Map::new(),
        };
        for (name, value) in global_env.iter().chain(own_env.iter()) {
            environment.insert(
                name.clone(),
                string(value, &format!("{at}.Environment.Variables.{name}"))?,
            );
        }
        let timeout = match properties.get("Timeout") {
            Some(t) => Some(number(t, &format!("{at}.Timeout"))?),
            None => global_timeout,
        }
        .unwrap_or(3.0);
        let name = match properties.get("FunctionName") {
            Some(n) => string(n, &format!("{at}.FunctionName"))?,
            None => id.clone(),
        };
        let binary = resource
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let code_uri = properties
            .get("CodeUri")
            .and_then(Value::as_str)
            .map(str::to_string);
        out.insert(
            id.clone(),
            FunctionDef {
                id: id.clone(),
                name,
                binary,
                code_uri,
                environment,
                timeout: Duration::from_secs_f64(timeout),
            },
        );
    }
    Ok(out)
}

/// Who may invoke each function on API Gateway's behalf: the `SourceArn` patterns of the
/// `AWS::Lambda::Permission`s for `apigateway.amazonaws.com`, by function logical id.
fn read_permissions(
    template: &Template,
    eval: &Evaluator<'_>,
    functions: &BTreeMap<String, FunctionDef>,
) -> Result<BTreeMap<String, Vec<String>>, Problem> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, resource) in template.resources_of_type("AWS::Lambda::Permission") {
        if !exists(resource, eval, id)? {
            continue;
        }
        let at = format!("Resources.{id}.Properties");
        let Some(properties) = resource.get("Properties") else {
            continue;
        };
        let properties = object(eval.required(properties, &at)?, &at)?;
        if properties.get("Principal").and_then(Value::as_str) != Some("apigateway.amazonaws.com")
            || properties.get("Action").and_then(Value::as_str) != Some("lambda:InvokeFunction")
        {
            continue;
        }
        let target = properties
            .get("FunctionName")
            .map(|v| string(v, &format!("{at}.FunctionName")))
            .transpose()?
            .unwrap_or_default();
        let Some(function) = functions.values().find(|f| {
            target == f.name || target == f.id || target.ends_with(&format!(":function:{}", f.name))
        }) else {
            continue;
        };
        let pattern = match properties.get("SourceArn") {
            Some(v) => string(v, &format!("{at}.SourceArn"))?,
            None => "*".into(),
        };
        out.entry(function.id.clone()).or_default().push(pattern);
    }
    Ok(out)
}

/// Whether an ARN matches an IAM-style pattern (`*` any run, `?` one character).
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    let (p, a): (Vec<char>, Vec<char>) = (pattern.chars().collect(), arn.chars().collect());
    let (mut pi, mut ai, mut star, mut mark) = (0, 0, None, 0);
    while ai < a.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == a[ai]) {
            pi += 1;
            ai += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ai;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ai = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The OpenAPI body, read with what it refers to.
struct Body<'a> {
    at: &'a str,
    api_id: &'a str,
    stage: &'a str,
    functions: &'a BTreeMap<String, FunctionDef>,
    permissions: &'a BTreeMap<String, Vec<String>>,
}

/// The keys of an OpenAPI path item or operation that only document it.
const DOCUMENTATION: &[&str] = &[
    "summary",
    "description",
    "parameters",
    "responses",
    "operationId",
    "tags",
    "requestBody",
    "servers",
    "externalDocs",
    "deprecated",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

/// What an `x-amazon-apigateway-integration` of a Lambda proxy may say.
const INTEGRATION_KEYS: &[&str] = &[
    "type",
    "httpMethod",
    "uri",
    "payloadFormatVersion",
    "timeoutInMillis",
    "connectionType",
    "credentials",
];
const ANY_METHOD: &str = "x-amazon-apigateway-any-method";

impl Body<'_> {
    /// The ARN API Gateway invokes with, as `AWS::Lambda::Permission`'s `SourceArn` sees it.
    fn may_invoke(&self, function: &str, source_arn: &str) -> bool {
        self.permissions
            .get(function)
            .is_some_and(|patterns| patterns.iter().any(|p| arn_matches(p, source_arn)))
    }

    fn source_arn(&self, rest: &str) -> String {
        // The same pseudo values as the evaluator's: `${AWS::Region}` etc. were computed with
        // them, and the API's Ref is its logical id.
        let pseudo = super::template::Pseudo::default();
        format!(
            "arn:aws:execute-api:{}:{}:{}/{rest}",
            pseudo.region, pseudo.account_id, self.api_id
        )
    }

    /// The Lambda function an integration or authorizer URI invokes.
    fn function_of_uri(&self, uri: &str, at: &str) -> Result<String, Problem> {
        let arn = uri
            .split_once("/functions/")
            .map(|(_, rest)| rest.trim_end_matches("/invocations"))
            .unwrap_or(uri);
        let name = arn
            .split_once(":function:")
            .map(|(_, name)| name.split(':').next().unwrap_or(name))
            .ok_or_else(|| {
                Problem::new(
                    at,
                    format!("{uri} does not invoke a Lambda function the local gateway can find"),
                )
            })?;
        self.functions
            .values()
            .find(|f| f.name == name)
            .map(|f| f.id.clone())
            .ok_or_else(|| {
                Problem::new(
                    at,
                    format!("invokes {name}, which is not an AWS::Serverless::Function of the template (or its Condition is false)"),
                )
            })
    }

    fn authorizers(
        &self,
        body: &Map<String, Value>,
    ) -> Result<BTreeMap<String, AuthorizerDef>, Problem> {
        let mut out = BTreeMap::new();
        let Some(schemes) = body
            .get("components")
            .and_then(|c| c.get("securitySchemes"))
        else {
            return Ok(out);
        };
        let at = format!("{}.components.securitySchemes", self.at);
        for (name, scheme) in object(schemes.clone(), &at)? {
            let here = format!("{at}.{name}");
            let Some(config) = scheme.get("x-amazon-apigateway-authorizer") else {
                return Err(Problem::new(
                    here,
                    "has no x-amazon-apigateway-authorizer: HTTP APIs take Lambda and JWT \
                     authorizers only",
                ));
            };
            let here = format!("{here}.x-amazon-apigateway-authorizer");
            let kind = config
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let identity: Vec<String> = match config.get("identitySource") {
                Some(v) => strings(v, &format!("{here}.identitySource"))?,
                None => Vec::new(),
            };
            let definition = match kind.as_str() {
                "request" => self.lambda_authorizer(&name, config, identity, &here)?,
                "jwt" => {
                    let jwt = config.get("jwtConfiguration").ok_or_else(|| {
                        Problem::new(&here, "a jwt authorizer needs jwtConfiguration")
                    })?;
                    let issuer = string(
                        jwt.get("issuer").unwrap_or(&Value::Null),
                        &format!("{here}.jwtConfiguration.issuer"),
                    )?;
                    let audience = strings(
                        jwt.get("audience").unwrap_or(&Value::Null),
                        &format!("{here}.jwtConfiguration.audience"),
                    )?;
                    if audience.is_empty() {
                        return Err(Problem::new(&here, "jwtConfiguration.audience is empty"));
                    }
                    let [source] = identity.as_slice() else {
                        return Err(Problem::new(
                            &here,
                            "a jwt authorizer takes exactly one identity source",
                        ));
                    };
                    AuthorizerDef::Jwt(JwtAuthorizerDef {
                        name: name.clone(),
                        identity_source: IdentitySource::parse(source, &here)?,
                        issuer,
                        audience,
                    })
                }
                other => {
                    return Err(Problem::new(
                        here,
                        format!(
                            "authorizer type {other:?} is not one of HTTP APIs' (request, jwt)"
                        ),
                    ));
                }
            };
            out.insert(name, definition);
        }
        Ok(out)
    }

    fn lambda_authorizer(
        &self,
        name: &str,
        config: &Value,
        identity: Vec<String>,
        here: &str,
    ) -> Result<AuthorizerDef, Problem> {
        let version = config
            .get("authorizerPayloadFormatVersion")
            .map(|v| string(v, here))
            .transpose()?;
        if version.as_deref() != Some("2.0") {
            return Err(Problem::new(
                here,
                format!(
                    "authorizerPayloadFormatVersion {version:?}: the local gateway builds the 2.0 \
                     authorizer event only"
                ),
            ));
        }
        let uri = string(
            config.get("authorizerUri").unwrap_or(&Value::Null),
            &format!("{here}.authorizerUri"),
        )?;
        let function = self.function_of_uri(&uri, &format!("{here}.authorizerUri"))?;
        let ttl = match config.get("authorizerResultTtlInSeconds") {
            Some(v) => number(v, &format!("{here}.authorizerResultTtlInSeconds"))?,
            None => 0.0,
        };
        if ttl > 3600.0 {
            return Err(Problem::new(
                here,
                "authorizerResultTtlInSeconds is at most 3600",
            ));
        }
        let simple_responses = config
            .get("enableSimpleResponses")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !simple_responses {
            return Err(Problem::new(
                here,
                "enableSimpleResponses is not true: the local gateway reads simple responses \
                 ({\"isAuthorized\": …}), not IAM policies",
            ));
        }
        let identity_sources = identity
            .iter()
            .map(|s| IdentitySource::parse(s, &format!("{here}.identitySource")))
            .collect::<Result<Vec<_>, _>>()?;
        if ttl > 0.0 && identity_sources.is_empty() {
            return Err(Problem::new(
                here,
                "a cached authorizer (authorizerResultTtlInSeconds > 0) needs an identitySource",
            ));
        }
        let source_arn = self.source_arn(&format!("authorizers/{name}"));
        Ok(AuthorizerDef::Lambda(LambdaAuthorizerDef {
            name: name.into(),
            invoke_allowed: self.may_invoke(&function, &source_arn),
            function,
            identity_sources,
            ttl: Duration::from_secs_f64(ttl),
            simple_responses,
        }))
    }

    fn routes(
        &self,
        body: &Map<String, Value>,
        authorizers: &BTreeMap<String, AuthorizerDef>,
    ) -> Result<Vec<RouteDef>, Problem> {
        for key in body.keys() {
            if key.starts_with("x-amazon-apigateway-")
                && !matches!(
                    key.as_str(),
                    "x-amazon-apigateway-cors" | "x-amazon-apigateway-importexport-version"
                )
            {
                return Err(Problem::new(
                    format!("{}.{key}", self.at),
                    format!("{key} is not read by the local gateway"),
                ));
            }
        }
        let default_security = body.get("security");
        let paths = body
            .get("paths")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let paths_at = format!("{}.paths", self.at);
        let mut routes = Vec::new();
        for (path, item) in object(paths, &paths_at)? {
            let path_at = format!("{paths_at}.{path}");
            if path != "$default" && !path.starts_with('/') {
                return Err(Problem::new(
                    &path_at,
                    "a path starts with / (or is $default)",
                ));
            }
            check_path_template(&path, &path_at)?;
            for (key, operation) in object(item, &path_at)? {
                let here = format!("{path_at}.{key}");
                let method = if key == ANY_METHOD {
                    None
                } else if METHODS.contains(&key.as_str()) {
                    Some(key.to_ascii_uppercase())
                } else if DOCUMENTATION.contains(&key.as_str()) {
                    continue;
                } else {
                    return Err(Problem::new(
                        here,
                        format!(
                            "{key} is not an HTTP method or OpenAPI field the local gateway knows"
                        ),
                    ));
                };
                let route_key = if path == "$default" {
                    "$default".to_string()
                } else {
                    format!("{} {path}", method.as_deref().unwrap_or("ANY"))
                };
                routes.push(self.route(
                    route_key,
                    method,
                    &path,
                    &operation,
                    default_security,
                    authorizers,
                    &here,
                )?);
            }
        }
        Ok(routes)
    }

    #[allow(clippy::too_many_arguments)]
    fn route(
        &self,
        key: String,
        method: Option<String>,
        path: &str,
        operation: &Value,
        default_security: Option<&Value>,
        authorizers: &BTreeMap<String, AuthorizerDef>,
        here: &str,
    ) -> Result<RouteDef, Problem> {
        let operation = object(operation.clone(), here)?;
        let mut integration = None;
        let mut security = default_security.cloned();
        for (k, v) in &operation {
            match k.as_str() {
                "x-amazon-apigateway-integration" => integration = Some(v.clone()),
                "security" => security = Some(v.clone()),
                doc if DOCUMENTATION.contains(&doc) => {}
                other => {
                    return Err(Problem::new(
                        format!("{here}.{other}"),
                        format!("{other} is not read by the local gateway"),
                    ));
                }
            }
        }
        let Some(integration) = integration else {
            return Err(Problem::new(
                here,
                "has no x-amazon-apigateway-integration (API Gateway would have no target for it)",
            ));
        };
        let int_at = format!("{here}.x-amazon-apigateway-integration");
        // Parameter mapping and the like would change what the function gets: refused, never
        // ignored.
        for key in object(integration.clone(), &int_at)?.keys() {
            if !INTEGRATION_KEYS.contains(&key.as_str()) {
                return Err(Problem::new(
                    format!("{int_at}.{key}"),
                    format!(
                        "{key} is not read by the local gateway (it reads {})",
                        INTEGRATION_KEYS.join(", ")
                    ),
                ));
            }
        }
        let kind = integration
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        if kind != "aws_proxy" {
            return Err(Problem::new(
                &int_at,
                format!(
                    "integration type {kind:?}: the local gateway invokes Lambda proxy (aws_proxy) integrations only"
                ),
            ));
        }
        let version = integration
            .get("payloadFormatVersion")
            .map(|v| string(v, &int_at))
            .transpose()?;
        if version.as_deref() != Some("2.0") {
            return Err(Problem::new(
                &int_at,
                format!(
                    "payloadFormatVersion {version:?}: the local gateway builds payload 2.0 events only"
                ),
            ));
        }
        let uri = string(
            integration.get("uri").unwrap_or(&Value::Null),
            &format!("{int_at}.uri"),
        )?;
        let function = self.function_of_uri(&uri, &format!("{int_at}.uri"))?;
        let timeout = match integration.get("timeoutInMillis") {
            Some(v) => number(v, &format!("{int_at}.timeoutInMillis"))?,
            None => 30_000.0,
        };
        if !(50.0..=30_000.0).contains(&timeout) {
            return Err(Problem::new(&int_at, "timeoutInMillis is from 50 to 30000"));
        }
        let security =
            self.security(security.as_ref(), authorizers, &format!("{here}.security"))?;
        let source_arn = self.source_arn(&format!(
            "{}/{}/{}",
            self.stage,
            method.as_deref().unwrap_or("*"),
            path.trim_start_matches('/')
        ));
        // With `credentials`, API Gateway invokes as that role, not by the function's policy.
        let invoke_allowed =
            integration.get("credentials").is_some() || self.may_invoke(&function, &source_arn);
        Ok(RouteDef {
            key,
            method,
            path: path.to_string(),
            invoke_allowed,
            function,
            timeout: Duration::from_secs_f64(timeout / 1000.0),
            security,
        })
    }

    fn security(
        &self,
        security: Option<&Value>,
        authorizers: &BTreeMap<String, AuthorizerDef>,
        at: &str,
    ) -> Result<Security, Problem> {
        let requirements = match security {
            None => return Ok(Security::Open),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(Problem::new(at, format!("expected a list, found {other}"))),
        };
        let entries: Vec<(&String, &Value)> = requirements
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|m| m.iter())
            .collect();
        if requirements.iter().any(|r| !r.is_object()) {
            return Err(Problem::new(at, "each security requirement is a mapping"));
        }
        match entries.as_slice() {
            [] => Ok(Security::Open),
            [(name, scopes)] => {
                let scopes = strings(scopes, at)?;
                match authorizers.get(*name) {
                    Some(AuthorizerDef::Lambda(_)) if !scopes.is_empty() => Err(Problem::new(
                        at,
                        format!(
                            "{name} is a Lambda authorizer: API Gateway takes scopes with JWT authorizers only"
                        ),
                    )),
                    Some(AuthorizerDef::Lambda(_)) => Ok(Security::Lambda {
                        authorizer: (*name).clone(),
                    }),
                    Some(AuthorizerDef::Jwt(_)) => Ok(Security::Jwt {
                        authorizer: (*name).clone(),
                        scopes,
                    }),
                    None => Err(Problem::new(
                        at,
                        format!("{name} is not in components.securitySchemes"),
                    )),
                }
            }
            _ => Err(Problem::new(
                at,
                "more than one authorizer for a route: API Gateway takes one",
            )),
        }
    }
}

/// A path template API Gateway accepts: literal segments, `{name}`, and a last `{name+}`.
fn check_path_template(path: &str, at: &str) -> Result<(), Problem> {
    if path == "$default" || path == "/" {
        return Ok(());
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let bad = segment.is_empty()
            || (segment.contains(['{', '}'])
                && !(segment.starts_with('{') && segment.ends_with('}') && segment.len() > 2))
            || (segment.ends_with("+}") && i + 1 != segments.len());
        if bad {
            return Err(Problem::new(
                at,
                format!("{path} is not a path API Gateway accepts"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_patterns_match_as_iam_matches_them() {
        let arn = "arn:aws:execute-api:us-east-1:0:Api/$default/GET/contacts/{id}";
        assert!(arn_matches(
            "arn:aws:execute-api:us-east-1:0:Api/*/*/contacts*",
            arn
        ));
        assert!(arn_matches("*", arn));
        assert!(!arn_matches(
            "arn:aws:execute-api:us-east-1:0:Api/*/*/calendar*",
            arn
        ));
        assert!(arn_matches("a?c", "abc"));
        assert!(!arn_matches("a?c", "ac"));
    }
}
