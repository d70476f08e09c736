//! The Lambda functions linked into the local tool, by the binary `cargo lambda` builds for
//! them (`Metadata.BuildProperties.Binary` in `template.yaml`, `binary` in `services.yaml`):
//! the gateway runs these in this process, each configured as in Lambda — from the environment
//! the template gives it — with the local stack's store of its service. A function of the
//! template that is not linked here runs behind `cargo lambda watch` (`--invoke-url`).
//!
//! [`linked_item!`] is the one list of the services' item types: adding a service adds one line
//! there (and its crate to `local/Cargo.toml`); `local/tests/manifest.rs` fails, naming the
//! service, when a service of the manifest is missing from it.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use authorizer::AuthorizerState;
use organizer_shared::api::ApiContext;
use organizer_shared::config::Env;
use organizer_shared::dpop::{MemoryReplayStore, ReplayStore};
use organizer_shared::manifest::{ServiceSpec, manifest};
use organizer_shared::metrics::MetricsSink;
use organizer_shared::service::{Rules, ServiceApi, handle};
use organizer_shared::store::dynamo::{self, DynamoStore, TableSpec};
use organizer_shared::store::memory::MemoryStore;
use organizer_shared::store::{Store, sample, spec};
use serde_json::Value;

use crate::StoreChoice;
use crate::gateway::definition::FunctionDef;
use crate::gateway::functions::{AuthorizerHandler, HttpHandler, Target};

/// Runs `$run::<Item>($args)` for the item type of the service whose binary is `$binary`, or
/// evaluates to `None` when no linked service has that binary.
macro_rules! linked_item {
    ($binary:expr, $run:ident($($arg:expr),*)) => {
        match $binary {
            "contacts" => Some($run::<contacts::Contact>($($arg),*).await),
            "calendar" => Some($run::<calendar::Event>($($arg),*).await),
            "tasks" => Some($run::<tasks::Task>($($arg),*).await),
            _ => None,
        }
    };
}
pub(crate) use linked_item;

/// A function's environment as the template gives it, and nothing of this process's.
pub struct TemplateEnv<'a>(pub &'a BTreeMap<String, String>);

impl Env for TemplateEnv<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

struct Service<T: Rules>(ServiceApi<T>);

impl<T: Rules> HttpHandler for Service<T> {
    fn call(
        &self,
        request: lambda_http::Request,
    ) -> BoxFuture<'_, lambda_http::Response<lambda_http::Body>> {
        Box::pin(handle(&self.0, request))
    }
}

impl AuthorizerHandler for AuthorizerState {
    fn call<'a>(&'a self, event: &'a Value) -> BoxFuture<'a, Value> {
        Box::pin(authorizer::authorize(self, event))
    }
}

/// The local stack's data: where each service's store is, and whose sample data it gets.
pub struct Stores {
    choice: StoreChoice,
    client: Option<dynamo::Client>,
    /// Everyone who gets sample data: the tenant's users and machine clients.
    owners: Vec<String>,
    /// Stores made so far, by service (a function in process shares its service's).
    made: std::sync::Mutex<HashMap<String, Arc<dyn std::any::Any + Send + Sync>>>,
    /// Where the functions in process write their metrics (the local figures), instead of
    /// stdout.
    pub metrics: Option<Arc<dyn MetricsSink>>,
    /// `ORGANIZER_METRICS=off`: no metrics at all (to measure what they cost).
    pub metrics_off: bool,
    /// The DPoP proofs seen, shared by every function in process as the DynamoDB table is by
    /// every Lambda instance (in memory; on DynamoDB, its table, created when missing).
    replay: tokio::sync::OnceCell<Arc<dyn ReplayStore>>,
}

impl Stores {
    pub async fn new(choice: &StoreChoice, owners: Vec<String>) -> Self {
        let client = match choice {
            StoreChoice::Memory => None,
            StoreChoice::Dynamo { endpoint, .. } => Some(dynamo::client(endpoint.as_deref()).await),
        };
        Self {
            choice: choice.clone(),
            client,
            owners,
            made: std::sync::Mutex::new(HashMap::new()),
            metrics: None,
            metrics_off: false,
            replay: tokio::sync::OnceCell::new(),
        }
    }

    /// The replay store of DPoP proofs every function in process shares: in memory, or on
    /// DynamoDB the table `dpop-replay` of `--table` names (else `organizer-dpop-replay`).
    pub async fn replay(&self) -> Result<Arc<dyn ReplayStore>, String> {
        self.replay
            .get_or_try_init(|| async {
                let store: Arc<dyn ReplayStore> = match (&self.choice, &self.client) {
                    (StoreChoice::Dynamo { tables, .. }, Some(client)) => {
                        let table = tables
                            .get("dpop-replay")
                            .cloned()
                            .unwrap_or_else(|| dynamo::DEFAULT_REPLAY_TABLE.to_string());
                        dynamo::ensure_replay_table(client, &table)
                            .await
                            .map_err(|e| format!("the DPoP replay table {table}: {e}"))?;
                        Arc::new(dynamo::DynamoReplayStore::new(client.clone(), table))
                    }
                    _ => Arc::new(MemoryReplayStore::default()),
                };
                Ok(store)
            })
            .await
            .cloned()
    }

