//! The generic service: one handler for every service's five routes (list, get, create,
//! replace, delete), over any item type, and the `main` of a service's Lambda function.
//!
//! A service brings its item type ([`Item`], for the stores) and its rules ([`Rules`]: the
//! checks across fields the manifest cannot express, and how the listing's query filters map
//! to a range of its sort keys). The rest — routing, scopes, the body's fields validated by
//! their manifest types and limits, `If-Match`, `Idempotency-Key`, the quota, paging cursors —
//! is here, once.

use std::sync::Arc;
use std::time::Instant;

use http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

use crate::api::{ApiContext, ListBody, Query, gateway_authorizer, item_id, json};
use crate::error::ApiError;
use crate::metrics::{self, RequestLine};
use crate::routes::Operation;
use crate::store::model::now_rfc3339;
use crate::store::{Item, KeyRange, Page, PageRequest, Store, cursor, spec};
use crate::token::AccessClaims;
use crate::write::{self, JsonObject, NewItem};

/// What a service decides beyond its manifest entry.
pub trait Rules: Item {
    /// Rules across fields, on fields already valid one by one (the calendar: an event ends
    /// after it starts). Defaults to none.
    fn check(_fields: &Self::Fields) -> Result<(), ApiError> {
        Ok(())
    }

    /// The part of the listing order a list request reads, from its query's filters (the
    /// manifest's `list.filters`: the calendar's `from`/`to`, a status). Defaults to all of it.
    fn range(_query: &Query) -> Result<KeyRange, ApiError> {
        Ok(KeyRange::default())
    }

    /// Which items of the range a list request wants, when a filter is not a range of the
    /// order (the contacts' search). Defaults to all. The listing then reads the range in
    /// batches and keeps the matching items ([`MAX_EXAMINED`] at most per request).
    fn filter(_query: &Query) -> Result<Option<ItemFilter<Self>>, ApiError> {
        Ok(None)
    }
}

/// A test a listed item must pass.
pub type ItemFilter<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// The most items one filtered list request reads from the store: a page may then hold fewer
/// than `limit` items (even none) while `next` says there is more. It bounds the work (and the
/// DynamoDB reads) a request can ask for, whatever matches.
pub const MAX_EXAMINED: usize = 1000;

/// How many items a filtered listing reads from the store at a time.
const FILTER_BATCH: usize = 100;

/// Everything an invocation borrows: built once, shared by warm invocations.
pub struct ServiceApi<T: Item> {
    pub context: ApiContext,
    pub store: Arc<dyn Store<T>>,
}

/// Answers one request. Never fails: every error is an HTTP answer.
/// One metrics document per request (`crate::metrics`), with the X-Ray trace id that Lambda
/// gives the invocation; every log line of the request carries it too (its span).
pub async fn handle<T: Rules>(api: &ServiceApi<T>, request: Request) -> Response<Body> {
    if let Some(preflight) = api.context.preflight(&request) {
        return preflight;
    }
    let started = Instant::now();
    let trace_id = request
        .lambda_context_ref()
        .and_then(|c| c.xray_trace_id.clone());
    let span = tracing::info_span!(
        "request",
        trace_id = trace_id.as_deref().map_or("-", metrics::trace_root)
    );
    let (response, tally) = api
        .context
        .metrics
        .measure(
            async {
                let result = route(api, &request).await;
                api.context.respond(&request, result)
            }
            .instrument(span),
        )
        .await;
    let line = RequestLine {
        method: request.method().as_str(),
        path: request.uri().path(),
        authorizer: gateway_authorizer(&request),
    };
    api.context.metrics.request(
        &tally,
        response.status().as_u16(),
        started.elapsed(),
        trace_id.as_deref(),
        Some(&line),
    );
    response
}

