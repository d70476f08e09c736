//! The local stack end to end over real HTTP, one module per behaviour: the tenant's tokens at
//! the API (the API Gateway stand-in and the functions behind it), signing keys across
//! restarts, the site, and the stack on DynamoDB Local.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

#[path = "../common/mod.rs"]
mod common;

mod api_gateway;
mod api_identifier;
mod client_credentials;
mod discovery;
mod dpop;
mod dynamodb_faults;
mod dynamodb_mode;
mod figures;
mod logs;
mod signing_keys;
mod site;
