//! `LocalFigures`: the metrics the functions would send to CloudWatch, shown by the local
//! stack instead: a short summary on the terminal every few seconds while requests come in.
//!
//! Fed by the same EMF documents the functions write to stdout in Lambda (each one held to
//! the specification by `metrics::emf::check` first), so what a developer sees locally is what
//! the deployed dashboard will show. The terminal, not a page: `make run` is already the window
//! a developer watches while clicking through the SPA, a denial reason appears there the moment
//! it happens, and no extra port or tab is needed. Functions run under `cargo lambda watch`
//! print their documents in that terminal instead.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use organizer_shared::metrics::{EmfDocument, MetricsSink, emf};
use serde_json::Value;

/// What one function and route did since the last summary.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RouteFigures {
    pub requests: u64,
    pub status: [u64; 3],
    pub allowed: u64,
    /// Latencies in milliseconds (at most [`MAX_SAMPLES`] kept per window).
    pub latencies: Vec<f64>,
    /// `DeniedExpired` → count, and the other counters (`TokenCacheHit`, `DynamoDbCalls`, …).
    pub counters: BTreeMap<String, f64>,
}

/// Latencies kept per route and window: enough for a p99 of a busy window.
pub const MAX_SAMPLES: usize = 10_000;

/// The figures of the current window, by (service, route).
#[derive(Default)]
pub struct LocalFigures {
    window: Mutex<BTreeMap<(String, String), RouteFigures>>,
    /// Documents that failed the EMF check (a bug to fix, said on the terminal).
    rejected: Mutex<Vec<String>>,
}

impl MetricsSink for LocalFigures {
    fn write(&self, _document: &EmfDocument, line: String) {
        let Ok(doc) = serde_json::from_str::<Value>(&line) else {
            self.reject(format!("not JSON: {line}"));
            return;
        };
        if let Err(problem) = emf::check(&doc) {
            self.reject(format!("{problem}: {line}"));
            return;
        }
        let text = |k: &str| {
            doc.get(k)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_string()
        };
        let number = |k: &str| doc.get(k).and_then(Value::as_f64);
        let key = (
            text("Service"),
            doc.get("Route")
                .or_else(|| doc.get("route"))
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_string(),
        );
        let Ok(mut window) = self.window.lock() else {
            return;
        };
        let row = window.entry(key).or_default();
        row.requests += 1;
        if let Some(status) = doc.get("status").and_then(Value::as_u64) {
            let class = match status {
                200..=399 => 0,
                400..=499 => 1,
                _ => 2,
            };
            row.status[class] += 1;
        }
        if number("Allowed") == Some(1.0) {
            row.allowed += 1;
        }
        if let Some(ms) = number("Latency")
            && row.latencies.len() < MAX_SAMPLES
        {
            row.latencies.push(ms);
        }
        let defined = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for metric in defined {
            let Some(name) = metric.get("Name").and_then(Value::as_str) else {
                continue;
            };
            if matches!(
                name,
                "Requests" | "Status2xx" | "Status4xx" | "Status5xx" | "Latency" | "Allowed"
            ) {
                continue;
            }
            if let Some(value) = number(name) {
                *row.counters.entry(name.to_string()).or_default() += value;
            }
        }
    }
}

impl LocalFigures {
    fn reject(&self, why: String) {
        if let Ok(mut rejected) = self.rejected.lock() {
            rejected.push(why);
        }
    }

    /// The window's figures, which start again from nothing.
    pub fn take(&self) -> BTreeMap<(String, String), RouteFigures> {
        self.window
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }

    /// Documents that failed the EMF check so far.
    pub fn rejected(&self) -> Vec<String> {
        self.rejected.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The window as lines for the terminal, or nothing when no request came.
    pub fn summary(
        figures: &BTreeMap<(String, String), RouteFigures>,
        every: Duration,
    ) -> Option<String> {
        if figures.is_empty() {
            return None;
        }
        let mut out = format!(
            "figures, last {} s (what CloudWatch would get):\n",
            every.as_secs()
        );
        for ((service, route), row) in figures {
            let mut line = if service == "authorizer" {
                format!(
                    "  {service:<10} {route:<24} {:>4} decisions, allowed {}",
                    row.requests, row.allowed
                )
            } else {
                format!(
                    "  {service:<10} {route:<24} {:>4} requests, 2xx {} 4xx {} 5xx {}",
                    row.requests, row.status[0], row.status[1], row.status[2]
                )
            };
            if let Some((p50, p99)) = percentiles(&row.latencies) {
                line.push_str(&format!(", p50 {p50:.1} ms p99 {p99:.1} ms"));
            }
            let denied: Vec<String> = row
                .counters
                .iter()
                .filter_map(|(name, n)| {
                    name.strip_prefix("Denied")
                        .map(|why| format!("{} {n}", words(why)))
                })
                .collect();
            if !denied.is_empty() {
                line.push_str(&format!(", denied: {}", denied.join(", ")));
            }
            let other: Vec<String> = row
                .counters
                .iter()
                .filter(|(name, _)| !name.starts_with("Denied"))
                .map(|(name, n)| {
                    if name.ends_with("Latency") {
                        format!("{name} {n:.1} ms")
                    } else {
                        format!("{name} {n}")
                    }
                })
                .collect();
            if !other.is_empty() {
                line.push_str(&format!(" ({})", other.join(", ")));
            }
            out.push_str(&line);
            out.push('\n');
        }
        Some(out)
    }

    /// Prints [`summary`](Self::summary) to stderr every `every` while requests come in.
    pub fn print_every(self: Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Some(text) = Self::summary(&self.take(), every) {
                    eprint!("{text}");
                }
                for problem in self
                    .rejected
                    .lock()
                    .map(|mut r| std::mem::take(&mut *r))
                    .unwrap_or_default()
                {
                    eprintln!("  a metrics document CloudWatch would refuse: {problem}");
                }
            }
        })
    }
}

/// `BadSignature` → `bad signature`.
fn words(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn percentiles(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    };
    Some((at(0.50), at(0.99)))
}
