//! The authorizer Lambda function. Configuration (see the README): `AUTH0_DOMAIN` or `ISSUER`,
//! `AUDIENCE`, `JWKS_URI`, and optionally `ROUTE_SCOPES`.

use std::process::ExitCode;

use authorizer::{AuthorizerState, RouteScopes, authorize};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use organizer_shared::config::ProcessEnv;
use organizer_shared::{AuthConfig, StartupError, TokenVerifier, logging, startup};
use serde_json::Value;

fn state_from_env() -> Result<AuthorizerState, StartupError> {
    let auth = AuthConfig::from_env(&ProcessEnv)?;
    Ok(AuthorizerState {
        routes: RouteScopes::from_env(&ProcessEnv)?,
        verifier: TokenVerifier::from_config(&auth)?,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    logging::init_json_logs();
    let state = match state_from_env() {
        Ok(state) => state,
        Err(error) => return error.exit(),
    };
    startup::warm_up(&state.verifier).await;
    let state = &state;
    // The event is taken as plain JSON, so a malformed one is a deny, not a runtime error.
    let handler = service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, std::convert::Infallible>(authorize(state, &event.payload).await)
    });
    match lambda_runtime::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "runtime stopped");
            ExitCode::FAILURE
        }
    }
}