    /// `T`'s store, made (its table created when missing) and seeded on first use.
    async fn of<T: Rules>(&self) -> Result<Arc<dyn Store<T>>, String> {
        let spec = spec::<T>();
        if let Some(made) = self
            .made
            .lock()
            .ok()
            .and_then(|m| m.get(&spec.name).cloned())
            && let Ok(store) = made.downcast::<Arc<dyn Store<T>>>()
        {
            return Ok((*store).clone());
        }
        let store: Arc<dyn Store<T>> = match (&self.choice, &self.client) {
            (StoreChoice::Dynamo { .. }, Some(client)) => {
                let table = self.choice.table(spec);
                dynamo::ensure_table(client, &TableSpec::of(spec, &table))
                    .await
                    .map_err(|e| format!("the {} table {table}: {e}", spec.name))?;
                Arc::new(DynamoStore::<T>::new(client.clone(), table))
            }
            _ => Arc::new(MemoryStore::<T>::default()),
        };
        for owner in &self.owners {
            sample::seed::<T>(owner, store.as_ref())
                .await
                .map_err(|e| format!("seeding {} for {owner}: {e}", spec.name))?;
        }
        if let Ok(mut made) = self.made.lock() {
            made.insert(spec.name.clone(), Arc::new(store.clone()));
        }
        Ok(store)
    }
}

async fn seeded<T: Rules>(stores: &Stores) -> Result<(), String> {
    stores.of::<T>().await.map(|_| ())
}

async fn http<T: Rules>(def: &FunctionDef, stores: &Stores) -> Result<Target, String> {
    let mut context = ApiContext::from_env_with_replay(
        spec::<T>(),
        &TemplateEnv(&def.environment),
        stores.replay().await?,
    )
    .map_err(|e| format!("{} (its Environment in the template): {e}", def.id))?;
    if let Some(sink) = &stores.metrics {
        context.metrics = context.metrics.with_sink(sink.clone());
    }
    if stores.metrics_off {
        context.metrics = context.metrics.switched_off();
    }
    Ok(Target::Http(Arc::new(Service(ServiceApi::<T> {
        context,
        store: stores.of::<T>().await?,
    }))))
}

/// `service`'s function in this process, answering as configured by `context` (tests and tools
/// that verify with keys of their own), over the local stack's store of the service.
pub async fn handler(context: ApiContext, stores: &Stores) -> Result<Arc<dyn HttpHandler>, String> {
    async fn one<T: Rules>(
        context: ApiContext,
        stores: &Stores,
    ) -> Result<Arc<dyn HttpHandler>, String> {
        Ok(Arc::new(Service(ServiceApi::<T> {
            context,
            store: stores.of::<T>().await?,
        })))
    }
    let service = context.service;
    linked_item!(service.binary.as_str(), one(context, stores))
        .ok_or_else(|| not_linked(service))?
}

/// Makes every service's store (in memory, or its DynamoDB table, created when missing) and
/// seeds it, whether its function runs in this process or under cargo lambda watch.
pub async fn prepare(stores: &Stores) -> Result<(), String> {
    for service in &manifest().services {
        linked_item!(service.binary.as_str(), seeded(stores))
            .ok_or_else(|| not_linked(service))??;
    }
    Ok(())
}

/// The function `def` in this process, configured from its template environment.
pub async fn in_process(def: &FunctionDef, stores: &Stores) -> Result<Target, String> {
    let binary = def.binary.as_deref().unwrap_or("");
    if binary == "authorizer" {
        let mut state = AuthorizerState::from_env(&TemplateEnv(&def.environment))
            .map_err(|e| format!("{} (its Environment in the template): {e}", def.id))?;
        if let Some(sink) = &stores.metrics {
            state.metrics = state.metrics.with_sink(sink.clone());
        }
        if stores.metrics_off {
            state.metrics = state.metrics.switched_off();
        }
        return Ok(Target::Authorizer(Arc::new(state)));
    }
    linked_item!(binary, http(def, stores)).unwrap_or_else(|| {
        Err(format!(
            "{}: its binary {binary:?} is not linked into the local tool; run it under cargo \
             lambda watch and give --invoke-url {}=http://127.0.0.1:<port>",
            def.id, def.id
        ))
    })
}

fn not_linked(service: &ServiceSpec) -> String {
    format!(
        "services.yaml lists {}, whose item type the local tool does not link: add its crate \
         to local/Cargo.toml and a line for {:?} to linked_item! in local/src/linked.rs",
        service.name, service.binary
    )
}

/// Loads every service's sample data for `owner` into DynamoDB tables (`tables`: by service;
/// a missing one is the manifest's default), creating them first unless `no_create`; what each
/// service got.
pub async fn seed_tables(
    client: &dynamo::Client,
    tables: &BTreeMap<String, String>,
    owner: &str,
    no_create: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<(String, usize)>, String> {
    async fn one<T: Rules>(
        client: &dynamo::Client,
        table: &str,
        owner: &str,
        no_create: bool,
    ) -> Result<usize, String> {
        let spec = spec::<T>();
        if !no_create {
            dynamo::ensure_table(client, &TableSpec::of(spec, table))
                .await
                .map_err(|e| format!("cannot create table {table}: {e}"))?;
        }
        sample::seed::<T>(owner, &DynamoStore::<T>::new(client.clone(), table))
            .await
            .map_err(|e| format!("seeding {table}: {e}"))
    }
    let mut out = Vec::new();
    for service in &manifest().services {
        let table = tables
            .get(&service.name)
            .cloned()
            .unwrap_or_else(|| service.table.default.clone());
        progress(&format!("{} → table {table}", service.name));
        let count = linked_item!(
            service.binary.as_str(),
            one(client, &table, owner, no_create)
        )
        .ok_or_else(|| not_linked(service))??;
        out.push((service.name.clone(), count));
    }
    Ok(out)
}
