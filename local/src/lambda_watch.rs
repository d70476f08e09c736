//! The template's functions under `cargo lambda watch`, behind the local gateway: the
//! environment each function needs there (`organizer function-env`), so that a handler edited
//! and rebuilt by watch still gets requests through the template's authorizer.
//!
//! A function under watch is its own process: it reads and writes DynamoDB (the local stack's
//! tables, on DynamoDB Local), never the stack's in-memory store.

use organizer_shared::manifest::manifest;

use crate::StoreChoice;
use crate::gateway::definition::FunctionDef;

/// What a function gets under watch: the environment the template gives it (as the local
/// gateway computes it: the dev tenant as issuer, the sites' origins), with the local stack's
/// tables and DynamoDB endpoint in place of the deployed stack's.
pub fn environment(function: &FunctionDef, store: &StoreChoice) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = function
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut set = |name: &str, value: &str| {
        env.retain(|(k, _)| k != name);
        env.push((name.to_string(), value.to_string()));
    };
    if let StoreChoice::Dynamo { endpoint, .. } = store {
        for service in &manifest().services {
            if function.environment.contains_key(&service.table.variable) {
                set(&service.table.variable, &store.table(service));
            }
        }
        if let Some(endpoint) = endpoint {
            set("AWS_ENDPOINT_URL_DYNAMODB", endpoint);
        }
    }
    env
}

/// `KEY=VALUE` lines, as `cargo lambda watch --env-file` reads them.
pub fn env_file(env: &[(String, String)]) -> String {
    env.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}
