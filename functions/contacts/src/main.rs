//! The contacts Lambda function. Configuration (see docs/api.md): `AUTH0_DOMAIN` or `ISSUER`,
//! `AUDIENCE`, `JWKS_URI`, `ALLOWED_ORIGINS`, and its table's variable from the manifest
//! (`CONTACTS_TABLE`).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    organizer_shared::service::run::<contacts::Contact>().await
}
