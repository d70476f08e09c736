//! `LocalFigures`: the metrics the functions would send to CloudWatch, shown by the local
//! stack instead: a short summary on the terminal every few seconds while requests come in.
//!
//! Fed by the same EMF documents the functions write to stdout in Lambda (the first of each
//! shape held to the specification by `metrics::emf::check`), so what a developer sees locally is what
//! the deployed dashboard will show. The terminal, not a page: `make run` is already the window
//! a developer watches while clicking through the SPA, a denial reason appears there the moment
//! it happens, and no extra port or tab is needed. Functions run under `cargo lambda watch`
//! print their documents in that terminal instead.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use organizer_shared::metrics::{EmfDocument, MetricsSink, Property, emf};
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

/// What one shard holds: the window's rows by (service, route), and the shapes of document
/// already checked ([`EmfDocument::shape`]).
#[derive(Default)]
struct Shard {
    window: BTreeMap<(String, String), RouteFigures>,
    checked: HashSet<u64>,
}

/// Shards of the figures: each worker thread writes to its own, so requests on two threads
/// never wait for one lock (on two busy cores a lock held by a preempted thread stalls the
/// other for a time slice); the summary merges them.
const SHARDS: usize = 8;

/// The figures of the current window, by (service, route).
pub struct LocalFigures {
    shards: [Mutex<Shard>; SHARDS],
    /// Documents that failed the EMF check (a bug to fix, said on the terminal).
    rejected: Mutex<Vec<String>>,
}

impl Default for LocalFigures {
    fn default() -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::new(Shard::default())),
            rejected: Mutex::default(),
        }
    }
}

/// Numbers the threads that write figures, so each takes its own shard (threads live as long
/// as the runtime: a few, numbered once).
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

impl RouteFigures {
    fn add(&mut self, other: RouteFigures) {
        self.requests += other.requests;
        for (mine, theirs) in self.status.iter_mut().zip(other.status) {
            *mine += theirs;
        }
        self.allowed += other.allowed;
        let room = MAX_SAMPLES.saturating_sub(self.latencies.len());
        self.latencies
            .extend(other.latencies.into_iter().take(room));
        for (name, n) in other.counters {
            *self.counters.entry(name).or_default() += n;
        }
    }
}

impl MetricsSink for LocalFigures {
    fn write(&self, document: &EmfDocument<'_>, timestamp_ms: u64) {
        let Ok(mut shard) = self.shards[SHARD.with(|i| *i)].lock() else {
            return;
        };
        // The line is held to the EMF specification once per shape of document (its names,
        // dimensions and units): documents of one shape differ only in their numbers. Then the
        // figures are read from the document the line was written from, not by parsing it
        // again on every request (what made the metrics cost a fifth of make bench-http), and
        // the line is written only for that check.
        if shard.checked.insert(document.shape()) {
            let line = document.to_json(timestamp_ms);
            let checked = serde_json::from_str::<Value>(&line)
                .map_err(|_| "not JSON".to_string())
                .and_then(|doc| emf::check(&doc));
            if let Err(problem) = checked {
                shard.checked.remove(&document.shape());
                drop(shard);
                self.reject(format!("{problem}: {line}"));
                return;
            }
        }
        if document.metrics().any(|(_, v)| !v.is_finite()) {
            drop(shard);
            let line = document.to_json(timestamp_ms);
            self.reject(format!("a metric is not a finite number: {line}"));
            return;
        }
        let service = document.dimension_value("Service").unwrap_or("-");
        let route = document
            .dimension_value("Route")
            .or_else(|| document.property_value("route").and_then(Property::as_str))
            .unwrap_or("-");
        let window = &mut shard.window;
        // A handful of routes: a scan finds the row without allocating a key per request.
        if !window.keys().any(|(s, r)| s == service && r == route) {
            window.insert(
                (service.to_string(), route.to_string()),
                RouteFigures::default(),
            );
        }
        let Some(row) = window
            .iter_mut()
            .find(|((s, r), _)| s == service && r == route)
            .map(|(_, row)| row)
        else {
            return;
        };
        row.requests += 1;
        if let Some(status) = document.property_value("status").and_then(Property::as_u64) {
            let class = match status {
                200..=399 => 0,
                400..=499 => 1,
                _ => 2,
            };
            row.status[class] += 1;
        }
        for (name, value) in document.metrics() {
            match name {
                "Requests" | "Status2xx" | "Status4xx" | "Status5xx" => {}
                "Allowed" => {
                    if value == 1.0 {
                        row.allowed += 1;
                    }
                }
                "Latency" => {
                    if row.latencies.len() < MAX_SAMPLES {
                        row.latencies.push(value);
                    }
                }
                _ => {
                    if let Some(counter) = row.counters.get_mut(name) {
                        *counter += value;
                    } else {
                        row.counters.insert(name.to_string(), value);
                    }
                }
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
        let mut all: BTreeMap<(String, String), RouteFigures> = BTreeMap::new();
        for shard in &self.shards {
            let window = shard
                .lock()
                .map(|mut s| std::mem::take(&mut s.window))
                .unwrap_or_default();
            for (key, row) in window {
                all.entry(key).or_default().add(row);
            }
        }
        all
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use std::time::Duration;

    use organizer_shared::metrics::{Metrics, Tally};

    use super::*;

    /// Requests written from several threads (each to its shard) add up in one summary, and a
    /// document CloudWatch would refuse is said, not counted.
    #[test]
    fn figures_written_from_many_threads_add_up() {
        let figures = Arc::new(LocalFigures::default());
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let metrics = Metrics::new("Organizer/test", "contacts", figures.clone());
                std::thread::spawn(move || {
                    let tally = Tally {
                        route: Some("GET /contacts".into()),
                        token_cache_hits: 1,
                        ..Tally::default()
                    };
                    for n in 0..500 {
                        let status = if n % 5 == 0 { 403 } else { 200 };
                        metrics.request(&tally, status, Duration::from_micros(100 + i), None, None);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let window = figures.take();
        let row = &window[&("contacts".to_string(), "GET /contacts".to_string())];
        assert_eq!(row.requests, 3_000);
        assert_eq!(row.status, [2_400, 600, 0]);
        assert_eq!(row.latencies.len(), 3_000);
        assert_eq!(row.counters.get("TokenCacheHit"), Some(&3_000.0));
        assert!(figures.take().is_empty(), "the window starts again");
        assert!(figures.rejected().is_empty(), "{:?}", figures.rejected());

        // An empty namespace: every document of that shape is refused, each time.
        let bad = Metrics::new("", "contacts", figures.clone());
        for _ in 0..2 {
            bad.request(&Tally::default(), 200, Duration::from_millis(1), None, None);
        }
        assert_eq!(figures.rejected().len(), 2, "{:?}", figures.rejected());
        assert!(figures.take().is_empty());
    }
}
