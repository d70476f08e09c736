//! `EmfDocument`: one CloudWatch Embedded Metric Format document, as a log line.
//!
//! Written by hand rather than with a metrics crate: the crates that emit EMF
//! (`metrics_cloudwatch_embedded`) install a process-wide recorder and flush on their own
//! schedule, while a Lambda function wants one document per invocation, written before the
//! invocation ends (a frozen container may never flush), from state built in `main`. The
//! format is small and specified (docs.aws.amazon.com, "Specification: Embedded metric
//! format"); [`check`] holds a document to that specification and the tests run it on every
//! document this crate writes.

use serde_json::Value;

/// The units this crate uses (the specification lists more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// The most metrics one directive may define (the specification's limit).
pub const MAX_METRICS: usize = 100;
/// The most dimensions one dimension set may hold (the specification's limit).
pub const MAX_DIMENSIONS: usize = 30;

/// One document: a namespace, dimension values, metric values, and properties that go to the
/// log line only (searchable in Logs Insights, not metrics: no cost per value).
#[derive(Debug, Clone, Default)]
pub struct EmfDocument {
    namespace: String,
    dimension_sets: Vec<Vec<&'static str>>,
    dimensions: Vec<(&'static str, String)>,
    metrics: Vec<(&'static str, Unit, f64)>,
    /// Log-only members, in the order given; a later value of a name replaces the earlier.
    properties: Vec<(String, Value)>,
}

impl EmfDocument {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            ..Self::default()
        }
    }

    /// A dimension's value; empty or overlong values are cut to what the specification allows.
    pub fn dimension(mut self, name: &'static str, value: &str) -> Self {
        let value: String = value.chars().take(1024).collect();
        let value = if value.trim().is_empty() {
            "-".to_string()
        } else {
            value
        };
        self.dimensions.push((name, value));
        self
    }

    /// The dimension sets to aggregate by, each a list of dimension names given above.
    pub fn dimension_set(mut self, names: &[&'static str]) -> Self {
        self.dimension_sets.push(names.to_vec());
        self
    }

    pub fn metric(mut self, name: &'static str, unit: Unit, value: f64) -> Self {
        if self.metrics.len() < MAX_METRICS && !self.metrics.iter().any(|(n, ..)| *n == name) {
            self.metrics.push((name, unit, value));
        }
        self
    }

    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        match self.properties.iter_mut().find(|(n, _)| n == name) {
            Some((_, old)) => *old = value,
            None => self.properties.push((name.to_string(), value)),
        }
        self
    }

    /// A dimension's value (the local figures read the document without parsing its line).
    pub fn dimension_value(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A property's value.
    pub fn property_value(&self, name: &str) -> Option<&Value> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// A metric's value.
    pub fn metric_value(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, _, v)| *v)
    }

    /// What makes two documents alike but for their numbers: namespace, dimension sets,
    /// dimensions with their values, metric names and units, property names. Two documents of
    /// one shape pass or fail [`check`] together when their numbers are finite.
    pub fn shape(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.namespace.hash(&mut hasher);
        self.dimension_sets.hash(&mut hasher);
        self.dimensions.hash(&mut hasher);
        for (name, unit, _) in &self.metrics {
            (name, unit.name()).hash(&mut hasher);
        }
        for (name, _) in &self.properties {
            name.hash(&mut hasher);
        }
        hasher.finish()
    }

    /// The metric values, in the order given (the local figures read them back).
    pub fn metrics(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.metrics.iter().map(|(n, _, v)| (*n, *v))
    }

    /// The document as one JSON line, stamped `timestamp_ms` (milliseconds since the epoch).
    ///
    /// Written straight into one buffer (no JSON tree): this runs once per request, and the
    /// tree cost more than everything else the metrics do (`make bench-http`'s metrics row).
    /// A member is written once: a metric wins over a dimension or property of its name, a
    /// dimension over a property.
    pub fn to_json(&self, timestamp_ms: u64) -> String {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(b"{\"_aws\":{\"Timestamp\":");
        json_into(&mut out, &timestamp_ms);
        out.extend_from_slice(b",\"CloudWatchMetrics\":[{\"Namespace\":");
        json_into(&mut out, &self.namespace);
        out.extend_from_slice(b",\"Dimensions\":[");
        for (i, set) in self.dimension_sets.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            let present = set
                .iter()
                .filter(|d| self.dimensions.iter().any(|(n, _)| n == *d))
                .take(MAX_DIMENSIONS);
            for (j, name) in present.enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                json_into(&mut out, name);
            }
            out.push(b']');
        }
        out.extend_from_slice(b"],\"Metrics\":[");
        for (i, (name, unit, _)) in self.metrics.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"Name\":");
            json_into(&mut out, name);
            out.extend_from_slice(b",\"Unit\":");
            json_into(&mut out, unit.name());
            out.push(b'}');
        }
        out.extend_from_slice(b"]}]}");
        let is_metric = |name: &str| self.metrics.iter().any(|(n, ..)| *n == name);
        let is_dimension = |name: &str| self.dimensions.iter().any(|(n, _)| *n == name);
        for (name, value) in &self.dimensions {
            if !is_metric(name) && *name != "_aws" {
                member_into(&mut out, name, value);
            }
        }
        for (name, _, value) in &self.metrics {
            if *name != "_aws" {
                member_into(&mut out, name, value);
            }
        }
        for (name, value) in &self.properties {
            if !is_metric(name) && !is_dimension(name) && name != "_aws" {
                member_into(&mut out, name, value);
            }
        }
        out.push(b'}');
        // Only JSON was written, and serde_json writes UTF-8.
        String::from_utf8(out).unwrap_or_default()
    }
}

