//! `EmfDocument`: one CloudWatch Embedded Metric Format document, as a log line.
//!
//! Written by hand rather than with a metrics crate: the crates that emit EMF
//! (`metrics_cloudwatch_embedded`) install a process-wide recorder and flush on their own
//! schedule, while a Lambda function wants one document per invocation, written before the
//! invocation ends (a frozen container may never flush), from state built in `main`. The
//! format is small and specified (docs.aws.amazon.com, "Specification: Embedded metric
//! format"); [`check`] holds a document to that specification and the tests run it on every
//! document this crate writes.

use std::borrow::Cow;

use serde_json::Value;
use smallvec::SmallVec;

/// The units this crate uses (the specification lists more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
/// The longest dimension value, in characters (the specification's limit).
const MAX_DIMENSION_VALUE: usize = 1024;

/// A log-only member's value: text or a whole number (all this crate writes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Property<'a> {
    Text(Cow<'a, str>),
    Number(u64),
}

impl Property<'_> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Number(_) => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Text(_) => None,
        }
    }
}

impl<'a> From<&'a str> for Property<'a> {
    fn from(text: &'a str) -> Self {
        Self::Text(Cow::Borrowed(text))
    }
}

impl From<String> for Property<'_> {
    fn from(text: String) -> Self {
        Self::Text(Cow::Owned(text))
    }
}

impl From<u16> for Property<'_> {
    fn from(n: u16) -> Self {
        Self::Number(u64::from(n))
    }
}

impl From<u32> for Property<'_> {
    fn from(n: u32) -> Self {
        Self::Number(u64::from(n))
    }
}

impl From<u64> for Property<'_> {
    fn from(n: u64) -> Self {
        Self::Number(n)
    }
}

/// One document: a namespace, dimension values, metric values, and properties that go to the
/// log line only (searchable in Logs Insights, not metrics: no cost per value).
///
/// It borrows its strings and keeps its members on the stack (built in place: the builder
/// takes `&mut self`, as moving a kilobyte per call cost more than building): one is built per
/// request, and the heap allocations of an owned document (a dozen, for names, values and
/// lists) were a third of what the metrics cost (`make bench`'s metrics row). Writing it
/// allocates its line only.
#[derive(Debug, Clone, Default)]
pub struct EmfDocument<'a> {
    namespace: &'a str,
    dimension_sets: SmallVec<[&'static [&'static str]; 2]>,
    dimensions: SmallVec<[(&'static str, Cow<'a, str>); 2]>,
    metrics: SmallVec<[(&'static str, Unit, f64); 16]>,
    /// Log-only members, in the order given; a later value of a name replaces the earlier.
    properties: SmallVec<[(&'static str, Property<'a>); 8]>,
}

impl<'a> EmfDocument<'a> {
    pub fn new(namespace: &'a str) -> Self {
        Self {
            namespace,
            ..Self::default()
        }
    }

    /// A dimension's value; empty or overlong values are cut to what the specification allows.
    pub fn dimension(&mut self, name: &'static str, value: &'a str) -> &mut Self {
        let value = if value.trim().is_empty() {
            Cow::Borrowed("-")
        } else if value.len() <= MAX_DIMENSION_VALUE {
            // Bytes bound characters: nothing to cut.
            Cow::Borrowed(value)
        } else {
            match value.char_indices().nth(MAX_DIMENSION_VALUE) {
                Some((end, _)) => Cow::Borrowed(&value[..end]),
                None => Cow::Borrowed(value),
            }
        };
        self.dimensions.push((name, value));
        self
    }

    /// A dimension set to aggregate by: names of dimensions given above.
    pub fn dimension_set(&mut self, names: &'static [&'static str]) -> &mut Self {
        self.dimension_sets.push(names);
        self
    }

    pub fn metric(&mut self, name: &'static str, unit: Unit, value: f64) -> &mut Self {
        if self.metrics.len() < MAX_METRICS && !self.metrics.iter().any(|(n, ..)| *n == name) {
            self.metrics.push((name, unit, value));
        }
        self
    }

    pub fn property(&mut self, name: &'static str, value: impl Into<Property<'a>>) -> &mut Self {
        let value = value.into();
        match self.properties.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => *old = value,
            None => self.properties.push((name, value)),
        }
        self
    }

    /// A dimension's value (the local figures read the document without parsing its line).
    pub fn dimension_value(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// A property's value.
    pub fn property_value(&self, name: &str) -> Option<&Property<'a>> {
        self.properties
            .iter()
            .find(|(n, _)| *n == name)
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
            (name, unit).hash(&mut hasher);
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
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(b"{\"_aws\":{\"Timestamp\":");
        out.extend_from_slice(itoa::Buffer::new().format(timestamp_ms).as_bytes());
        out.extend_from_slice(b",\"CloudWatchMetrics\":[{\"Namespace\":");
        string_into(&mut out, self.namespace);
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
                string_into(&mut out, name);
            }
            out.push(b']');
        }
        out.extend_from_slice(b"],\"Metrics\":[");
        for (i, (name, unit, _)) in self.metrics.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"Name\":");
            string_into(&mut out, name);
            out.extend_from_slice(b",\"Unit\":\"");
            out.extend_from_slice(unit.name().as_bytes());
            out.extend_from_slice(b"\"}");
        }
        out.extend_from_slice(b"]}]}");
        let is_metric = |name: &str| self.metrics.iter().any(|(n, ..)| *n == name);
        let is_dimension = |name: &str| self.dimensions.iter().any(|(n, _)| *n == name);
        for (name, value) in &self.dimensions {
            if !is_metric(name) && *name != "_aws" {
                name_into(&mut out, name);
                string_into(&mut out, value);
            }
        }
        for (name, _, value) in &self.metrics {
            if *name != "_aws" {
                name_into(&mut out, name);
                number_into(&mut out, *value);
            }
        }
        for (name, value) in &self.properties {
            if !is_metric(name) && !is_dimension(name) && *name != "_aws" {
                name_into(&mut out, name);
                match value {
                    Property::Text(text) => string_into(&mut out, text),
                    Property::Number(n) => {
                        out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
                    }
                }
            }
        }
        out.push(b'}');
        // Only JSON was written, and serde_json writes UTF-8.
        String::from_utf8(out).unwrap_or_default()
    }
}

/// `,"name":` into `out`.
fn name_into(out: &mut Vec<u8>, name: &str) {
    out.push(b',');
    string_into(out, name);
    out.push(b':');
}

/// `text` as a JSON string into `out`: as it is when nothing in it needs escaping (names,
/// routes, paths: nearly always), else escaped by serde_json.
fn string_into(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail, and a string always serializes.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// A metric's value: a whole number as an integer (counts: shorter, and quicker to write), a
/// fraction as serde_json writes it, a non-finite number as `null` (as serde_json does).
fn number_into(out: &mut Vec<u8>, value: f64) {
    /// Below 2^53 every whole f64 is exact as an integer.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if value.fract() == 0.0 && value.abs() < EXACT {
        // Exact: a whole number below 2^53.
        #[allow(clippy::cast_possible_truncation)]
        let whole = value as i64;
        out.extend_from_slice(itoa::Buffer::new().format(whole).as_bytes());
    } else {
        // Writing into a Vec cannot fail, and a number always serializes.
        let _ = serde_json::to_writer(&mut *out, &value);
    }
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
