//! Metrics: one CloudWatch Embedded Metric Format document per invocation (a "wide event"),
//! tallied while the invocation runs and written when it ends.
//!
//! Code deep in the pipeline (the token cache, the JWKS fetch, a DynamoDB call) notes what
//! happened with [`note`]; the tally lives in a task-local scope that [`Metrics::measure`]
//! opens around one invocation, so nothing is shared between invocations or threads and no
//! signature carries it. Outside a scope (tests, tools) a note does nothing.
//!
//! Metric names and dimensions are few on purpose (each metric × dimension combination is a
//! billed custom metric): `Service`, and `Service` + `Route`. What would multiply them (the
//! user, the reason text) goes in the same line as properties, for Logs Insights.

pub mod emf;

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use emf::{EmfDocument, Property, Unit};

use crate::error::AuthError;
use crate::xray::{self, Span, XRay};

/// Why a request was refused authorization: one metric per reason (`Denied<Reason>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// No `Authorization` header.
    NoToken,
    /// A header or token that is not even a JWT of ours (scheme, shape, header, claims' form).
    Malformed,
    Expired,
    /// A signature that does not verify, or a key the issuer never published.
    BadSignature,
    WrongAudience,
    WrongIssuer,
    InsufficientScope,
    /// A DPoP proof missing, invalid or replayed, or a bound token sent as Bearer.
    Dpop,
    /// Anything else (not yet valid, an empty `sub`, no route scope configured).
    Other,
}

impl Denial {
    pub fn metric(self) -> &'static str {
        match self {
            Self::NoToken => "DeniedNoToken",
            Self::Malformed => "DeniedMalformed",
            Self::Expired => "DeniedExpired",
            Self::BadSignature => "DeniedBadSignature",
            Self::WrongAudience => "DeniedWrongAudience",
            Self::WrongIssuer => "DeniedWrongIssuer",
            Self::InsufficientScope => "DeniedInsufficientScope",
            Self::Dpop => "DeniedDpop",
            Self::Other => "DeniedOther",
        }
    }

    /// The reason as the log line's `denial` property: `expired`, `bad_signature`, …
    pub fn word(self) -> &'static str {
        match self {
            Self::NoToken => "no_token",
            Self::Malformed => "malformed",
            Self::Expired => "expired",
            Self::BadSignature => "bad_signature",
            Self::WrongAudience => "wrong_audience",
            Self::WrongIssuer => "wrong_issuer",
            Self::InsufficientScope => "insufficient_scope",
            Self::Dpop => "dpop",
            Self::Other => "other",
        }
    }

    /// The reason of an authorization error when the step that failed did not note a finer
    /// one: by the error's kind.
    pub fn of(error: &AuthError) -> Option<Self> {
        match error {
            AuthError::MissingCredentials => Some(Self::NoToken),
            AuthError::InvalidRequest(_) => Some(Self::Malformed),
            AuthError::InvalidToken(_) => Some(Self::Other),
            AuthError::InsufficientScope { .. } => Some(Self::InsufficientScope),
            AuthError::InvalidDpopProof(_) | AuthError::DpopRequired(_) => Some(Self::Dpop),
            AuthError::KeysUnavailable | AuthError::ProofCheckUnavailable => None,
        }
    }
}

/// What one invocation did, noted as it ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// The route key (`GET /contacts/{id}`): borrowed from the route table in the functions.
    pub route: Option<Cow<'static, str>>,
    pub denial: Option<Denial>,
    pub token_cache_hits: u32,
    pub token_cache_misses: u32,
    pub jwks_fetches: u32,
    pub jwks_failures: u32,
    pub dynamodb_calls: u32,
    pub dynamodb_retries: u32,
    pub dynamodb_ms: f64,
    pub dynamodb_throttled: u32,
    pub conditional_check_failed: u32,
    pub quota_refused: bool,
    /// Whether spans are kept: only where they are sent (X-Ray on).
    pub traced: bool,
    /// Timed pieces of the invocation, for X-Ray (at most [`xray::MAX_SPANS`]).
    pub spans: Vec<Span>,
}

/// A service request as its log line names it, for the document that stands in for that
/// line ([`Metrics::logs_requests`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RequestLine<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Which of API Gateway's authorizers let it through: `lambda`, `jwt` or `none`.
    pub authorizer: &'static str,
}

tokio::task_local! {
    static TALLY: RefCell<Tally>;
}

/// Notes something about the invocation under way; nothing outside one.
pub fn note(change: impl FnOnce(&mut Tally)) {
    let _ = TALLY.try_with(|tally| change(&mut tally.borrow_mut()));
}

/// Notes a timed piece of the invocation (from `start`, seconds since the epoch, to now).
pub fn span(name: &'static str, start: f64, error: bool) {
    if traced() {
        push_span(Span {
            name,
            namespace: None,
            operation: None,
            start,
            end: xray::now(),
            error,
        });
    }
}

