//! The calendar Lambda function. Configuration (see the README): `AUTH0_DOMAIN` or `ISSUER`,
//! `AUDIENCE`, `JWKS_URI`, `ALLOWED_ORIGINS`, `CALENDAR_TABLE`.

use std::process::ExitCode;
use std::sync::Arc;

use calendar::{CalendarApi, handle};
use lambda_http::{Request, service_fn};
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::config::{ProcessEnv, var_or};
use organizer_shared::store::dynamo::{DEFAULT_CALENDAR_TABLE, DynamoEventStore, client};
use organizer_shared::{AuthConfig, TokenVerifier, logging};

#[tokio::main]
async fn main() -> ExitCode {
    logging::init_json_logs();
    let config = match AuthConfig::from_env(&ProcessEnv)
        .and_then(|c| Ok((c, Cors::from_env(&ProcessEnv)?)))
    {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            tracing::error!(%error, "bad configuration");
            return ExitCode::FAILURE;
        }
    };
    let (auth, cors) = config;
    let verifier = match TokenVerifier::from_config(&auth) {
        Ok(verifier) => verifier,
        Err(error) => {
            tracing::error!(%error, "cannot build the JWKS client");
            return ExitCode::FAILURE;
        }
    };
    // Warm the key cache during init, which Lambda does not bill the first request for.
    if let Err(error) = verifier.keys().refresh().await {
        tracing::warn!(%error, "JWKS not loaded at start-up; will retry on the first request");
    }
    let table = var_or(&ProcessEnv, "CALENDAR_TABLE", DEFAULT_CALENDAR_TABLE);
    let api = CalendarApi {
        context: ApiContext::new(verifier, cors),
        store: Arc::new(DynamoEventStore::new(client(None).await, table)),
    };
    let api = &api;
    match lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(handle(api, request).await)
    }))
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "runtime stopped");
            ExitCode::FAILURE
        }
    }
}
