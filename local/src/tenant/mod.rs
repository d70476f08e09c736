//! The dev tenant: an offline authorization server that behaves like an Auth0 tenant for the
//! flows this project uses, configured from `tenant.yaml`, with its keys and client ids in a
//! local state folder. One file per endpoint; grants in `grants/`.

pub mod authorize;
pub mod config;
pub mod consent;
pub mod discovery;
pub mod error;
pub mod forms;
pub mod grants;
pub mod jwks;
pub mod login;
pub mod logout;
pub mod pages;
pub mod respond;
pub mod routes;
pub mod session;
pub mod state;
pub mod token;
pub mod userinfo;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use serde::Serialize;

use config::{ClientSpec, TenantFile};
use error::OAuthError;
use state::{KeyRing, StateDir, StateError};

/// A client of the tenant: its `tenant.yaml` entry and the credentials the tenant assigned.
pub struct Client {
    pub spec: ClientSpec,
    pub id: String,
    pub secret: String,
}

impl Client {
    /// Public clients (SPAs) have no secret to keep: `token_endpoint_auth_method: none`.
    pub fn is_confidential(&self) -> bool {
        self.spec.token_endpoint_auth_method.as_deref() != Some("none")
            && self.spec.app_type != "spa"
    }
}

pub struct Tenant {
    /// Exactly `http://localhost:PORT/`, as Auth0 writes issuers.
    pub issuer: String,
    pub file: TenantFile,
    pub clients: Vec<Client>,
    pub keys: KeyRing,
    /// The database connection's users, read at start-up.
    pub users: Vec<users::User>,
    /// Sessions, sign-ins in progress, consents, failed logins.
    pub runtime: session::Runtime,
    /// Checks access tokens sent to `/userinfo` (audience: that endpoint).
    pub userinfo_verifier: Arc<organizer_shared::TokenVerifier>,
}

impl Tenant {
    pub fn load(issuer: String, file: TenantFile, state: &StateDir) -> Result<Self, StateError> {
        let names: Vec<String> = file.clients.iter().map(|c| c.name.clone()).collect();
        let credentials = state.clients(&names)?;
        let clients = file
            .clients
            .iter()
            .filter_map(|spec| {
                credentials.get(&spec.name).map(|c| Client {
                    spec: spec.clone(),
                    id: c.client_id.clone(),
                    secret: c.client_secret.clone(),
                })
            })
            .collect();
        let users = users::UserFile::new(state.root())
            .load()
            .map_err(|e| StateError::Damaged {
                path: "users.json".into(),
                problem: e.to_string(),
            })?;
        let keys = state.keys()?;
        let userinfo_config =
            organizer_shared::AuthConfig::for_issuer(issuer.clone(), format!("{issuer}userinfo"));
        let damaged = |e: String| StateError::Damaged {
            path: "keys".into(),
            problem: e,
        };
        let cache = organizer_shared::JwksCache::new(&userinfo_config)
            .map_err(|e| damaged(e.to_string()))?;
        cache
            .load(
                organizer_shared::signing::jwks_document(keys.keys.iter())
                    .to_string()
                    .as_bytes(),
            )
            .map_err(|e| damaged(e.to_string()))?;
        let userinfo_verifier = Arc::new(organizer_shared::TokenVerifier::new(
            &userinfo_config,
            cache,
        ));
        Ok(Self {
            issuer,
            file,
            clients,
            keys,
            users,
            runtime: session::Runtime::default(),
            userinfo_verifier,
        })
    }

    pub fn client_by_id(&self, id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.id == id)
    }

    pub fn client_by_name(&self, name: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.spec.name == name)
    }

    pub fn scopes_supported(&self) -> Vec<String> {
        let mut scopes: Vec<String> = ["openid", "profile", "email"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for api in &self.file.resource_servers {
            scopes.extend(api.scopes.iter().map(|s| s.value.clone()));
        }
        scopes
    }

    /// Signs claims with the active key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, OAuthError> {
        self.keys.active().sign(claims).map_err(|e| {
            tracing::error!(error = %e, "signing failed");
            OAuthError::server_error("the token could not be signed")
        })
    }
}

/// The tenant's HTTP interface.
pub fn router(tenant: Arc<Tenant>) -> Router {
    Router::new()
        .route(routes::DISCOVERY, get(discovery::discovery))
        .route(routes::JWKS, get(jwks::jwks))
        .route(routes::TOKEN, post(token::token).options(token::preflight))
        .route(routes::AUTHORIZE, get(authorize::authorize))
        .route(routes::LOGIN, get(login::show).post(login::submit))
        .route(routes::CONSENT, get(consent::show).post(consent::submit))
        .route(routes::LOGOUT, get(logout::logout))
        .route(
            routes::USERINFO,
            get(userinfo::userinfo).options(userinfo::preflight),
        )
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(tenant)
}
