//! Structured JSON logs, one line per event, as CloudWatch Logs Insights expects.

/// Starts JSON logging once at start-up. The level comes from `RUST_LOG` (default `info`).
/// Tokens are never logged; `sub` and the route are.
pub fn init_json_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignore a second initialisation (tests, or a host that already set a subscriber).
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .try_init();
}
