#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Mutex;

use serde_json::{Value, json};

use super::*;

/// Keeps every line written.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl MetricsSink for Lines {
    fn write(&self, document: &EmfDocument<'_>, timestamp_ms: u64) {
        self.0.lock().unwrap().push(document.to_json(timestamp_ms));
    }
}

fn metrics() -> (Metrics, Arc<Lines>) {
    let lines = Arc::new(Lines::default());
    (
        Metrics::new("Organizer/test", "contacts", lines.clone()),
        lines,
    )
}

fn parsed(lines: &Lines) -> Vec<Value> {
    lines
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn names(doc: &Value) -> Vec<String> {
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_request_is_one_document_by_service_and_route_that_the_specification_accepts() {
    let (metrics, lines) = metrics();
    let ((), tally) = metrics
        .measure(async {
            note(|t| t.route = Some("GET /contacts/{id}".into()));
            note(|t| t.token_cache_misses += 1);
            note(|t| {
                t.dynamodb_calls += 2;
                t.dynamodb_ms += 3.25;
            });
        })
        .await;
    metrics.request(
        &tally,
        200,
        Duration::from_micros(4_500),
        Some("1-abc-def"),
        None,
    );
    let docs = parsed(&lines);
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    emf::check(doc).unwrap();
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Organizer/test"
    );
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Service"], ["Service", "Route"]])
    );
    assert_eq!(doc["Service"], "contacts");
    assert_eq!(doc["Route"], "GET /contacts/{id}");
    assert_eq!(doc["Requests"], 1.0);
    assert_eq!(doc["Status2xx"], 1.0);
    assert_eq!(doc["Status4xx"], 0.0);
    assert_eq!(doc["Status5xx"], 0.0);
    assert_eq!(doc["Latency"], 4.5);
    assert_eq!(doc["TokenCacheMiss"], 1.0);
    assert_eq!(doc["DynamoDbCalls"], 2.0);
    assert_eq!(doc["DynamoDbLatency"], 3.25);
    assert_eq!(
        doc["ColdStart"], 1.0,
        "the first invocation is a cold start"
    );
    assert_eq!(doc["trace_id"], "1-abc-def");
    assert_eq!(doc["event"], "metrics");
    // Counters that did not move are left out: no cost, no noise.
    assert!(!names(doc).contains(&"TokenCacheHit".to_string()));
}

#[tokio::test]
async fn only_the_first_invocation_is_a_cold_start_and_tallies_do_not_leak_between_invocations() {
    let (metrics, lines) = metrics();
    for _ in 0..2 {
        let ((), tally) = metrics
            .measure(async { note(|t| t.jwks_fetches += 1) })
            .await;
        assert_eq!(tally.jwks_fetches, 1);
        metrics.request(&tally, 404, Duration::ZERO, None, None);
    }
    let docs = parsed(&lines);
    assert_eq!(docs[0]["ColdStart"], 1.0);
    assert!(docs[1].get("ColdStart").is_none());
    assert_eq!(docs[1]["Route"], "-", "no route matched");
    assert_eq!(docs[1]["Status4xx"], 1.0);
    // Outside an invocation a note goes nowhere (and does not panic).
    note(|t| t.jwks_fetches += 100);
}

#[tokio::test]
async fn a_denial_is_its_reason_and_the_first_step_to_say_it_wins() {
    let (metrics, lines) = metrics();
    let ((), tally) = metrics
        .measure(async {
            note_denial(Denial::Expired);
            note_denial(Denial::Other);
        })
        .await;
    metrics.request(&tally, 401, Duration::ZERO, None, None);
    let ((), tally) = metrics.measure(async {}).await;
    metrics.decision(
        &Tally {
            denial: Denial::of(&AuthError::MissingCredentials),
            ..tally
        },
        false,
        false,
        Duration::ZERO,
        None,
    );
    let docs = parsed(&lines);
    assert_eq!(docs[0]["DeniedExpired"], 1.0);
    assert_eq!(docs[0]["denial"], "expired");
    assert!(docs[0].get("DeniedOther").is_none());
    assert_eq!(docs[1]["DeniedNoToken"], 1.0);
    assert_eq!(docs[1]["Allowed"], 0.0);
    for doc in &docs {
        emf::check(doc).unwrap();
    }
}

