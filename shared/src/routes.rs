//! The API's route table: every route once — its method, its path template, the service that
//! serves it, what it does and the scope it needs — made from the services manifest
//! (`services.yaml`, [`crate::manifest`]): each service has the same five routes.
//!
//! Everything that knows routes reads them from here: the functions route with [`resolve`],
//! the authorizer's default route → scope map is [`routes`]. `template.yaml` and `tenant.yaml`
//! cannot import Rust, so tests fail, naming the missing piece, when they differ from it.

use std::sync::OnceLock;

use crate::manifest::{ServiceSpec, manifest};
use crate::scope::ScopeCheck;

/// What a route does with the service's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `GET /service`: one page of the caller's items.
    List,
    /// `GET /service/{id}`: one item.
    Get,
    /// `POST /service`: a new item (201, `Location`, `ETag`; `Idempotency-Key` honoured).
    Create,
    /// `PUT /service/{id}`: all editable fields replaced (`If-Match` honoured).
    Replace,
    /// `DELETE /service/{id}` (`If-Match` honoured).
    Delete,
}

impl Operation {
    /// Every operation, in the order a service's routes are listed.
    pub const ALL: [Operation; 5] = [
        Operation::List,
        Operation::Get,
        Operation::Create,
        Operation::Replace,
        Operation::Delete,
    ];

    pub fn method(self) -> &'static str {
        match self {
            Self::List | Self::Get => "GET",
            Self::Create => "POST",
            Self::Replace => "PUT",
            Self::Delete => "DELETE",
        }
    }

    /// Whether the route names one item (`/{id}`).
    pub fn on_item(self) -> bool {
        !matches!(self, Self::List | Self::Create)
    }

    /// Whether it changes data (the write scope) or reads it.
    pub fn writes(self) -> bool {
        matches!(self, Self::Create | Self::Replace | Self::Delete)
    }
}

/// One route of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// An API Gateway path template: `/contacts` or `/contacts/{id}`.
    pub path: String,
    pub service: &'static ServiceSpec,
    pub operation: Operation,
    /// What the token's `scope` must grant.
    pub scope: ScopeCheck<'static>,
    /// `GET /contacts/{id}`, made once (each request's metrics name their route by it).
    key: String,
}

/// Every route of the API: each service's five, in manifest order.
pub fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let mut out = Vec::new();
        for service in &manifest().services {
            for operation in Operation::ALL {
                let scope: &'static [&'static str] = if operation.writes() {
                    std::slice::from_ref(scope_str(&service.scopes.write.name))
                } else {
                    std::slice::from_ref(scope_str(&service.scopes.read.name))
                };
                let path = if operation.on_item() {
                    format!("/{}/{{id}}", service.name)
                } else {
                    format!("/{}", service.name)
                };
                out.push(Route {
                    method: operation.method(),
                    key: format!("{} {path}", operation.method()),
                    path,
                    service,
                    operation,
                    scope: ScopeCheck(scope),
                });
            }
        }
        out
    })
}

/// A scope name of the ('static) manifest as a `&'static &str` a slice can be made of.
fn scope_str(name: &'static str) -> &'static &'static str {
    // One small leak per scope, once: the route table lives as long as the process.
    Box::leak(Box::new(name))
}

impl Route {
    /// The API Gateway route key: `GET /contacts/{id}`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The path parameter when `segments` fit this route's path (`Some(None)` for a path
    /// without one), else `None`.
    pub fn match_path<'s>(&self, segments: &[&'s str]) -> Option<Option<&'s str>> {
        let template: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        if template.len() != segments.len() {
            return None;
        }
        let mut param = None;
        for (t, s) in template.iter().zip(segments) {
            if t.starts_with('{') && t.ends_with('}') {
                param = Some(*s);
            } else if t != s {
                return None;
            }
        }
        Some(param)
    }
}

/// Why no route answers a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// No route has this path.
    NotFound,
    /// Routes have this path, but not this method: these are (`Allow`).
    MethodNotAllowed { allow: String },
}

fn of(service: &ServiceSpec) -> impl Iterator<Item = &'static Route> + '_ {
    routes()
        .iter()
        .filter(move |r| r.service.name == service.name)
}

/// The route of `service` for `method` and the path's `segments` (stage prefix removed),
/// with its path parameter.
pub fn resolve<'s>(
    service: &ServiceSpec,
    method: &str,
    segments: &[&'s str],
) -> Result<(&'static Route, Option<&'s str>), Miss> {
    let mut methods = Vec::new();
    for route in of(service) {
        if let Some(param) = route.match_path(segments) {
            if route.method == method {
                return Ok((route, param));
            }
            methods.push(route.method);
        }
    }
    if methods.is_empty() {
        Err(Miss::NotFound)
    } else {
        Err(Miss::MethodNotAllowed {
            allow: methods.join(", "),
        })
    }
}

/// The route with this API Gateway route key.
pub fn by_key(key: &str) -> Option<&'static Route> {
    routes().iter().find(|r| r.key() == key)
}

/// The methods a service answers, for CORS preflights (`GET, POST`).
pub fn methods_of(service: &ServiceSpec) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = Vec::new();
    for route in of(service) {
        if !methods.contains(&route.method) {
            methods.push(route.method);
        }
    }
    methods
}

/// The routes of a service as a sentence: `GET /contacts, GET /contacts/{id}`.
pub fn describe(service: &ServiceSpec) -> String {
    of(service).map(Route::key).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contacts() -> &'static ServiceSpec {
        crate::manifest::service("contacts").unwrap()
    }

    fn calendar() -> &'static ServiceSpec {
        crate::manifest::service("calendar").unwrap()
    }

    #[test]
    fn resolves_paths_methods_and_parameters() {
        let (route, id) = resolve(contacts(), "GET", &["contacts", "c-1"]).unwrap();
        assert_eq!(route.key(), "GET /contacts/{id}");
        assert_eq!(id, Some("c-1"));
        let (route, id) = resolve(calendar(), "GET", &["calendar"]).unwrap();
        assert_eq!((route.operation, id), (Operation::List, None));
        assert_eq!(
            resolve(contacts(), "PATCH", &["contacts"]),
            Err(Miss::MethodNotAllowed {
                allow: "GET, POST".into()
            })
        );
        assert_eq!(
            resolve(calendar(), "POST", &["calendar", "e-1"]),
            Err(Miss::MethodNotAllowed {
                allow: "GET, PUT, DELETE".into()
            })
        );
        for path in [&["calendar"][..], &["contacts", "a", "b"], &[], &["x"]] {
            assert_eq!(
                resolve(contacts(), "GET", path),
                Err(Miss::NotFound),
                "{path:?}"
            );
        }
        assert_eq!(
            by_key("GET /calendar/{id}").map(|r| r.scope),
            Some(ScopeCheck(&["read:calendar"]))
        );
        assert_eq!(
            by_key("DELETE /contacts/{id}").map(|r| r.scope),
            Some(ScopeCheck(&["write:contacts"]))
        );
    }

    #[test]
    fn every_route_is_listed_once_and_each_service_has_routes() {
        let all = routes();
        for (i, route) in all.iter().enumerate() {
            assert!(
                !all[..i].iter().any(|r| r.key() == route.key()),
                "{} twice",
                route.key()
            );
            assert!(route.path.starts_with(&format!("/{}", route.service.name)));
        }
        for service in &manifest().services {
            assert_eq!(methods_of(service), ["GET", "POST", "PUT", "DELETE"]);
        }
    }
}
