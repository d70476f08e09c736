//! The dev tenant: an offline authorization server that behaves like an Auth0 tenant for the
//! flows this project uses, configured from `tenant.yaml`, with its keys and client ids in a
//! local state folder.
//!
//! One concern per module, in layers (each imports only from the layers above it):
//!
//! - leaves: [`routes`] (paths), [`config`] (`tenant.yaml`), [`state`] (the state folder,
//!   random values), [`origin`] (the one origin parser), [`auth_request`] (a validated
//!   authorization request), [`error`] (the one OAuth error type), [`cookies`], [`params`]
//!   (token-endpoint parameters), [`users`], [`session`] (what is remembered between requests),
//!   with [`transactions`], [`throttle`] and [`refresh`] (refresh tokens), [`dpop`] (DPoP
//!   proofs and what they bind);
//! - [`context`]: `Tenant` and `Client`, built once and borrowed by every endpoint;
//! - shared machinery: [`pages`] (HTML), [`issue`] (token issuance), [`respond`] (answers,
//!   and `reply`, the one place an error becomes a page, a redirect or JSON), [`cors`],
//!   [`forms`] (checks of a sign-in transaction), [`grants`] (one file per grant);
//! - endpoints, one file each: [`discovery`], [`jwks`], [`authorize`], [`login`], [`consent`],
//!   [`token`], [`revoke`], [`userinfo`], [`logout`];
//! - [`router`]: every endpoint at its path.

pub mod auth_request;
pub mod authorize;
pub mod client_auth;
pub mod config;
pub mod consent;
pub mod context;
pub mod cookies;
pub mod cors;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod forms;
pub mod grants;
pub mod issue;
pub mod jwks;
pub mod login;
pub mod logout;
pub mod origin;
pub mod pages;
pub mod params;
pub mod refresh;
pub mod respond;
pub mod revoke;
pub mod router;
pub mod routes;
pub mod session;
pub mod state;
pub mod throttle;
pub mod token;
pub mod transactions;
pub mod userinfo;
pub mod users;

pub use context::{Client, Tenant};
pub use router::router;