/// `,"name":value` into `out`.
fn member_into(out: &mut Vec<u8>, name: &str, value: &(impl serde::Serialize + ?Sized)) {
    out.push(b',');
    json_into(out, name);
    out.push(b':');
    json_into(out, value);
}

/// `value` as JSON into `out` (a non-finite number as `null`, as serde_json writes it).
fn json_into(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    // Writing into a Vec cannot fail, and these values (strings, numbers, JSON values)
    // always serialize.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Holds a parsed document to the EMF specification: what CloudWatch would reject or silently
/// drop is an error naming the member. Used by the tests, and by the local figures on every
/// document they read (a document the local stack shows is one CloudWatch would take).
pub fn check(document: &Value) -> Result<(), String> {
    let root = document
        .as_object()
        .ok_or("the document is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    let timestamp = aws
        .get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is not a number of milliseconds")?;
    if timestamp < 1_000_000_000_000 {
        return Err(format!("_aws.Timestamp {timestamp} is not in milliseconds"));
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    for (i, directive) in directives.iter().enumerate() {
        let at = |what: &str| format!("CloudWatchMetrics[{i}]: {what}");
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or_else(|| at("no Namespace"))?;
        if namespace.is_empty() || namespace.len() > 255 || namespace.starts_with("AWS/") {
            return Err(at("Namespace must be 1 to 255 characters and not AWS/…"));
        }
        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or_else(|| at("Dimensions is not an array"))?;
        for set in sets {
            let set = set
                .as_array()
                .ok_or_else(|| at("a dimension set is not an array"))?;
            if set.len() > MAX_DIMENSIONS {
                return Err(at("a dimension set holds more than 30 dimensions"));
            }
            for name in set {
                let name = name
                    .as_str()
                    .ok_or_else(|| at("a dimension name is not a string"))?;
                let value = root.get(name).and_then(Value::as_str).ok_or_else(|| {
                    at(&format!("dimension {name} has no string value at the root"))
                })?;
                if value.trim().is_empty() || value.chars().count() > 1024 {
                    return Err(at(&format!(
                        "dimension {name}'s value must be 1 to 1024 characters"
                    )));
                }
            }
        }
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or_else(|| at("Metrics is not an array"))?;
        if metrics.len() > MAX_METRICS {
            return Err(at("more than 100 metrics"));
        }
        let mut seen = std::collections::HashSet::new();
        for metric in metrics {
            let name = metric
                .get("Name")
                .and_then(Value::as_str)
                .ok_or_else(|| at("a metric has no Name"))?;
            if name.is_empty() || name.len() > 1024 || !seen.insert(name) {
                return Err(at(&format!(
                    "metric name {name:?} is empty, too long or repeated"
                )));
            }
            if let Some(unit) = metric.get("Unit") {
                let unit = unit.as_str().unwrap_or("");
                if !UNITS.contains(&unit) {
                    return Err(at(&format!("metric {name}: unknown unit {unit:?}")));
                }
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values))
                    if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                _ => {
                    return Err(at(&format!(
                        "metric {name} has no number (or array of up to 100) at the root"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The units CloudWatch accepts.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];
