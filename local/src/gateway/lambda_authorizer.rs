//! A Lambda (request) authorizer with simple responses, as an HTTP API runs it:
//!
//! 1. every identity source must be present, non-null and non-empty, or the answer is
//!    `401 {"message":"Unauthorized"}` and the authorizer is not called;
//! 2. a result cached for the same identity source values within `authorizerResultTtlInSeconds`
//!    is reused (allow and deny alike; with `$context.routeKey` among the sources, per route);
//! 3. otherwise the authorizer gets the 2.0 request event, within 10 s (API Gateway's limit) or
//!    its own `Timeout` if shorter;
//! 4. `{"isAuthorized": true, "context": {...}}` lets the request through with the context
//!    under `requestContext.authorizer.lambda`; `false` is `403 {"message":"Forbidden"}`;
//!    an error, panic, timeout or any other answer is `500 {"message":"Internal Server Error"}`
//!    and is not cached.
//!
//! The cache holds at most [`CACHE_CAPACITY`] results (least recently used go first), keyed by
//! the SHA-256 of the identity values, so a flood of distinct tokens costs bounded memory.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::digest::{Context, SHA256};
use lru::LruCache;
use serde_json::Value;
use tokio::time::Instant;

use super::definition::{IdentitySource, LambdaAuthorizerDef};
use super::event::{Incoming, authorizer_event, authorizer_event_json};
use super::functions::{InvokeError, Target};

/// Results kept at most.
pub const CACHE_CAPACITY: usize = 10_000;
/// API Gateway's limit on a Lambda authorizer's answer time.
pub const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the authorizer step decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Through, with the authorizer's context.
    Allowed(Arc<HashMap<String, Value>>),
    /// An identity source is missing: 401, authorizer not called.
    MissingIdentity,
    /// `isAuthorized: false`: 403.
    Denied,
    /// The authorizer failed: 500.
    Failed(String),
}

#[derive(Debug, Clone)]
enum Decision {
    Allow(Arc<HashMap<String, Value>>),
    Deny,
}

/// Results by the SHA-256 of the identity values, with when they expire.
type ResultCache = LruCache<[u8; 32], (Instant, Decision)>;

pub struct LambdaAuthorizer {
    pub def: LambdaAuthorizerDef,
    target: Target,
    timeout: Duration,
    cache: Option<Mutex<ResultCache>>,
}

/// How the step went, for the access log and the functions' diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cache,
    Invoked,
    NotCalled,
}

impl LambdaAuthorizer {
    /// `function_timeout` is the authorizer function's `Timeout`.
    pub fn new(def: LambdaAuthorizerDef, target: Target, function_timeout: Duration) -> Self {
        let cache = (!def.ttl.is_zero()).then(|| {
            Mutex::new(LruCache::new(
                NonZeroUsize::new(CACHE_CAPACITY).unwrap_or(NonZeroUsize::MIN),
            ))
        });
        Self {
            def,
            target,
            timeout: function_timeout.min(AUTHORIZER_TIMEOUT),
            cache,
        }
    }

    /// The identity source values, in order; `None` when one is missing or empty.
    pub fn identity(&self, i: &Incoming<'_>) -> Option<Vec<String>> {
        self.def
            .identity_sources
            .iter()
            .map(|source| {
                let value = match source {
                    IdentitySource::Header(name) => i
                        .headers
                        .get(name.as_str())
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                    IdentitySource::Query(name) => form_urlencoded::parse(i.query.as_bytes())
                        .filter(|(k, _)| k == name)
                        .map(|(_, v)| v.into_owned())
                        .reduce(|a, b| format!("{a},{b}")),
                    IdentitySource::Context(name) => context_variable(i, name),
                    IdentitySource::StageVariable(name) => i.stage_variables.get(name).cloned(),
                };
                value.filter(|v| !v.is_empty())
            })
            .collect()
    }