/// Whether the invocation under way keeps spans (X-Ray on): callers skip timing otherwise.
pub fn traced() -> bool {
    TALLY.try_with(|t| t.borrow().traced).unwrap_or(false)
}

/// Notes a span already built (a call to an AWS service); kept only when X-Ray is on.
pub fn push_span(span: Span) {
    note(|t| {
        if t.traced && t.spans.len() < xray::MAX_SPANS {
            t.spans.push(span);
        }
    });
}

/// Notes why authorization failed, unless a step already said more precisely.
pub fn note_denial(denial: Denial) {
    note(|t| {
        t.denial.get_or_insert(denial);
    });
}

/// Where the documents go: stdout in Lambda (CloudWatch Logs extracts the metrics), the local
/// stack's figures locally.
pub trait MetricsSink: Send + Sync {
    /// Takes one document, made at `timestamp_ms`. Its JSON line (`document.to_json`) is
    /// left to the sink: writing it is most of a document's cost, and a sink that reads the
    /// figures from the document itself (the local stack's) needs the line only to check it.
    fn write(&self, document: &EmfDocument<'_>, timestamp_ms: u64);

    /// Whether the documents go to the function's log, where they can stand in for the
    /// request's own log line (stdout in Lambda).
    fn is_log(&self) -> bool {
        false
    }
}

/// Lambda: one line on stdout per document, beside the JSON logs.
pub struct Stdout;

impl MetricsSink for Stdout {
    fn write(&self, document: &EmfDocument<'_>, timestamp_ms: u64) {
        use std::io::Write;
        let mut line = document.to_json(timestamp_ms);
        // One write of the whole line (stdout's line buffer would copy it first).
        line.push('\n');
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    fn is_log(&self) -> bool {
        true
    }
}

/// Builds every document and its line and drops them: benchmarks that measure the metrics'
/// cost without printing a line per request.
pub struct Discard;

impl MetricsSink for Discard {
    fn write(&self, document: &EmfDocument<'_>, timestamp_ms: u64) {
        std::hint::black_box(document.to_json(timestamp_ms));
    }
}

/// The default namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "Organizer";

/// A function's metrics: its namespace, its `Service` dimension, where documents go, and
/// whether the next invocation is this instance's first (a cold start). Built once in `main`.
pub struct Metrics {
    namespace: String,
    service: String,
    sink: Arc<dyn MetricsSink>,
    cold: AtomicBool,
    /// Off: no tally, no document (the local stack's `--metrics off`, to measure their cost).
    off: bool,
    /// Where the invocation's spans go (the X-Ray daemon in Lambda; nowhere elsewhere).
    xray: XRay,
}

impl Metrics {
    pub fn new(
        namespace: impl Into<String>,
        service: impl Into<String>,
        sink: Arc<dyn MetricsSink>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            service: service.into(),
            sink,
            cold: AtomicBool::new(true),
            off: false,
            xray: XRay::off(),
        }
    }

    /// The same metrics, switched off: invocations run without a tally and write nothing.
    pub fn switched_off(self) -> Self {
        Self { off: true, ..self }
    }

    /// From `METRICS_NAMESPACE` (the template sets `Organizer/<stack>`), to stdout.
    pub fn from_env(env: &impl crate::config::Env, service: &str) -> Self {
        let namespace = env
            .get("METRICS_NAMESPACE")
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        Self {
            xray: XRay::from_env(env),
            ..Self::new(namespace, service, Arc::new(Stdout))
        }
    }

    /// The same metrics with spans sent to `xray` (tests: spans are kept only when X-Ray is on).
    pub fn with_xray(self, xray: XRay) -> Self {
        Self { xray, ..self }
    }

