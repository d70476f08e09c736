//! The local API Gateway against the template: what it reads from `template.yaml` (and edited
//! copies of it), and what a client and a function see in each authorizer mode — the Lambda
//! authorizer with its cache and its failures, the JWT authorizer, CORS and throttling — and the
//! events it builds, compared with AWS's published examples.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

#[path = "../common/mod.rs"]
mod common;

mod cors;
mod events;
mod harness;
mod jwt_authorizer;
mod lambda_authorizer;
mod template;
