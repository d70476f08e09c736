//! Route selection as API Gateway's HTTP APIs do it: the most specific route wins — literal
//! segments over `{parameters}`, those over a greedy `{proxy+}`, a route's own method over
//! `ANY`, and `$default` only when nothing else matches.

use std::collections::HashMap;

use super::definition::RouteDef;

/// One segment of a route's path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter(String),
    /// `{name+}`: one or more segments, the rest of the path.
    Greedy(String),
}

#[derive(Debug, Clone)]
struct Compiled {
    index: usize,
    method: Option<String>,
    segments: Vec<Segment>,
    default: bool,
}

/// The routes of the API, ready to match requests.
#[derive(Debug, Clone)]
pub struct Routes {
    compiled: Vec<Compiled>,
}

/// A request's route and its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub index: usize,
    pub path_parameters: HashMap<String, String>,
}

impl Routes {
    pub fn new(routes: &[RouteDef]) -> Self {
        let compiled = routes
            .iter()
            .enumerate()
            .map(|(index, route)| Compiled {
                index,
                method: route.method.clone(),
                default: route.path == "$default",
                segments: if route.path == "$default" {
                    Vec::new()
                } else {
                    route
                        .path
                        .trim_start_matches('/')
                        .split('/')
                        .filter(|s| !s.is_empty())
                        .map(
                            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                                Some(name) => match name.strip_suffix('+') {
                                    Some(greedy) => Segment::Greedy(greedy.to_string()),
                                    None => Segment::Parameter(name.to_string()),
                                },
                                None => Segment::Literal(s.to_string()),
                            },
                        )
                        .collect()
                },
            })
            .collect();
        Self { compiled }
    }

    /// Whether some route other than `$default` serves this method and path (a preflight is
    /// answered by API Gateway itself only when none does).
    pub fn has_route(&self, method: &str, path: &str) -> bool {
        self.find(method, path, false).is_some()
    }

    /// The route for `method` and `path` (the path without a stage prefix).
    pub fn find(&self, method: &str, path: &str, with_default: bool) -> Option<Matched> {
        let segments: Vec<&str> = if path == "/" {
            Vec::new()
        } else {
            match path.strip_prefix('/') {
                Some(rest) => rest.split('/').collect(),
                None => return None,
            }
        };
        let mut best: Option<((u8, usize, usize, u8), Matched)> = None;
        for route in &self.compiled {
            if route.default {
                continue;
            }
            let method_rank = match &route.method {
                Some(m) if m == method => 1,
                Some(_) => continue,
                None => 0,
            };
            let Some(params) = matches(&route.segments, &segments) else {
                continue;
            };
            let greedy = route
                .segments
                .iter()
                .any(|s| matches!(s, Segment::Greedy(_)));
            let literals = route
                .segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count();
            let rank = (
                u8::from(!greedy),
                literals,
                route.segments.len(),
                method_rank,
            );
            if best.as_ref().is_none_or(|(b, _)| rank > *b) {
                best = Some((
                    rank,
                    Matched {
                        index: route.index,
                        path_parameters: params,
                    },
                ));
            }
        }
        best.map(|(_, m)| m).or_else(|| {
            with_default
                .then(|| self.compiled.iter().find(|r| r.default))
                .flatten()
                .map(|r| Matched {
                    index: r.index,
                    path_parameters: HashMap::new(),
                })
        })
    }
}

fn matches(template: &[Segment], path: &[&str]) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    for (i, segment) in template.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                let rest = path.get(i..).filter(|r| !r.is_empty())?;
                if rest.iter().all(|s| s.is_empty()) {
                    return None;
                }
                params.insert(name.clone(), rest.join("/"));
                return Some(params);
            }
            Segment::Literal(text) => {
                if path.get(i) != Some(&text.as_str()) {
                    return None;
                }
            }
            Segment::Parameter(name) => {
                let value = path.get(i).filter(|v| !v.is_empty())?;
                params.insert(name.clone(), (*value).to_string());
            }
        }
    }
    (template.len() == path.len()).then_some(params)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::gateway::definition::Security;

    fn route(method: Option<&str>, path: &str) -> RouteDef {
        RouteDef {
            key: format!("{} {path}", method.unwrap_or("ANY")),
            method: method.map(str::to_string),
            path: path.into(),
            function: "F".into(),
            timeout: Duration::from_secs(30),
            security: Security::Open,
            invoke_allowed: true,
        }
    }

    #[test]
    fn the_most_specific_route_wins() {
        let defs = vec![
            route(Some("GET"), "/contacts"),
            route(Some("GET"), "/contacts/{id}"),
            route(None, "/contacts/{id}"),
            route(Some("GET"), "/contacts/special"),
            route(None, "/files/{path+}"),
            route(None, "$default"),
        ];
        let routes = Routes::new(&defs);
        let key = |m: &str, p: &str| routes.find(m, p, true).map(|m| defs[m.index].key.clone());
        assert_eq!(key("GET", "/contacts").as_deref(), Some("GET /contacts"));
        assert_eq!(
            key("GET", "/contacts/42").as_deref(),
            Some("GET /contacts/{id}")
        );
        assert_eq!(
            key("PUT", "/contacts/42").as_deref(),
            Some("ANY /contacts/{id}")
        );
        assert_eq!(
            key("GET", "/contacts/special").as_deref(),
            Some("GET /contacts/special")
        );
        assert_eq!(
            key("GET", "/files/a/b").as_deref(),
            Some("ANY /files/{path+}")
        );
        assert_eq!(key("GET", "/contacts/").as_deref(), Some("ANY $default"));
        assert_eq!(key("GET", "/elsewhere").as_deref(), Some("ANY $default"));
        assert_eq!(
            routes
                .find("GET", "/files/a/b", true)
                .unwrap()
                .path_parameters["path"],
            "a/b"
        );
        assert_eq!(
            routes
                .find("GET", "/contacts/42", true)
                .unwrap()
                .path_parameters["id"],
            "42"
        );
        assert!(routes.find("GET", "/elsewhere", false).is_none());
        assert!(!routes.has_route("OPTIONS", "/contacts"));
        assert!(routes.has_route("OPTIONS", "/contacts/1"));
    }
}
