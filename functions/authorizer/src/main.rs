//! The authorizer Lambda function. Configuration (docs/architecture.md#configuration): `AUTH0_DOMAIN` or `ISSUER`,
//! `AUDIENCE`, `JWKS_URI`, and optionally `ROUTE_SCOPES`.

use std::process::ExitCode;

use authorizer::{AuthorizerState, authorize_traced};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use organizer_shared::config::ProcessEnv;
use organizer_shared::{logging, startup};
use serde_json::Value;

#[tokio::main]
async fn main() -> ExitCode {
    logging::init_json_logs();
    let state = match AuthorizerState::from_env(&ProcessEnv) {
        Ok(state) => state,
        Err(error) => return error.exit(),
    };
    startup::warm_up(&state.verifier).await;
    let state = &state;
    // The event is taken as plain JSON, so a malformed one is a deny, not a runtime error.
    let handler = service_fn(move |event: LambdaEvent<Value>| async move {
        let trace_id = event.context.xray_trace_id.as_deref();
        Ok::<_, std::convert::Infallible>(authorize_traced(state, &event.payload, trace_id).await)
    });
    match lambda_runtime::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(event = "runtime_stopped", %error, "runtime stopped");
            ExitCode::FAILURE
        }
    }
}
