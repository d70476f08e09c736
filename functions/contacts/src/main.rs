//! The contacts Lambda function. Configuration (see the README): `AUTH0_DOMAIN` or `ISSUER`,
//! `AUDIENCE`, `JWKS_URI`, `ALLOWED_ORIGINS`, `CONTACTS_TABLE`.

use std::process::ExitCode;
use std::sync::Arc;

use contacts::{ContactsApi, handle};
use lambda_http::{Request, service_fn};
use organizer_shared::api::ApiContext;
use organizer_shared::config::{ProcessEnv, var_or};
use organizer_shared::logging;
use organizer_shared::routes::Service;
use organizer_shared::store::dynamo::{DEFAULT_CONTACTS_TABLE, DynamoContactStore, client};

#[tokio::main]
async fn main() -> ExitCode {
    logging::init_json_logs();
    let context = match ApiContext::from_env(Service::Contacts) {
        Ok(context) => context,
        Err(error) => return error.exit(),
    };
    let table = var_or(&ProcessEnv, "CONTACTS_TABLE", DEFAULT_CONTACTS_TABLE);
    // The signing keys and the DynamoDB client are set up side by side, not one after the other.
    let ((), client) = tokio::join!(context.warm_up(), client(None));
    let api = ContactsApi {
        context,
        store: Arc::new(DynamoContactStore::new(client, table)),
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
