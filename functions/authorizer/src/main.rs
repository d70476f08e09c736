//! The authorizer Lambda function. Configuration (see the README): `AUTH0_DOMAIN` or `ISSUER`,
//! `AUDIENCE`, `JWKS_URI`, and optionally `ROUTE_SCOPES`.

use std::process::ExitCode;

use authorizer::{AuthorizerState, RouteScopes, authorize};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use organizer_shared::config::ProcessEnv;
use organizer_shared::{AuthConfig, TokenVerifier, logging};
use serde_json::Value;

#[tokio::main]
async fn main() -> ExitCode {
    logging::init_json_logs();
    let configured = AuthConfig::from_env(&ProcessEnv)
        .map_err(|e| e.to_string())
        .and_then(|auth| {
            Ok((
                auth,
                RouteScopes::from_env(&ProcessEnv).map_err(|e| e.to_string())?,
            ))
        })
        .and_then(|(auth, routes)| {
            Ok(AuthorizerState {
                verifier: TokenVerifier::from_config(&auth).map_err(|e| e.to_string())?,
                routes,
            })
        });
    let state = match configured {
        Ok(state) => state,
        Err(error) => {
            eprintln!("{error}");
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = state.verifier.keys().refresh().await {
        tracing::warn!(%error, "JWKS not loaded at start-up; will retry on the first request");
    }
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
