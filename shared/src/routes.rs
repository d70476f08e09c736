//! The API's route table: every route once — its method, its path template, the microservice
//! that serves it, what it does and the scope it needs.
//!
//! Everything that knows routes reads them from here: the contacts and calendar functions
//! route with [`resolve`], the authorizer's default route → scope map is [`ROUTES`], and the
//! local API Gateway stand-in names the route key from it and picks the function with
//! [`service_named`]. `template.yaml` and the
//! sample events in `events/` cannot import Rust, so `tests/route_table.rs` fails when they
//! differ from this table.

use crate::scope::ScopeCheck;

/// The microservices behind the one logical API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Contacts,
    Calendar,
}

impl Service {
    /// The first path segment of its routes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Calendar => "calendar",
        }
    }

    /// The function's logical id in `template.yaml`.
    pub fn function(self) -> &'static str {
        match self {
            Self::Contacts => "ContactsFunction",
            Self::Calendar => "CalendarFunction",
        }
    }
}

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

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// An API Gateway path template: literal segments and `{id}`.
    pub path: &'static str,
    pub service: Service,
    pub operation: Operation,
    /// What the token's `scope` must grant.
    pub scope: ScopeCheck<'static>,
}

/// Every route of the API.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/contacts",
        service: Service::Contacts,
        operation: Operation::List,
        scope: ScopeCheck::READ_CONTACTS,
    },
    Route {
        method: "GET",
        path: "/contacts/{id}",
        service: Service::Contacts,
        operation: Operation::Get,
        scope: ScopeCheck::READ_CONTACTS,
    },
    Route {
        method: "GET",
        path: "/calendar",
        service: Service::Calendar,
        operation: Operation::List,
        scope: ScopeCheck::READ_CALENDAR,
    },
    Route {
        method: "GET",
        path: "/calendar/{id}",
        service: Service::Calendar,
        operation: Operation::Get,
        scope: ScopeCheck::READ_CALENDAR,
    },
    Route {
        method: "POST",
        path: "/contacts",
        service: Service::Contacts,
        operation: Operation::Create,
        scope: ScopeCheck::WRITE_CONTACTS,
    },
    Route {
        method: "PUT",
        path: "/contacts/{id}",
        service: Service::Contacts,
        operation: Operation::Replace,
        scope: ScopeCheck::WRITE_CONTACTS,
    },
    Route {
        method: "DELETE",
        path: "/contacts/{id}",
        service: Service::Contacts,
        operation: Operation::Delete,
        scope: ScopeCheck::WRITE_CONTACTS,
    },
    Route {
        method: "POST",
        path: "/calendar",
        service: Service::Calendar,
        operation: Operation::Create,
        scope: ScopeCheck::WRITE_CALENDAR,
    },
    Route {
        method: "PUT",
        path: "/calendar/{id}",
        service: Service::Calendar,
        operation: Operation::Replace,
        scope: ScopeCheck::WRITE_CALENDAR,
    },
    Route {
        method: "DELETE",
        path: "/calendar/{id}",
        service: Service::Calendar,
        operation: Operation::Delete,
        scope: ScopeCheck::WRITE_CALENDAR,
    },
];

impl Route {
    /// The API Gateway route key: `GET /contacts/{id}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
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

/// The route of `service` for `method` and the path's `segments` (stage prefix removed),
/// with its path parameter.
pub fn resolve<'s>(
    service: Service,
    method: &str,
    segments: &[&'s str],
) -> Result<(&'static Route, Option<&'s str>), Miss> {
    let mut methods = Vec::new();
    for route in ROUTES.iter().filter(|r| r.service == service) {
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

/// The service whose routes start with `/<name>`.
pub fn service_named(name: &str) -> Option<Service> {
    ROUTES
        .iter()
        .map(|r| r.service)
        .find(|service| service.name() == name)
}

/// The route with this API Gateway route key.
pub fn by_key(key: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.key() == key)
}

/// The methods a service answers, for CORS preflights (`GET, POST`).
pub fn methods_of(service: Service) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = Vec::new();
    for route in ROUTES.iter().filter(|r| r.service == service) {
        if !methods.contains(&route.method) {
            methods.push(route.method);
        }
    }
    methods
}

/// The routes of a service as a sentence: `GET /contacts, GET /contacts/{id}`.
pub fn describe(service: Service) -> String {
    ROUTES
        .iter()
        .filter(|r| r.service == service)
        .map(Route::key)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths_methods_and_parameters() {
        let (route, id) = resolve(Service::Contacts, "GET", &["contacts", "c-1"]).unwrap();
        assert_eq!(route.key(), "GET /contacts/{id}");
        assert_eq!(id, Some("c-1"));
        let (route, id) = resolve(Service::Calendar, "GET", &["calendar"]).unwrap();
        assert_eq!((route.operation, id), (Operation::List, None));
        assert_eq!(
            resolve(Service::Contacts, "PATCH", &["contacts"]),
            Err(Miss::MethodNotAllowed {
                allow: "GET, POST".into()
            })
        );
        assert_eq!(
            resolve(Service::Calendar, "POST", &["calendar", "e-1"]),
            Err(Miss::MethodNotAllowed {
                allow: "GET, PUT, DELETE".into()
            })
        );
        for path in [&["calendar"][..], &["contacts", "a", "b"], &[], &["x"]] {
            assert_eq!(
                resolve(Service::Contacts, "GET", path),
                Err(Miss::NotFound),
                "{path:?}"
            );
        }
        assert_eq!(service_named("calendar"), Some(Service::Calendar));
        assert_eq!(service_named("nope"), None);
        assert_eq!(
            by_key("GET /calendar/{id}").map(|r| r.scope),
            Some(ScopeCheck::READ_CALENDAR)
        );
    }

    #[test]
    fn every_route_is_listed_once_and_each_service_has_routes() {
        for (i, route) in ROUTES.iter().enumerate() {
            assert!(
                !ROUTES[..i].iter().any(|r| r.key() == route.key()),
                "{} twice",
                route.key()
            );
            assert!(
                route
                    .path
                    .starts_with(&format!("/{}", route.service.name()))
            );
        }
        for service in [Service::Contacts, Service::Calendar] {
            assert!(!methods_of(service).is_empty());
        }
    }
}
