//! Structured JSON logs, one line per event, as CloudWatch Logs Insights expects.

/// Starts JSON logging once at start-up. The level comes from `RUST_LOG` (default `info`).
/// Tokens are never logged; `sub` and the route are. Each line of a request carries its
/// span (`span.trace_id`), so one X-Ray trace finds its log lines.
pub fn init_json_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignore a second initialisation (tests, or a host that already set a subscriber).
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        // The request's span: its `trace_id` (X-Ray's, from Lambda) on every line it writes.
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}