async fn route<T: Rules>(
    api: &ServiceApi<T>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let (route, id) = api.context.route(request)?;
    metrics::note(|t| t.route = Some(std::borrow::Cow::Borrowed(route.key())));
    let claims = api.context.authorize(request, route.scope).await?;
    let id = || item_id(id.as_deref(), &spec::<T>().one);
    match route.operation {
        Operation::List => list(api, request, &claims).await,
        Operation::Get => get(api, id()?, &claims).await,
        Operation::Create => create(api, request, route.key(), &claims).await,
        Operation::Replace => replace(api, request, id()?, &claims).await,
        Operation::Delete => delete(api, request, id()?, &claims).await,
    }
}

/// The editable fields of a `POST` or `PUT` body: each field of the manifest validated by its
/// type and limits, then the service's own rules.
pub fn fields<T: Rules>(request: &Request) -> Result<T::Fields, ApiError> {
    let spec = spec::<T>();
    let body = JsonObject::from_request(request, &spec.field_names())?;
    let fields: T::Fields = serde_json::from_value(body.fields(spec)?)
        .map_err(|e| ApiError::Internal(format!("validated fields did not read back: {e}")))?;
    T::check(&fields)?;
    Ok(fields)
}

async fn create<T: Rules>(
    api: &ServiceApi<T>,
    request: &Request,
    route: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let fields = fields::<T>(request)?;
    let key_hash = write::idempotency_key(request)?;
    let item = T::new(T::new_id(), fields, &now_rfc3339());
    let new = NewItem {
        item: &item,
        location: format!("/{}/{}", spec::<T>().name, item.id()),
        fingerprint: write::fingerprint(route, item.fields()),
    };
    let (store, owner, item) = (&api.store, claims.sub.as_str(), &item);
    write::create(new, key_hash, &spec::<T>().many, |record| async move {
        store.create(owner, item, record.as_ref()).await
    })
    .await
}

async fn replace<T: Rules>(
    api: &ServiceApi<T>,
    request: &Request,
    id: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let fields = fields::<T>(request)?;
    let if_version = write::if_match(request)?;
    let stored = api
        .store
        .replace(&claims.sub, id, &fields, &now_rfc3339(), if_version)
        .await
        .map_err(|e| write::write_error(e, &spec::<T>().many))?;
    Ok(write::stored_response(&stored))
}

async fn delete<T: Rules>(
    api: &ServiceApi<T>,
    request: &Request,
    id: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let if_version = write::if_match(request)?;
    api.store
        .delete(&claims.sub, id, if_version)
        .await
        .map_err(|e| write::write_error(e, &spec::<T>().many))?;
    Ok(write::no_content())
}

async fn list<T: Rules>(
    api: &ServiceApi<T>,
    request: &Request,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let spec = spec::<T>();
    let query = Query::parse(request)?;
    let range = T::range(&query)?;
    let filter = T::filter(&query)?;
    let page = PageRequest {
        limit: query.limit()?,
        after: query.cursor(&spec.name, &claims.sub, T::is_sort_key)?,
    };
    let page = match filter {
        None => api.store.list(&claims.sub, &range, &page).await?,
        Some(filter) => {
            list_matching(api.store.as_ref(), &claims.sub, &range, page, &filter).await?
        }
    };
    let next = page
        .next_after
        .map(|key| cursor::encode(&spec.name, &claims.sub, &key));
    Ok(json(
        StatusCode::OK,
        &ListBody {
            items: page.items,
            next,
        },
    ))
}

