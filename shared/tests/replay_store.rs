//! The replay store contract, on the in-memory store and on DynamoDB Local alike: a key is new
//! once until its record expires, and of twenty uses at once exactly one is the first.
//! (`memory_*` run everywhere; `dynamodb_*` need DynamoDB Local, `ORGANIZER_TEST_DYNAMODB`,
//! which `make test` starts; without it they fail saying how to start it.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;
use std::time::Duration;

use organizer_shared::contract::{dynamodb_local_endpoint, unique_table};
use organizer_shared::dpop::{MemoryReplayStore, ReplayStore};
use organizer_shared::store::dynamo::{DynamoReplayStore, client, ensure_replay_table};

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn key() -> String {
    // The verifier's keys are 43 characters of base64url.
    format!("{:0>43}", uuid::Uuid::new_v4().simple())
}

async fn dynamo() -> Arc<dyn ReplayStore> {
    let client = client(Some(&dynamodb_local_endpoint())).await;
    let table = unique_table("dpop-replay");
    ensure_replay_table(&client, &table).await.unwrap();
    Arc::new(DynamoReplayStore::new(client, table))
}

fn memory() -> Arc<dyn ReplayStore> {
    Arc::new(MemoryReplayStore::default())
}

async fn a_key_is_new_once(store: Arc<dyn ReplayStore>) {
    let (a, b) = (key(), key());
    assert_eq!(store.first_use(&a, now() + 60).await, Ok(true));
    assert_eq!(store.first_use(&a, now() + 60).await, Ok(false));
    assert_eq!(
        store.first_use(&a, now() + 600).await,
        Ok(false),
        "a later expiry changes nothing"
    );
    assert_eq!(
        store.first_use(&b, now() + 60).await,
        Ok(true),
        "another key"
    );
}

async fn an_expired_record_is_new_again(store: Arc<dyn ReplayStore>) {
    let a = key();
    assert_eq!(store.first_use(&a, now() + 2).await, Ok(true));
    assert_eq!(store.first_use(&a, now() + 2).await, Ok(false));
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(store.first_use(&a, now() + 60).await, Ok(true));
    assert_eq!(store.first_use(&a, now() + 60).await, Ok(false));
}

async fn twenty_at_once_one_is_first(stores: Vec<Arc<dyn ReplayStore>>) {
    let a = key();
    let expires = now() + 60;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = stores[i % stores.len()].clone();
        let a = a.clone();
        tasks.spawn(async move { store.first_use(&a, expires).await });
    }
    let mut firsts = 0;
    while let Some(result) = tasks.join_next().await {
        if result.unwrap().unwrap() {
            firsts += 1;
        }
    }
    assert_eq!(firsts, 1);
}

#[tokio::test]
async fn memory_a_key_is_new_once() {
    a_key_is_new_once(memory()).await;
}

#[tokio::test]
async fn memory_an_expired_record_is_new_again() {
    an_expired_record_is_new_again(memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_twenty_at_once_one_is_first() {
    twenty_at_once_one_is_first(vec![memory()]).await;
}

#[tokio::test]
async fn dynamodb_a_key_is_new_once() {
    a_key_is_new_once(dynamo().await).await;
}

#[tokio::test]
async fn dynamodb_an_expired_record_is_new_again() {
    an_expired_record_is_new_again(dynamo().await).await;
}

/// Two instances (two clients) on one table, as two Lambda instances are.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_twenty_at_once_one_is_first_across_two_instances() {
    let client_a = client(Some(&dynamodb_local_endpoint())).await;
    let client_b = client(Some(&dynamodb_local_endpoint())).await;
    let table = unique_table("dpop-replay");
    ensure_replay_table(&client_a, &table).await.unwrap();
    let stores: Vec<Arc<dyn ReplayStore>> = vec![
        Arc::new(DynamoReplayStore::new(client_a, table.clone())),
        Arc::new(DynamoReplayStore::new(client_b, table)),
    ];
    twenty_at_once_one_is_first(stores).await;
}

/// A store that cannot be reached refuses (an error), never answers "first use".
#[tokio::test]
async fn dynamodb_unreachable_is_an_error_not_a_pass() {
    let client = client(Some("http://127.0.0.1:9")).await;
    let store = DynamoReplayStore::new(client, "nowhere");
    assert!(store.first_use(&key(), now() + 60).await.is_err());
}
