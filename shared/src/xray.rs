//! `XRay`: the invocation's own subsegments (token verification, the JWKS fetch, each DynamoDB
//! call) sent to the X-Ray daemon Lambda runs beside a function with active tracing.
//!
//! There is no X-Ray SDK for Rust and the AWS SDK's tracing spans reach X-Ray only through an
//! OpenTelemetry collector layer, so this writes the daemon's documented UDP format itself: a
//! header line `{"format": "json", "version": 1}`, then one subsegment document per datagram,
//! each naming the trace and the function's segment (`Root` and `Parent` of the invocation's
//! trace header). Nothing is sent for an unsampled trace, outside Lambda (no
//! `AWS_XRAY_DAEMON_ADDRESS`), or when a send fails (tracing never fails a request).

use std::net::UdpSocket;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// One timed piece of an invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub name: &'static str,
    /// `Some("aws")` for a call to an AWS service (X-Ray draws it as that service).
    pub namespace: Option<&'static str>,
    /// The AWS operation (`Query`, `TransactWriteItems`).
    pub operation: Option<String>,
    /// Seconds since the epoch.
    pub start: f64,
    pub end: f64,
    pub error: bool,
}

/// At most this many spans are kept for one invocation (a list that reads in batches makes
/// several DynamoDB calls; a bound keeps a hostile request from growing the tally).
pub const MAX_SPANS: usize = 64;

/// Seconds since the epoch, as X-Ray wants times.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The parts of a trace header (`Root=1-…;Parent=…;Sampled=1`) a subsegment needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeader {
    pub root: String,
    pub parent: String,
    pub sampled: bool,
}

impl TraceHeader {
    pub fn parse(header: &str) -> Option<Self> {
        let mut root = None;
        let mut parent = None;
        let mut sampled = false;
        for part in header.split(';') {
            match part.trim().split_once('=') {
                Some(("Root", v)) => root = Some(v.to_string()),
                Some(("Parent", v)) => parent = Some(v.to_string()),
                Some(("Sampled", v)) => sampled = v == "1",
                _ => {}
            }
        }
        let valid = |s: &String| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        match (root, parent) {
            (Some(root), Some(parent)) if valid(&root) && valid(&parent) => Some(Self {
                root,
                parent,
                sampled,
            }),
            _ => None,
        }
    }
}

/// The subsegment document of `span` under `trace`.
pub fn subsegment(span: &Span, trace: &TraceHeader) -> Value {
    let mut doc = json!({
        "name": if span.namespace == Some("aws") { "DynamoDB" } else { span.name },
        "id": segment_id(),
        "trace_id": trace.root,
        "parent_id": trace.parent,
        "start_time": span.start,
        "end_time": span.end.max(span.start),
        "type": "subsegment",
    });
    if let Some(namespace) = span.namespace {
        doc["namespace"] = json!(namespace);
    }
    if let Some(operation) = &span.operation {
        doc["aws"] = json!({"operation": operation});
    }
    if span.error {
        doc["fault"] = json!(true);
    }
    doc
}

/// 16 hex digits, as X-Ray ids are.
fn segment_id() -> String {
    let bytes = uuid::Uuid::new_v4();
    hex::encode(&bytes.as_bytes()[..8])
}

/// Where subsegments go: the daemon's UDP address, from `AWS_XRAY_DAEMON_ADDRESS`.
pub struct XRay {
    socket: Option<UdpSocket>,
}

impl XRay {
    /// Off (sends nothing).
    pub fn off() -> Self {
        Self { socket: None }
    }

    /// To the daemon at `address` (`127.0.0.1:2000`; Lambda's variable may also hold a TCP
    /// address after a space, which is ignored).
    pub fn to(address: &str) -> Self {
        let address = address.split_whitespace().next().unwrap_or("");
        let address = address.strip_prefix("udp:").unwrap_or(address);
        let socket = UdpSocket::bind("0.0.0.0:0")
            .ok()
            .filter(|s| s.connect(address).is_ok() && s.set_nonblocking(true).is_ok());
        Self { socket }
    }

