//! The shared core of Organizer: the contacts and calendar functions, the authorizer and the
//! local stack verify the same access tokens, route with the same table, answer errors the
//! same way and keep data behind the same store traits, so all of that lives here, once:
//!
//! - [`config`], [`startup`]: configuration from the environment, failing fast with examples,
//!   and the typed start-up error and JWKS warm-up every function shares;
//! - [`bearer`], [`token`], [`jwks`], [`crypto`], [`scope`]: the RFC 6750 / RFC 8725 token
//!   pipeline (`TokenVerifier`, `JwksCache`, `ScopeCheck`);
//! - [`access`]: the resource server's one access check (bearer or DPoP-bound tokens, by
//!   `DPOP_MODE`), for the functions and the authorizer alike;
//! - [`dpop`]: DPoP proofs (RFC 9449): the proof verifier (`DpopVerifier`), key thumbprints,
//!   the replay store and server nonces, for the dev tenant and the resource servers alike;
//! - [`routes`]: the route table — method, path, service, operation and scope of every route;
//! - [`error`]: typed request errors, mapped to HTTP in one place;
//! - [`api`]: the HTTP plumbing of both functions (routing, CORS, JSON answers, query
//!   parameters); [`write`]: what their write routes share (strict JSON bodies, validation,
//!   `ETag`/`If-Match`, idempotent creates);
//! - [`store`]: the contacts and calendar data, in memory, or in DynamoDB with the `dynamodb`
//!   feature (the authorizer builds without it, so it does not link the AWS SDK);
//! - [`signing`]: RS256 signing keys, for the dev tenant and for tests; [`logging`]: JSON logs.
//!
//! Tests and benchmarks of other crates mint tokens with [`testing`] (feature `test-support`).

pub mod access;
pub mod api;
pub mod bearer;
pub mod config;
#[cfg(all(feature = "test-support", feature = "dynamodb"))]
pub mod contract;
pub mod crypto;
pub mod dpop;
pub mod error;
pub mod jwks;
pub mod logging;
pub mod manifest;
pub mod metrics;
pub mod routes;
pub mod scope;
pub mod service;
pub mod signing;
pub mod startup;
pub mod store;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod token;
pub mod write;
pub mod xray;

pub use config::{AuthConfig, ConfigError};
pub use error::{ApiError, AuthError};
pub use jwks::JwksCache;
pub use scope::ScopeCheck;
pub use startup::StartupError;
pub use token::{AccessClaims, TokenVerifier};
