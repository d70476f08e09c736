//! The Lambda functions linked into the local tool, by the binary `cargo lambda` builds for
//! them (`Metadata.BuildProperties.Binary` in `template.yaml`): the gateway runs these in this
//! process, each configured as in Lambda — from the environment the template gives it — with
//! the local stack's stores. A function of the template that is not linked here runs behind
//! `cargo lambda watch` (`--invoke-url`).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use authorizer::AuthorizerState;
use calendar::CalendarApi;
use contacts::ContactsApi;
use organizer_shared::api::ApiContext;
use organizer_shared::config::Env;
use organizer_shared::routes::Service;
use organizer_shared::store::{ContactStore, EventStore};
use serde_json::Value;

use crate::gateway::definition::FunctionDef;
use crate::gateway::functions::{AuthorizerHandler, HttpHandler, Target};

/// The binaries linked here.
pub const LINKED: &[&str] = &["contacts", "calendar", "authorizer"];

/// A function's environment as the template gives it, and nothing of this process's.
pub struct TemplateEnv<'a>(pub &'a BTreeMap<String, String>);

impl Env for TemplateEnv<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// The local stack's data, shared by the functions that own it.
#[derive(Clone)]
pub struct Stores {
    pub contacts: Arc<dyn ContactStore>,
    pub events: Arc<dyn EventStore>,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

struct Contacts(ContactsApi);
struct Calendar(CalendarApi);

impl HttpHandler for Contacts {
    fn call(
        &self,
        request: lambda_http::Request,
    ) -> BoxFuture<'_, lambda_http::Response<lambda_http::Body>> {
        Box::pin(contacts::handle(&self.0, request))
    }
}

impl HttpHandler for Calendar {
    fn call(
        &self,
        request: lambda_http::Request,
    ) -> BoxFuture<'_, lambda_http::Response<lambda_http::Body>> {
        Box::pin(calendar::handle(&self.0, request))
    }
}

impl AuthorizerHandler for AuthorizerState {
    fn call<'a>(&'a self, event: &'a Value) -> BoxFuture<'a, Value> {
        Box::pin(authorizer::authorize(self, event))
    }
}

/// The function `def` in this process, configured from its template environment.
pub fn in_process(def: &FunctionDef, stores: &Stores) -> Result<Target, String> {
    let env = TemplateEnv(&def.environment);
    let configured = |e: organizer_shared::StartupError| {
        format!("{} (its Environment in the template): {e}", def.id)
    };
    match def.binary.as_deref() {
        Some("contacts") => Ok(Target::Http(Arc::new(Contacts(ContactsApi {
            context: ApiContext::from_env_with(Service::Contacts, &env).map_err(configured)?,
            store: stores.contacts.clone(),
        })))),
        Some("calendar") => Ok(Target::Http(Arc::new(Calendar(CalendarApi {
            context: ApiContext::from_env_with(Service::Calendar, &env).map_err(configured)?,
            store: stores.events.clone(),
        })))),
        Some("authorizer") => Ok(Target::Authorizer(Arc::new(
            AuthorizerState::from_env(&env).map_err(configured)?,
        ))),
        other => Err(format!(
            "{}: its binary {} is not linked into the local tool (it links {}); run it under \
             cargo lambda watch and give --invoke-url {}=http://127.0.0.1:<port>",
            def.id,
            other.map_or(
                "(no Metadata.BuildProperties.Binary)".to_string(),
                |b| format!("{b:?}")
            ),
            LINKED.join(", "),
            def.id
        )),
    }
}