#[tokio::test]
async fn a_quota_refusal_is_counted() {
    let (metrics, lines) = metrics();
    let ((), tally) = metrics
        .measure(async { note(|t| t.quota_refused = true) })
        .await;
    metrics.request(&tally, 409, Duration::ZERO, None, None);
    assert_eq!(parsed(&lines)[0]["QuotaRefused"], 1.0);
}

#[test]
fn dimension_values_are_never_empty_or_longer_than_allowed() {
    let long = "r".repeat(2000);
    let mut doc = EmfDocument::new("N");
    doc.dimension("Service", "  ")
        .dimension("Route", &long)
        .dimension_set(&["Service", "Route"])
        .metric("Requests", Unit::Count, 1.0);
    let doc: Value = serde_json::from_str(&doc.to_json(1_764_800_000_000)).unwrap();
    emf::check(&doc).unwrap();
    assert_eq!(doc["Service"], "-");
    assert_eq!(doc["Route"].as_str().unwrap().len(), 1024);
}

#[test]
fn at_most_one_hundred_metrics_each_named_once() {
    let names: Vec<&'static str> = (0..150)
        .map(|i| &*Box::leak(format!("M{i}").into_boxed_str()))
        .collect();
    let mut doc = EmfDocument::new("N");
    doc.metric("M0", Unit::Count, 1.0);
    for name in &names {
        doc.metric(name, Unit::Count, 1.0);
    }
    let doc: Value = serde_json::from_str(&doc.to_json(1_764_800_000_000)).unwrap();
    emf::check(&doc).unwrap();
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
}

/// A change that breaks a document.
type Breaks = Box<dyn Fn(&mut Value)>;

/// The checker itself: each rule of the specification it holds documents to, broken once.
#[test]
fn the_checker_refuses_what_cloudwatch_would() {
    let good = || {
        json!({
            "_aws": {"Timestamp": 1_764_800_000_000_u64, "CloudWatchMetrics": [{
                "Namespace": "Organizer/x", "Dimensions": [["Service"]],
                "Metrics": [{"Name": "Requests", "Unit": "Count"}]}]},
            "Service": "contacts", "Requests": 1
        })
    };
    emf::check(&good()).unwrap();
    let broken: Vec<(&str, Breaks)> = vec![
        (
            "no _aws",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("_aws");
            }),
        ),
        (
            "seconds",
            Box::new(|d| d["_aws"]["Timestamp"] = json!(1_764_800_000)),
        ),
        (
            "AWS namespace",
            Box::new(|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("AWS/Lambda")),
        ),
        (
            "dimension without value",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("Service");
            }),
        ),
        (
            "dimension not a string",
            Box::new(|d| d["Service"] = json!(3)),
        ),
        (
            "metric without value",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("Requests");
            }),
        ),
        ("metric a string", Box::new(|d| d["Requests"] = json!("1"))),
        (
            "unknown unit",
            Box::new(|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Requests")
            }),
        ),
        (
            "repeated metric",
            Box::new(|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Metrics"] =
                    json!([{"Name": "Requests"}, {"Name": "Requests"}])
            }),
        ),
        (
            "31 dimensions",
            Box::new(|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([vec!["Service"; 31]])
            }),
        ),
    ];
    for (what, change) in broken {
        let mut doc = good();
        change(&mut doc);
        assert!(emf::check(&doc).is_err(), "{what} was accepted");
    }
}