    /// The same metrics written somewhere else (the local stack's figures).
    pub fn with_sink(self, sink: Arc<dyn MetricsSink>) -> Self {
        Self { sink, ..self }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Whether each request's document is also its log line (`event` `request`, with the
    /// method, path and authorizer): so in Lambda, where documents go to the log, a request
    /// writes one line, not a log line and a document (the second line per request was most
    /// of what the metrics cost in `make bench-http`). Elsewhere (the local figures, or
    /// metrics off) the request's own log line is written as before.
    pub fn logs_requests(&self) -> bool {
        !self.off && self.sink.is_log()
    }

    /// Runs one invocation with a tally open, and returns its output and the tally.
    pub async fn measure<F: Future>(&self, invocation: F) -> (F::Output, Tally) {
        if self.off {
            return (invocation.await, Tally::default());
        }
        let tally = Tally {
            traced: self.xray.is_on(),
            ..Tally::default()
        };
        TALLY
            .scope(RefCell::new(tally), async {
                let output = invocation.await;
                (output, TALLY.with(|t| t.take()))
            })
            .await
    }

    fn cold_start(&self) -> bool {
        // Read before written: after the first invocation no core writes the flag again.
        self.cold.load(Ordering::Relaxed) && self.cold.swap(false, Ordering::Relaxed)
    }

    fn base<'a>(&'a self, tally: &'a Tally) -> EmfDocument<'a> {
        let mut doc = EmfDocument::new(&self.namespace);
        doc.dimension("Service", &self.service)
            .dimension_set(&["Service"])
            .property("event", "metrics");
        if self.cold_start() {
            doc.metric("ColdStart", Unit::Count, 1.0);
        }
        for (name, value) in [
            ("TokenCacheHit", tally.token_cache_hits),
            ("TokenCacheMiss", tally.token_cache_misses),
            ("JwksFetch", tally.jwks_fetches),
            ("JwksFetchFailed", tally.jwks_failures),
            ("DynamoDbCalls", tally.dynamodb_calls),
            ("DynamoDbRetries", tally.dynamodb_retries),
            ("DynamoDbThrottled", tally.dynamodb_throttled),
            ("ConditionalCheckFailed", tally.conditional_check_failed),
        ] {
            if value > 0 {
                doc.metric(name, Unit::Count, f64::from(value));
            }
        }
        if tally.dynamodb_calls > 0 {
            doc.metric(
                "DynamoDbLatency",
                Unit::Milliseconds,
                round(tally.dynamodb_ms),
            );
        }
        if let Some(denial) = tally.denial {
            doc.metric(denial.metric(), Unit::Count, 1.0)
                .property("denial", denial.word());
        }
        doc
    }

    /// A service function's invocation: requests by status class, latency, and the tally,
    /// by `Service` and by `Service` + `Route` (`GET /contacts/{id}`; `-` for no route).
    /// Where documents go to the log ([`Self::logs_requests`]), `line` goes into the document,
    /// which stands in for the request's own log line.
    pub fn request(
        &self,
        tally: &Tally,
        status: u16,
        took: Duration,
        trace_id: Option<&str>,
        line: Option<&RequestLine<'_>>,
    ) {
        if self.off {
            return;
        }
        let route = tally.route.as_deref().unwrap_or("-");
        let mut doc = self.base(tally);
        doc.dimension("Route", route)
            .dimension_set(&["Service", "Route"])
            .metric("Requests", Unit::Count, 1.0)
            .metric("Status2xx", Unit::Count, flag((200..300).contains(&status)))
            .metric("Status4xx", Unit::Count, flag((400..500).contains(&status)))
            .metric("Status5xx", Unit::Count, flag(status >= 500))
            .metric("Latency", Unit::Milliseconds, millis(took))
            .property("status", status);
        if let Some(line) = line.filter(|_| self.logs_requests()) {
            doc.property("event", "request")
                .property("method", line.method)
                .property("path", line.path)
                .property("authorizer", line.authorizer);
        }
        if tally.quota_refused {
            doc.metric("QuotaRefused", Unit::Count, 1.0);
        }
        if let Some(trace) = trace_id {
            doc.property("trace_id", trace_root(trace));
        }
        self.write(&doc);
        self.xray.send(trace_id, &tally.spans);
    }

    /// The Lambda authorizer's decision: `Allowed`, or `Denied<Reason>`; `AuthorizerErrors`
    /// when it could not decide (keys unavailable).
    pub fn decision(
        &self,
        tally: &Tally,
        allowed: bool,
        failed: bool,
        took: Duration,
        trace_id: Option<&str>,
    ) {
        if self.off {
            return;
        }
        let mut doc = self.base(tally);
        doc.metric("Allowed", Unit::Count, flag(allowed)).metric(
            "Latency",
            Unit::Milliseconds,
            millis(took),
        );
        if failed {
            doc.metric("AuthorizerErrors", Unit::Count, 1.0);
        }
        if let Some(route) = &tally.route {
            doc.property("route", route.as_ref());
        }
        if let Some(trace) = trace_id {
            doc.property("trace_id", trace_root(trace));
        }
        self.write(&doc);
        self.xray.send(trace_id, &tally.spans);
    }

    fn write(&self, doc: &EmfDocument<'_>) {
        if self.off {
            return;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.sink.write(doc, now);
    }
}

/// The trace's id (`1-…-…`, what the X-Ray console finds) from a trace header; the header as
/// it is when it has no `Root`.
pub fn trace_root(header: &str) -> &str {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))
        .unwrap_or(header)
}

/// Milliseconds to three decimals: enough for a percentile, short in the log.
fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

fn millis(took: Duration) -> f64 {
    round(took.as_secs_f64() * 1000.0)
}

fn flag(on: bool) -> f64 {
    f64::from(u8::from(on))
}

#[cfg(test)]
mod tests;
