//! The dev tenant as the applications and a browser meet it, one module per behaviour.
//!
//! What one request shows (the validation of the parameters of /authorize and /oauth/token,
//! answers without a session) runs in process against the tenant's router
//! (`common::in_process`, no sockets); flows that need a browser's cookies or the API run over
//! real HTTP against the local stack (`common::browser`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

#[path = "../common/mod.rs"]
mod common;

mod authorization_code;
mod authorize_parameters;
mod consent;
mod discovery;
mod dpop;
mod id_token;
mod implicit_flow;
mod login;
mod logout;
mod pages;
mod rbac;
mod refresh_tokens;
mod sessions;
mod sign_in_transactions;
mod silent_authentication;
mod tenant_file;
mod token_parameters;
mod userinfo;