#[test]
fn every_member_is_written_once_and_strings_are_escaped() {
    let mut doc = EmfDocument::new("Organizer/\"quoted\"");
    doc.dimension("Service", "con\ttacts \u{2028}")
        .dimension_set(&["Service", "Route"])
        .metric("Requests", Unit::Count, 1.0)
        .metric("Latency", Unit::Milliseconds, f64::NAN)
        .property("Service", "a property may not replace a dimension")
        .property("Requests", "nor a metric")
        .property("_aws", "nor the directive")
        .property("status", 200_u16)
        .property("status", 404_u16)
        .property("note", "line\nbreak \"quoted\" </script>");
    let line = doc.to_json(1_764_800_000_000);
    for member in ["\"_aws\":", "\"Service\":", "\"Requests\":", "\"status\":"] {
        assert_eq!(line.matches(member).count(), 1, "{member} in {line}");
    }
    let parsed: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(parsed["Service"], "con\ttacts \u{2028}");
    assert_eq!(parsed["Requests"], 1.0);
    assert_eq!(
        parsed["Latency"],
        Value::Null,
        "a non-finite number is null, as serde_json writes it"
    );
    assert_eq!(
        parsed["status"], 404,
        "a property given twice: the last value"
    );
    assert_eq!(parsed["note"], "line\nbreak \"quoted\" </script>");
    assert_eq!(
        parsed["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Organizer/\"quoted\""
    );
    // The set names only the dimensions given (no Route here).
    assert_eq!(
        parsed["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Service"]])
    );
    assert!(
        emf::check(&parsed).is_err(),
        "a null metric is refused by the check"
    );
}

#[test]
fn documents_alike_but_for_their_numbers_have_one_shape() {
    fn doc(status: u16, ms: f64, route: &str) -> EmfDocument<'_> {
        let mut doc = EmfDocument::new("N");
        doc.dimension("Service", "contacts")
            .dimension("Route", route)
            .dimension_set(&["Service", "Route"])
            .metric("Latency", Unit::Milliseconds, ms)
            .property("status", status);
        doc
    }
    assert_eq!(
        doc(200, 1.0, "GET /contacts").shape(),
        doc(404, 7.5, "GET /contacts").shape()
    );
    assert_ne!(
        doc(200, 1.0, "GET /contacts").shape(),
        doc(200, 1.0, "GET /calendar").shape()
    );
    let mut more = doc(200, 1.0, "GET /contacts");
    more.metric("ColdStart", Unit::Count, 1.0);
    assert_ne!(more.shape(), doc(200, 1.0, "GET /contacts").shape());
}

/// Lines that stand for a function's log, as stdout does in Lambda.
#[derive(Default)]
struct LogLines(Lines);

impl MetricsSink for LogLines {
    fn write(&self, document: &EmfDocument<'_>, timestamp_ms: u64) {
        self.0.write(document, timestamp_ms);
    }

    fn is_log(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn where_documents_go_to_the_log_a_request_document_is_its_log_line() {
    let line = RequestLine {
        method: "GET",
        path: "/contacts/c-1",
        authorizer: "lambda",
    };
    let log = Arc::new(LogLines::default());
    let in_log = Metrics::new("Organizer/test", "contacts", log.clone());
    assert!(in_log.logs_requests());
    let ((), tally) = in_log.measure(async {}).await;
    in_log.request(&tally, 200, Duration::from_millis(1), None, Some(&line));
    let doc = &parsed(&log.0)[0];
    emf::check(doc).unwrap();
    assert_eq!(doc["event"], "request");
    assert_eq!(doc["method"], "GET");
    assert_eq!(doc["path"], "/contacts/c-1");
    assert_eq!(doc["authorizer"], "lambda");
    assert_eq!(doc["status"], 200);

    // To the local figures, or switched off: the request keeps its own log line, and the
    // document says nothing of it.
    let (figures, lines) = metrics();
    assert!(!figures.logs_requests());
    assert!(
        !Metrics::new("N", "contacts", log.clone())
            .switched_off()
            .logs_requests()
    );
    let ((), tally) = figures.measure(async {}).await;
    figures.request(&tally, 200, Duration::from_millis(1), None, Some(&line));
    let doc = &parsed(&lines)[0];
    assert_eq!(doc["event"], "metrics");
    assert_eq!(doc.get("path"), None);
}

#[tokio::test]
async fn spans_are_kept_only_where_they_are_sent() {
    let (metrics, _) = metrics();
    let ((), tally) = metrics
        .measure(async { span("verify token", 1.0, false) })
        .await;
    assert!(tally.spans.is_empty(), "X-Ray off: {:?}", tally.spans);
    let traced = metrics.with_xray(XRay::to("127.0.0.1:2000"));
    let ((), tally) = traced
        .measure(async { span("verify token", 1.0, false) })
        .await;
    assert_eq!(tally.spans.len(), 1);
    assert_eq!(tally.spans[0].name, "verify token");
}
