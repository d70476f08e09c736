//! `services.yaml` is the one list of the services behind the API. What cannot read it —
//! `template.yaml`, `tenant.yaml`, the workspace and the local tool's link list — is checked
//! against it here; each failure names the file, the service and the missing piece, so that a
//! service added to the manifest and forgotten somewhere fails here first
//! (docs/adding-a-service.md lists the places).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::BTreeSet;

use organizer_local::StoreChoice;
use organizer_local::gateway::definition::Security;
use organizer_local::gateway::template::Overrides;
use organizer_local::gateway::{TemplateOptions, load};
use organizer_local::linked::{self, Stores};
use organizer_shared::manifest::{ServiceSpec, manifest};
use organizer_shared::routes::routes;
use serde_norway::Value;

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(file: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// `!Tag value` as (tag, value); a plain value as ("", value).
fn tagged(value: &Value) -> (String, &Value) {
    match value {
        Value::Tagged(t) => (
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        ),
        other => (String::new(), other),
    }
}

/// The text of a scalar, a tagged scalar (`!Sub "…"`), or the texts of a list's or a
/// mapping's values, space-separated (`{AttributeName: id, KeyType: HASH}`: `id HASH`).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Tagged(t) => text(&t.value),
        Value::Sequence(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        Value::Mapping(m) => m.values().map(text).collect::<Vec<_>>().join(" "),
        other => format!("{other:?}"),
    }
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Sequence(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// Every problem of every service, so one run lists them all.
struct Problems(Vec<String>);

impl Problems {
    fn need(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(problem());
        }
    }

    fn assert_none(self, what: &str) {
        assert!(
            self.0.is_empty(),
            "{what}:\n  - {}\n(services.yaml lists the services; docs/adding-a-service.md says \
             what each needs)",
            self.0.join("\n  - ")
        );
    }
}

#[test]
fn the_manifest_is_sound() {
    manifest().check().unwrap();
    assert!(manifest().services.len() >= 2);
}

/// The local tool links each service's item type (`linked_item!` in local/src/linked.rs).
#[tokio::test]
async fn every_service_is_linked_into_the_local_tool() {
    let stores = Stores::new(&StoreChoice::Memory, vec!["auth0|check".into()]).await;
    linked::prepare(&stores)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Each service is a crate in functions/<binary> (the workspace's members are functions/*, and
/// the build scripts build every folder there), whose binary is the service's.
#[test]
fn every_service_has_its_crate_under_functions() {
    let mut problems = Problems(Vec::new());
    let workspace = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    problems.need(workspace.contains("\"functions/*\""), || {
        "Cargo.toml: the workspace's members must include \"functions/*\"".into()
    });
    for service in &manifest().services {
        let crate_dir = repo().join("functions").join(&service.binary);
        let cargo = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap_or_default();
        problems.need(
            cargo.contains(&format!("name = \"{}\"", service.binary)),
            || {
                format!(
                    "functions/{}/Cargo.toml: services.yaml's {} needs its crate (package and \
                     binary named {:?}) there",
                    service.binary, service.name, service.binary
                )
            },
        );
        let main = std::fs::read_to_string(crate_dir.join("src/main.rs")).unwrap_or_default();
        problems.need(main.contains("service::run::<"), || {
            format!(
                "functions/{}/src/main.rs: the function's main is \
                 organizer_shared::service::run::<ItemType>() (docs/adding-a-service.md)",
                service.binary
            )
        });
    }
    // And the other way: every function crate but the authorizer is a service of the manifest
    // (the build scripts build every folder of functions/, and deploy every function).
    for entry in std::fs::read_dir(repo().join("functions")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        problems.need(
            name == "authorizer" || manifest().services.iter().any(|s| s.binary == name),
            || {
                format!(
                    "functions/{name}: a crate no service of services.yaml names as its binary \
                     (add its entry, or move the crate out of functions/)"
                )
            },
        );
    }
    problems.assert_none("the services' crates");
}

/// template.yaml: per service its function (binary, CodeUri, table variable, log group, the
/// exact IAM of the store), its table (keys, index, TTL, Retain), its output and its invoke
/// permission.
#[test]
fn template_has_every_service() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    let mut problems = Problems(Vec::new());
    for service in &manifest().services {
        let ServiceSpec {
            name,
            function: fid,
            table,
            ..
        } = service;
        let at = |what: &str| format!("template.yaml: {name}: {what}");
        let function = &resources[fid.as_str()];
        if function["Type"].as_str() != Some("AWS::Serverless::Function") {
            problems.0.push(at(&format!(
                "no AWS::Serverless::Function {fid} (services.yaml's function)"
            )));
            continue;
        }
        problems.need(
            function["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(&service.binary),
            || {
                at(&format!(
                    "{fid}'s Metadata.BuildProperties.Binary must be {:?}",
                    service.binary
                ))
            },
        );
        problems.need(
            function["Metadata"]["BuildMethod"].as_str() == Some("rust-cargolambda"),
            || {
                at(&format!(
                    "{fid}'s Metadata.BuildMethod must be rust-cargolambda"
                ))
            },
        );
        let props = &function["Properties"];
        problems.need(
            props["CodeUri"].as_str() == Some(&format!("functions/{}", service.binary)),
            || {
                at(&format!(
                    "{fid}'s CodeUri must be functions/{}",
                    service.binary
                ))
            },
        );
        let variable = &props["Environment"]["Variables"][table.variable.as_str()];
        problems.need(
            tagged(variable) == ("Ref".into(), &Value::String(table.resource.clone())),
            || {
                at(&format!(
                    "{fid}'s Environment.Variables.{} must be !Ref {}",
                    table.variable, table.resource
                ))
            },
        );
        let (tag, group) = tagged(&props["LoggingConfig"]["LogGroup"]);
        let group = group.as_str().unwrap_or_default();
        problems.need(
            tag == "Ref" && resources[group]["Type"].as_str() == Some("AWS::Logs::LogGroup"),
            || {
                at(&format!(
                    "{fid}'s LoggingConfig.LogGroup must be !Ref to its AWS::Logs::LogGroup"
                ))
            },
        );
        problems.need(
            text(&resources[group]["Properties"]["LogGroupName"])
                .ends_with(&format!("-{}", service.binary)),
            || {
                at(&format!(
                    "the log group {group} must be named …-{}",
                    service.binary
                ))
            },
        );
        // IAM: exactly the store's calls, on its own table and index.
        let mut granted = BTreeSet::new();
        for policy in list(&props["Policies"]) {
            for statement in list(&policy["Statement"]) {
                for action in list(&statement["Action"]) {
                    granted.insert((text(&action), text(&statement["Resource"])));
                }
            }
        }
        let arn = table.resource.clone();
        let mut expected: BTreeSet<(String, String)> =
            ["GetItem", "PutItem", "UpdateItem", "DeleteItem"]
                .iter()
                .map(|a| (format!("dynamodb:{a}"), format!("{arn}.Arn")))
                .collect();
        expected.insert((
            "dynamodb:Query".into(),
            format!("${{{arn}.Arn}}/index/{}", table.index),
        ));
        // DPoP: each proof's jti recorded once, in the replay table every function shares.
        expected.insert(("dynamodb:PutItem".into(), "DpopReplayTable.Arn".into()));
        problems.need(granted == expected, || {
            at(&format!(
                "{fid}'s Policies grant {granted:?}; the store needs exactly {expected:?}"
            ))
        });
        // The table.
        let t = &resources[table.resource.as_str()];
        problems.need(t["Type"].as_str() == Some("AWS::DynamoDB::Table"), || {
            at(&format!("no AWS::DynamoDB::Table {}", table.resource))
        });
        for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
            problems.need(t[policy].as_str() == Some("Retain"), || {
                at(&format!(
                    "{}'s {policy} must be Retain (it holds user data)",
                    table.resource
                ))
            });
        }
        let keys = text(&t["Properties"]["KeySchema"]);
        problems.need(keys == "user_id HASH id RANGE", || {
            at(&format!(
                "{}'s KeySchema must be user_id (HASH), id (RANGE): {keys}",
                table.resource
            ))
        });
        let index = list(&t["Properties"]["LocalSecondaryIndexes"])
            .into_iter()
            .find(|i| i["IndexName"].as_str() == Some(&table.index));
        problems.need(
            index.as_ref().is_some_and(|i| {
                text(&i["KeySchema"]) == format!("user_id HASH {} RANGE", table.index_key)
                    && text(&i["Projection"]["ProjectionType"]) == "ALL"
            }),
            || {
                at(&format!(
                    "{} needs the LocalSecondaryIndex {} on user_id (HASH), {} (RANGE), \
                     projecting ALL",
                    table.resource, table.index, table.index_key
                ))
            },
        );
        problems.need(
            text(&t["Properties"]["AttributeDefinitions"])
                .contains(&format!("{} S", table.index_key)),
            || {
                at(&format!(
                    "{}'s AttributeDefinitions must define {} (S)",
                    table.resource, table.index_key
                ))
            },
        );
        problems.need(
            text(&t["Properties"]["TimeToLiveSpecification"]["AttributeName"]) == "expires_at",
            || {
                at(&format!(
                    "{}'s TimeToLiveSpecification must be on expires_at (idempotency records)",
                    table.resource
                ))
            },
        );
        problems.need(
            tagged(&template["Outputs"][table.resource.as_str()]["Value"])
                == ("Ref".into(), &Value::String(table.resource.clone())),
            || {
                at(&format!(
                    "Outputs.{0} must be !Ref {0} (the seed command reads it)",
                    table.resource
                ))
            },
        );
    }
    problems.assert_none("template.yaml against services.yaml");
}

/// The template's HTTP API, as the local gateway reads it in each authorizer mode, has exactly
/// the route table's routes, each integrated with its service's function and allowed to
/// invoke it, guarded by the Lambda authorizer, by the JWT authorizer with the route's scope,
/// or by nothing.
#[test]
fn template_routes_are_the_route_table() {
    let mut problems = Problems(Vec::new());
    for mode in ["lambda", "jwt", "none"] {
        let loaded = load(
            &TemplateOptions {
                path: repo().join("template.yaml"),
                overrides: Overrides::parse(&[&format!("AuthorizerMode={mode}")]).unwrap(),
            },
            &[("Issuer", "http://localhost:4000/".to_string())],
            &[],
            "http://localhost:3001",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let in_template: BTreeSet<String> =
            loaded.api.routes.iter().map(|r| r.key.clone()).collect();
        let in_table: BTreeSet<String> = routes().iter().map(|r| r.key().to_string()).collect();
        for missing in in_table.difference(&in_template) {
            problems.0.push(format!(
                "template.yaml ({mode}): no route {missing} (the Api's DefinitionBody paths)"
            ));
        }
        for extra in in_template.difference(&in_table) {
            problems.0.push(format!(
                "template.yaml ({mode}): the route {extra} is no service's of services.yaml"
            ));
        }
        for route in routes() {
            let key = route.key();
            let Some(def) = loaded.api.routes.iter().find(|r| r.key == key) else {
                continue;
            };
            let function = &route.service.function;
            problems.need(def.function == *function, || {
                format!(
                    "template.yaml: {key} must be integrated with {function}, not {}",
                    def.function
                )
            });
            problems.need(def.invoke_allowed, || {
                format!(
                    "template.yaml: no AWS::Lambda::Permission lets API Gateway invoke \
                     {function} for {key} (SourceArn …/*/*/{}*)",
                    route.service.name
                )
            });
            let expected = match mode {
                "lambda" => matches!(def.security, Security::Lambda { .. }),
                "jwt" => matches!(&def.security, Security::Jwt { scopes, .. }
                    if scopes.iter().map(String::as_str).eq(route.scope.0.iter().copied())),
                _ => def.security == Security::Open,
            };
            problems.need(expected, || {
                format!(
                    "template.yaml ({mode}): {key}'s security is {:?}; expected {}",
                    def.security,
                    match mode {
                        "lambda" => "the LambdaAuthorizer".to_string(),
                        "jwt" => format!("the JwtAuthorizer with [{}]", route.scope.0.join(", ")),
                        _ => "none".to_string(),
                    }
                )
            });
        }
    }
    problems.assert_none("template.yaml's routes against the route table");
}

/// tenant.yaml: the API defines each service's scopes with the manifest's descriptions; the
/// Reader role has every read scope, the Editor every scope; the machine client is granted
/// every scope.
#[test]
fn tenant_has_every_scope_role_and_grant() {
    let tenant = yaml("tenant.yaml");
    let mut problems = Problems(Vec::new());
    let api = list(&tenant["resourceServers"])
        .into_iter()
        .find(|r| r["identifier"].as_str() == Some("organize"))
        .expect("tenant.yaml: a resource server with identifier organize");
    let role = |name: &str| -> BTreeSet<String> {
        list(&tenant["roles"])
            .into_iter()
            .find(|r| r["name"].as_str() == Some(name))
            .map(|r| {
                list(&r["permissions"])
                    .iter()
                    .map(|p| text(&p["permission_name"]))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (reader, editor) = (role("Organizer Reader"), role("Organizer Editor"));
    let machine: BTreeSet<String> = list(&tenant["clientGrants"])
        .into_iter()
        .find(|g| g["client_id"].as_str() == Some("Organizer Machine"))
        .map(|g| list(&g["scope"]).iter().map(text).collect())
        .unwrap_or_default();
    for service in &manifest().services {
        let name = &service.name;
        for (scope, in_reader) in [(&service.scopes.read, true), (&service.scopes.write, false)] {
            let defined = list(&api["scopes"])
                .into_iter()
                .find(|s| s["value"].as_str() == Some(&scope.name));
            problems.need(
                defined
                    .as_ref()
                    .is_some_and(|s| s["description"].as_str() == Some(&scope.description)),
                || {
                    format!(
                        "tenant.yaml: {name}: the API organize's scopes need {{value: {}, \
                         description: {}}}",
                        scope.name, scope.description
                    )
                },
            );
            problems.need(reader.contains(&scope.name) == in_reader, || {
                format!(
                    "tenant.yaml: {name}: the role Organizer Reader {} {}",
                    if in_reader { "needs" } else { "must not have" },
                    scope.name
                )
            });
            problems.need(editor.contains(&scope.name), || {
                format!(
                    "tenant.yaml: {name}: the role Organizer Editor needs {}",
                    scope.name
                )
            });
            problems.need(machine.contains(&scope.name), || {
                format!(
                    "tenant.yaml: {name}: the clientGrants of Organizer Machine need {}",
                    scope.name
                )
            });
        }
    }
    problems.assert_none("tenant.yaml against services.yaml");
}
