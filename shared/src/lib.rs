//! The shared core of Organizer's microservices.
//!
//! Both Lambda functions (and later the authorizer and the local stack) verify the same access
//! tokens, answer errors the same way and keep data behind the same store traits, so all of
//! that lives here, once:
//!
//! - [`config`]: start-up configuration from the environment, failing fast with examples;
//! - [`bearer`], [`token`], [`jwks`], [`scope`]: the RFC 6750 / RFC 8725 token pipeline;
//! - [`error`]: typed errors, mapped to HTTP in one place;
//! - [`store`]: the contacts and calendar data, in DynamoDB or in memory;
//! - [`api`]: the HTTP plumbing both functions share (CORS, JSON answers, query parameters);
//! - [`signing`]: RS256 signing keys, for the dev tenant and for tests.

pub mod api;
pub mod bearer;
pub mod config;
pub mod crypto;
pub mod error;
pub mod jwks;
pub mod logging;
pub mod scope;
pub mod signing;
pub mod store;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod token;

pub use config::{AuthConfig, ConfigError};
pub use error::{ApiError, AuthError};
pub use jwks::JwksCache;
pub use scope::ScopeCheck;
pub use token::{AccessClaims, TokenVerifier};