/// A page of the items of `range` that pass `filter`: the range read [`FILTER_BATCH`] at a
/// time until the page is full, the range ends, or [`MAX_EXAMINED`] items were read. The next
/// page starts after the last item returned, or after the last one read when the page is not
/// full.
pub async fn list_matching<T: Item>(
    store: &dyn Store<T>,
    owner: &str,
    range: &KeyRange,
    page: PageRequest,
    filter: &ItemFilter<T>,
) -> Result<Page<T>, crate::store::StoreError> {
    let mut items = Vec::new();
    let mut after = page.after;
    let mut examined = 0;
    loop {
        let batch = store
            .list(
                owner,
                range,
                &PageRequest {
                    limit: FILTER_BATCH,
                    after: after.clone(),
                },
            )
            .await?;
        let read = batch.items.len();
        for (i, item) in batch.items.into_iter().enumerate() {
            if !filter(&item) {
                continue;
            }
            items.push(item);
            if items.len() == page.limit {
                let last_of_all = i + 1 == read && batch.next_after.is_none();
                let next_after = (!last_of_all).then(|| items[items.len() - 1].sort_key());
                return Ok(Page { items, next_after });
            }
        }
        examined += read;
        match batch.next_after {
            None => {
                return Ok(Page {
                    items,
                    next_after: None,
                });
            }
            Some(next) if examined >= MAX_EXAMINED => {
                return Ok(Page {
                    items,
                    next_after: Some(next),
                });
            }
            Some(next) => after = Some(next),
        }
    }
}

async fn get<T: Rules>(
    api: &ServiceApi<T>,
    id: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    match api.store.get(&claims.sub, id).await? {
        Some(stored) => Ok(write::stored_response(&stored)),
        None => Err(ApiError::NotFound(format!("no such {}", spec::<T>().one))),
    }
}

/// The `main` of a service's Lambda function: configuration from the environment (an error
/// names the variable and an example), the signing keys and the DynamoDB client set up side by
/// side, then one [`handle`] per event.
#[cfg(feature = "dynamodb")]
pub async fn run<T: Rules>() -> std::process::ExitCode {
    use crate::access::{AccessCheck, DpopMode, Recording};
    use crate::config::{ProcessEnv, var_or};
    use crate::store::dynamo::{DynamoReplayStore, DynamoStore, client};

    crate::logging::init_json_logs();
    let spec = spec::<T>();
    let context = match ApiContext::from_env(spec) {
        Ok(context) => context,
        Err(error) => return error.exit(),
    };
    // With DPoP on, proofs' jtis go to the table every instance shares: a store in this
    // instance's memory would let a proof be replayed against another instance.
    let replay_table = match replay_table(context.access.mode(), &ProcessEnv) {
        Ok(table) => table,
        Err(error) => return crate::startup::StartupError::from(error).exit(),
    };
    let table = var_or(&ProcessEnv, &spec.table.variable, &spec.table.default);
    let ((), client) = tokio::join!(context.warm_up(), client(None));
    let context = match replay_table {
        Some(replay) if context.access.mode() != DpopMode::Off => {
            let access = AccessCheck::new(
                context.verifier.clone(),
                context.access.config.clone(),
                Arc::new(DynamoReplayStore::new(client.clone(), replay)),
                Recording::Record,
            );
            context.with_access(access)
        }
        _ => context,
    };
    let api = ServiceApi::<T> {
        context,
        store: Arc::new(DynamoStore::<T>::new(client, table)),
    };
    let api = &api;
    match lambda_http::run(lambda_http::service_fn(
        move |request: Request| async move {
            Ok::<_, std::convert::Infallible>(handle(api, request).await)
        },
    ))
    .await
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(event = "runtime_stopped", %error, "runtime stopped");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `DPOP_REPLAY_TABLE`, required when DPoP is on (`DPOP_MODE` allowed or required).
pub fn replay_table(
    mode: crate::access::DpopMode,
    env: &impl crate::config::Env,
) -> Result<Option<String>, crate::config::ConfigError> {
    let table = env
        .get("DPOP_REPLAY_TABLE")
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    match (mode, table) {
        (crate::access::DpopMode::Off, table) => Ok(table),
        (_, Some(table)) => Ok(Some(table)),
        (_, None) => Err(crate::config::ConfigError {
            variable: "DPOP_REPLAY_TABLE",
            problem: "missing: with DPOP_MODE allowed or required, proofs are recorded in this \
                      DynamoDB table, shared by every instance"
                .into(),
            example: "organizer-dpop-replay",
        }),
    }
}
