//! The tasks Lambda function. Configuration (docs/architecture.md#configuration): `AUTH0_DOMAIN`
//! or `ISSUER`, `AUDIENCE`, `JWKS_URI`, `ALLOWED_ORIGINS`, and its table's variable from the
//! manifest (`TASKS_TABLE`).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    organizer_shared::service::run::<tasks::Task>().await
}