    /// Runs the authorizer step for one request.
    pub async fn decide(&self, i: &Incoming<'_>) -> (Outcome, Source) {
        let Some(identity) = self.identity(i) else {
            return (Outcome::MissingIdentity, Source::NotCalled);
        };
        let key = self.cache.as_ref().map(|_| cache_key(&identity));
        if let (Some(cache), Some(key)) = (&self.cache, &key)
            && let Ok(mut cache) = cache.lock()
        {
            match cache.get(key) {
                Some((expires, decision)) if *expires > Instant::now() => {
                    return (outcome(decision.clone()), Source::Cache);
                }
                Some(_) => {
                    cache.pop(key);
                }
                None => {}
            }
        }
        let event = authorizer_event_json(&authorizer_event(i, identity));
        let decision = match self.target.invoke_authorizer(&event, self.timeout).await {
            Ok(answer) => match read_simple_response(&answer) {
                Ok(decision) => decision,
                Err(why) => return (Outcome::Failed(why), Source::Invoked),
            },
            Err(InvokeError::Failed(why)) => return (Outcome::Failed(why), Source::Invoked),
            Err(InvokeError::TimedOut) => {
                return (
                    Outcome::Failed(format!(
                        "the authorizer did not answer within {} s",
                        self.timeout.as_secs_f64()
                    )),
                    Source::Invoked,
                );
            }
        };
        if let (Some(cache), Some(key)) = (&self.cache, key)
            && let Ok(mut cache) = cache.lock()
        {
            cache.put(key, (Instant::now() + self.def.ttl, decision.clone()));
        }
        (outcome(decision), Source::Invoked)
    }

    /// How many results are cached now.
    pub fn cached(&self) -> usize {
        self.cache
            .as_ref()
            .and_then(|c| c.lock().ok().map(|c| c.len()))
            .unwrap_or(0)
    }
}

fn outcome(decision: Decision) -> Outcome {
    match decision {
        Decision::Allow(context) => Outcome::Allowed(context),
        Decision::Deny => Outcome::Denied,
    }
}

/// A `$context` variable an identity source may name.
fn context_variable(i: &Incoming<'_>, name: &str) -> Option<String> {
    Some(match name {
        "routeKey" => i.route_key.to_string(),
        "httpMethod" => i.method.to_string(),
        "path" => i.raw_path.to_string(),
        "stage" => i.stage.to_string(),
        "apiId" => i.api_id.to_string(),
        "domainName" => i
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())?
            .to_string(),
        "identity.sourceIp" => i.source_ip.to_string(),
        _ => return None,
    })
}

fn cache_key(identity: &[String]) -> [u8; 32] {
    let mut hash = Context::new(&SHA256);
    for value in identity {
        // Length-prefixed, so that ["ab", "c"] and ["a", "bc"] differ.
        hash.update(&(value.len() as u64).to_be_bytes());
        hash.update(value.as_bytes());
    }
    let mut key = [0; 32];
    key.copy_from_slice(hash.finish().as_ref());
    key
}

/// A simple response: `{"isAuthorized": <bool>, "context": {<map>}}`, nothing else accepted.
fn read_simple_response(answer: &Value) -> Result<Decision, String> {
    let map = answer
        .as_object()
        .ok_or("the authorizer's answer is not a JSON object")?;
    let authorized = map
        .get("isAuthorized")
        .and_then(Value::as_bool)
        .ok_or("the authorizer's answer has no boolean isAuthorized")?;
    if !authorized {
        return Ok(Decision::Deny);
    }
    let context = match map.get("context") {
        None | Some(Value::Null) => HashMap::new(),
        Some(Value::Object(context)) => context.clone().into_iter().collect(),
        Some(_) => return Err("the authorizer's context is not a JSON object".into()),
    };
    Ok(Decision::Allow(Arc::new(context)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_a_simple_response_is_read() {
        assert!(matches!(
            read_simple_response(&json!({"isAuthorized": false})),
            Ok(Decision::Deny)
        ));
        match read_simple_response(&json!({"isAuthorized": true, "context": {"sub": "u", "n": 1}}))
        {
            Ok(Decision::Allow(c)) => assert_eq!(c["n"], 1),
            other => panic!("{other:?}"),
        }
        for bad in [
            json!({"isAuthorized": "true"}),
            json!({}),
            json!([true]),
            json!("yes"),
            json!({"isAuthorized": true, "context": "x"}),
        ] {
            assert!(read_simple_response(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cache_keys_tell_the_values_apart() {
        assert_ne!(
            cache_key(&["ab".into(), "c".into()]),
            cache_key(&["a".into(), "bc".into()])
        );
        assert_eq!(cache_key(&["a".into()]), cache_key(&["a".into()]));
    }
}