    /// Whether spans are sent anywhere.
    pub fn is_on(&self) -> bool {
        self.socket.is_some()
    }

    /// From the environment: on in Lambda with active tracing, off elsewhere.
    pub fn from_env(env: &impl crate::config::Env) -> Self {
        env.get("AWS_XRAY_DAEMON_ADDRESS")
            .map_or_else(Self::off, |a| Self::to(&a))
    }

    /// Sends the spans of one invocation under `trace_header` (Lambda's, for this invocation).
    pub fn send(&self, trace_header: Option<&str>, spans: &[Span]) {
        let (Some(socket), Some(trace)) = (&self.socket, trace_header.and_then(TraceHeader::parse))
        else {
            return;
        };
        if !trace.sampled {
            return;
        }
        for span in spans {
            let datagram = format!(
                "{{\"format\": \"json\", \"version\": 1}}\n{}",
                subsegment(span, &trace)
            );
            let _ = socket.send(datagram.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use super::*;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn span(name: &'static str) -> Span {
        Span {
            name,
            namespace: None,
            operation: None,
            start: 1_764_800_000.25,
            end: 1_764_800_000.5,
            error: false,
        }
    }

    #[test]
    fn a_trace_header_gives_its_root_parent_and_sampling_and_nothing_hostile() {
        let trace = TraceHeader::parse(HEADER).unwrap();
        assert_eq!(trace.root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(trace.parent, "53995c3f42cd8ad8");
        assert!(trace.sampled);
        assert!(
            !TraceHeader::parse("Root=1-a-b;Parent=c;Sampled=0")
                .unwrap()
                .sampled
        );
        for hostile in [
            "",
            "Root=1-a-b",
            "Parent=c",
            "Root=\"x\";Parent=c",
            "Root=1-a-b;Parent=c\nd",
        ] {
            assert_eq!(TraceHeader::parse(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn a_dynamodb_call_is_an_aws_subsegment_of_the_function_segment() {
        let trace = TraceHeader::parse(HEADER).unwrap();
        let call = Span {
            name: "DynamoDB",
            namespace: Some("aws"),
            operation: Some("Query".into()),
            error: true,
            ..span("DynamoDB")
        };
        let doc = subsegment(&call, &trace);
        assert_eq!(doc["type"], "subsegment");
        assert_eq!(doc["trace_id"], trace.root);
        assert_eq!(doc["parent_id"], trace.parent);
        assert_eq!(doc["namespace"], "aws");
        assert_eq!(doc["aws"]["operation"], "Query");
        assert_eq!(doc["fault"], true);
        assert_eq!(doc["start_time"], 1_764_800_000.25);
        let id = doc["id"].as_str().unwrap();
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
    }

    /// A real UDP socket stands in for the daemon: the datagrams are its format, one
    /// subsegment each, and an unsampled trace sends nothing.
    #[test]
    fn spans_reach_the_daemon_only_for_a_sampled_trace() {
        let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
        daemon
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let xray = XRay::to(&daemon.local_addr().unwrap().to_string());
        xray.send(
            Some(&HEADER.replace("Sampled=1", "Sampled=0")),
            &[span("unsampled")],
        );
        xray.send(None, &[span("no trace")]);
        xray.send(Some(HEADER), &[span("verify token"), span("JWKS fetch")]);
        let mut names = Vec::new();
        for _ in 0..2 {
            let mut buffer = [0u8; 4096];
            let n = daemon.recv(&mut buffer).unwrap();
            let text = std::str::from_utf8(&buffer[..n]).unwrap();
            let (header, body) = text.split_once('\n').unwrap();
            assert_eq!(header, r#"{"format": "json", "version": 1}"#);
            let doc: Value = serde_json::from_str(body).unwrap();
            names.push(doc["name"].as_str().unwrap().to_string());
        }
        assert_eq!(names, ["verify token", "JWKS fetch"]);
    }

    #[test]
    fn without_a_daemon_nothing_is_sent_and_nothing_fails() {
        XRay::off().send(Some(HEADER), &[span("x")]);
        XRay::to("not an address").send(Some(HEADER), &[span("x")]);
    }
}
