//! One contract, two stores: every contract function runs as `memory::<name>` on the
//! in-memory store and as `dynamodb::<name>` on DynamoDB Local.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::sync::Arc;

use organizer_shared::store::dynamo::{self, DynamoContactStore, DynamoEventStore, TableSpec};
use organizer_shared::store::idempotency::{IdempotencyRecord, epoch_now, expires_at};
use organizer_shared::store::memory::{MemoryContactStore, MemoryEventStore};
use organizer_shared::store::model::{Contact, ContactFields, Event, EventFields, Stored};
use organizer_shared::store::{
    ContactStore, EventStore, PageRequest, TimeRange, WriteError, sample,
};

type Make = dyn Fn(u32, u32) -> (Arc<dyn ContactStore>, Arc<dyn EventStore>) + Send + Sync;

/// The stores one contract test runs on (with the default quotas).
struct Stores {
    kind: &'static str,
    contacts: Arc<dyn ContactStore>,
    events: Arc<dyn EventStore>,
    make: Box<Make>,
}

impl Stores {
    /// Stores of the same kind holding at most `contacts` contacts and `events` events per user.
    /// In memory they are new and empty; on DynamoDB they use this test's own (fresh) tables,
    /// so a test uses them for owners it has not written through the default stores.
    fn with_quota(
        &self,
        contacts: u32,
        events: u32,
    ) -> (Arc<dyn ContactStore>, Arc<dyn EventStore>) {
        (self.make)(contacts, events)
    }
}

fn memory() -> Stores {
    Stores {
        kind: "memory",
        contacts: Arc::new(MemoryContactStore::default()),
        events: Arc::new(MemoryEventStore::default()),
        make: Box::new(|contacts, events| {
            (
                Arc::new(MemoryContactStore::with_quota(contacts)),
                Arc::new(MemoryEventStore::with_quota(events)),
            )
        }),
    }
}

/// Fresh tables on DynamoDB Local (the test fails, saying what to run, when it is not up).
async fn dynamodb() -> Stores {
    let client = dynamo::client(Some(&common::dynamodb_local_endpoint())).await;
    let contacts = common::unique_table("contacts");
    let calendar = common::unique_table("calendar");
    dynamo::ensure_table(&client, &TableSpec::contacts(&contacts))
        .await
        .expect("create contacts table on DynamoDB Local");
    dynamo::ensure_table(&client, &TableSpec::calendar(&calendar))
        .await
        .expect("create calendar table on DynamoDB Local");
    let (c, e) = (contacts.clone(), calendar.clone());
    let make_client = client.clone();
    Stores {
        kind: "dynamodb",
        contacts: Arc::new(DynamoContactStore::new(client.clone(), contacts)),
        events: Arc::new(DynamoEventStore::new(client, calendar)),
        make: Box::new(move |contacts, events| {
            (
                Arc::new(
                    DynamoContactStore::new(make_client.clone(), c.clone()).with_quota(contacts),
                ),
                Arc::new(DynamoEventStore::new(make_client.clone(), e.clone()).with_quota(events)),
            )
        }),
    }
}

/// Each contract function becomes two tests: `memory::<name>` and `dynamodb::<name>`. They run
/// on several threads, so that concurrent writes really are concurrent.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                super::$name(super::memory()).await
            })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                super::$name(super::dynamodb().await).await
            })*
        }
    };
}

contract!(
    contacts_round_trip_and_stay_with_their_owner,
    contacts_are_listed_by_name_in_pages,
    events_are_listed_by_start_within_the_window,
    sample_data_seeds_idempotently,
    creates_start_at_version_one_in_listing_order,
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

fn fields(id: &str, name: &str) -> ContactFields {
    ContactFields {
        name: name.into(),
        email: format!("{id}@example.com"),
        phone: "+1 555 0100".into(),
        company: "Example".into(),
    }
}

fn contact(id: &str, name: &str) -> Contact {
    Contact {
        id: id.into(),
        fields: fields(id, name),
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-02T00:00:00Z".into(),
    }
}

fn event_fields(id: &str, start: &str) -> EventFields {
    EventFields {
        title: format!("Event {id}"),
        start: start.into(),
        end: start.replace("T0", "T1"),
        location: "Room 1".into(),
        attendees: vec!["Ada".into(), "Grace".into()],
    }
}

fn event(id: &str, start: &str) -> Event {
    Event {
        id: id.into(),
        fields: event_fields(id, start),
    }
}

/// A record as the handler would write it for a create of `id`.
fn record(key: &str, id: &str, expires_at: u64) -> IdempotencyRecord {
    IdempotencyRecord {
        key_hash: format!("{key:0>64}"),
        fingerprint: format!("{:0>64}", id.replace('-', "")),
        status: 201,
        body: format!(r#"{{"id":"{id}"}}"#),
        location: Some(format!("/contacts/{id}")),
        etag: Some("\"1\"".into()),
        expires_at,
    }
}

fn live(key: &str, id: &str) -> IdempotencyRecord {
    record(key, id, expires_at(epoch_now()))
}

async fn create(store: &dyn ContactStore, owner: &str, c: &Contact) -> Stored<Contact> {
    store.create_contact(owner, c, None).await.unwrap()
}

/// `n` contacts `{prefix}-0`… named `name`, to fill a quota.
async fn fill_contacts(store: &dyn ContactStore, owner: &str, prefix: &str, name: &str, n: u32) {
    for i in 0..n {
        create(store, owner, &contact(&format!("{prefix}-{i}"), name)).await;
    }
}

/// `n` events `{prefix}-0`… at one time, to fill a quota.
async fn fill_events(store: &dyn EventStore, owner: &str, prefix: &str, n: u32) {
    for i in 0..n {
        let e = event(&format!("{prefix}-{i}"), "2026-03-01T09:00:00Z");
        store.create_event(owner, &e, None).await.unwrap();
    }
}

async fn all_contacts(store: &dyn ContactStore, owner: &str, limit: usize) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut pages = 0;
    let mut after = None;
    loop {
        let page = store
            .list_contacts(owner, &PageRequest { limit, after })
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= limit);
        names.extend(page.items.iter().map(|c| c.fields.name.clone()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => return (names, pages),
        }
    }
}

async fn contact_names(store: &dyn ContactStore, owner: &str) -> Vec<String> {
    all_contacts(store, owner, 100).await.0
}

async fn contacts_round_trip_and_stay_with_their_owner(s: Stores) {
    let (kind, store) = (s.kind, s.contacts);
    let alice = contact("c-1", "Alice");
    create(store.as_ref(), "auth0|alice", &alice).await;
    create(store.as_ref(), "auth0|bob", &contact("c-2", "Bob")).await;
    assert_eq!(
        store.get_contact("auth0|alice", "c-1").await.unwrap(),
        Some(Stored {
            item: alice.clone(),
            version: 1
        }),
        "{kind}"
    );
    // Another user's id is simply not there.
    assert_eq!(
        store.get_contact("auth0|alice", "c-2").await.unwrap(),
        None,
        "{kind}"
    );
    assert_eq!(
        store.get_contact("auth0|bob", "c-1").await.unwrap(),
        None,
        "{kind}"
    );
    assert_eq!(
        store.get_contact("auth0|alice", "c-404").await.unwrap(),
        None,
        "{kind}"
    );
    // Nor is anything that is not an item: the counter and records are not ids.
    for not_an_id in ["#count", "#idem#00", ""] {
        assert_eq!(
            store.get_contact("auth0|alice", not_an_id).await.unwrap(),
            None,
            "{kind} {not_an_id:?}"
        );
    }
    let page = store
        .list_contacts("auth0|alice", &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items, vec![alice], "{kind}");
    assert_eq!(page.next_after, None, "{kind}");
}

async fn contacts_are_listed_by_name_in_pages(s: Stores) {
    let (kind, store) = (s.kind, s.contacts);
    let names = ["bob", "Alice", "carol", "Ann Smith", "ann", "Dave", "eve"];
    for (i, name) in names.iter().enumerate() {
        create(store.as_ref(), "auth0|u", &contact(&format!("c-{i}"), name)).await;
    }
    create(store.as_ref(), "auth0|other", &contact("c-x", "Aaron")).await;
    let expected = ["Alice", "ann", "Ann Smith", "bob", "carol", "Dave", "eve"];
    for limit in [1, 2, 3, 7, 50] {
        let (listed, pages) = all_contacts(store.as_ref(), "auth0|u", limit).await;
        assert_eq!(listed, expected, "{kind} limit {limit}");
        assert_eq!(
            pages,
            expected.len().div_ceil(limit).max(1),
            "{kind} limit {limit}: no empty last page"
        );
    }
    let empty = store
        .list_contacts("auth0|nobody", &PageRequest::default())
        .await
        .unwrap();
    assert!(
        empty.items.is_empty() && empty.next_after.is_none(),
        "{kind}"
    );
}

async fn all_events(
    store: &dyn EventStore,
    owner: &str,
    range: &TimeRange,
    limit: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_events(owner, range, &PageRequest { limit, after })
            .await
            .unwrap();
        assert!(page.items.len() <= limit);
        ids.extend(page.items.iter().map(|e| e.id.clone()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => return ids,
        }
    }
}

async fn event_ids(store: &dyn EventStore, owner: &str) -> Vec<String> {
    all_events(store, owner, &TimeRange::default(), 100).await
}

async fn events_are_listed_by_start_within_the_window(s: Stores) {
    let (kind, store) = (s.kind, s.events);
    let starts = [
        ("e-a", "2026-11-20T09:00:00Z"),
        ("e-b", "2026-11-21T09:00:00Z"),
        ("e-c", "2026-11-21T09:00:00Z"),
        ("e-d", "2026-11-22T00:00:00Z"),
        ("e-e", "2026-11-23T15:30:00Z"),
    ];
    for (id, start) in starts.iter().rev() {
        store
            .create_event("auth0|u", &event(id, start), None)
            .await
            .unwrap();
    }
    store
        .create_event("auth0|other", &event("e-x", "2026-11-21T10:00:00Z"), None)
        .await
        .unwrap();
    let range = |from: Option<&str>, to: Option<&str>| TimeRange {
        from: from.map(String::from),
        to: to.map(String::from),
    };
    for limit in [1, 2, 10] {
        let all = all_events(store.as_ref(), "auth0|u", &range(None, None), limit).await;
        assert_eq!(all, ["e-a", "e-b", "e-c", "e-d", "e-e"], "{kind} {limit}");
        // [from, to): inclusive start, exclusive end.
        let window = all_events(
            store.as_ref(),
            "auth0|u",
            &range(Some("2026-11-21T09:00:00Z"), Some("2026-11-22T00:00:00Z")),
            limit,
        )
        .await;
        assert_eq!(window, ["e-b", "e-c"], "{kind} {limit}");
        let from = all_events(
            store.as_ref(),
            "auth0|u",
            &range(Some("2026-11-22T00:00:00Z"), None),
            limit,
        )
        .await;
        assert_eq!(from, ["e-d", "e-e"], "{kind} {limit}");
        let to = all_events(
            store.as_ref(),
            "auth0|u",
            &range(None, Some("2026-11-21T09:00:00Z")),
            limit,
        )
        .await;
        assert_eq!(to, ["e-a"], "{kind} {limit}");
    }
    let none = all_events(
        store.as_ref(),
        "auth0|u",
        &range(Some("2026-11-22T00:00:00Z"), Some("2026-11-22T00:00:00Z")),
        5,
    )
    .await;
    assert!(none.is_empty(), "{kind}");
    // A position from a wider listing used with a narrower window still stays in the window.
    let page = store
        .list_events(
            "auth0|u",
            &range(Some("2026-11-22T00:00:00Z"), None),
            &PageRequest {
                limit: 10,
                after: Some("2026-11-20T09:00:00Z#e-a".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["e-d", "e-e"],
        "{kind}"
    );
    let got = store.get_event("auth0|u", "e-c").await.unwrap().unwrap();
    assert_eq!(got.item, event("e-c", "2026-11-21T09:00:00Z"), "{kind}");
    assert_eq!(
        store.get_event("auth0|u", "e-x").await.unwrap(),
        None,
        "{kind}"
    );
    assert_eq!(
        store.get_event("auth0|other", "e-a").await.unwrap(),
        None,
        "{kind}"
    );
}

async fn sample_data_seeds_idempotently(s: Stores) {
    let (kind, c, e) = (s.kind, s.contacts, s.events);
    let first = sample::seed("auth0|demo", c.as_ref(), e.as_ref())
        .await
        .unwrap();
    let second = sample::seed("auth0|demo", c.as_ref(), e.as_ref())
        .await
        .unwrap();
    assert_eq!(second, (0, 0), "{kind}: seeding twice adds nothing");
    let (names, _) = all_contacts(c.as_ref(), "auth0|demo", 100).await;
    assert_eq!(names.len(), first.0, "{kind}");
    let ids = all_events(e.as_ref(), "auth0|demo", &TimeRange::default(), 100).await;
    assert_eq!(ids.len(), first.1, "{kind}");
    assert!(first.0 >= 10 && first.1 >= 20, "{kind}: {first:?}");
    // What the user deleted stays deleted: seeding (at every local stack start) leaves a kind
    // the user already has alone.
    let gone = &sample::contacts("auth0|demo")[0].id;
    c.delete_contact("auth0|demo", gone, None).await.unwrap();
    assert_eq!(
        sample::seed("auth0|demo", c.as_ref(), e.as_ref())
            .await
            .unwrap(),
        (0, 0)
    );
    assert_eq!(
        c.get_contact("auth0|demo", gone).await.unwrap(),
        None,
        "{kind}"
    );
}

async fn creates_start_at_version_one_in_listing_order(s: Stores) {
    let (kind, contacts, events) = (s.kind, s.contacts, s.events);
    for (id, name) in [("c-1", "mallory"), ("c-2", "Zoe"), ("c-3", "ada")] {
        let created = create(contacts.as_ref(), "auth0|u", &contact(id, name)).await;
        assert_eq!(
            created,
            Stored {
                item: contact(id, name),
                version: 1
            },
            "{kind}"
        );
        let got = contacts.get_contact("auth0|u", id).await.unwrap();
        assert_eq!(got, Some(created), "{kind}");
    }
    assert_eq!(
        contact_names(contacts.as_ref(), "auth0|u").await,
        ["ada", "mallory", "Zoe"],
        "{kind}"
    );
    for (id, start) in [
        ("e-1", "2026-03-02T09:00:00Z"),
        ("e-2", "2026-03-01T09:00:00Z"),
    ] {
        let created = events
            .create_event("auth0|u", &event(id, start), None)
            .await
            .unwrap();
        assert_eq!(
            created,
            Stored {
                item: event(id, start),
                version: 1
            },
            "{kind}"
        );
        let got = events.get_event("auth0|u", id).await.unwrap();
        assert_eq!(got, Some(created), "{kind}");
    }
    assert_eq!(
        event_ids(events.as_ref(), "auth0|u").await,
        ["e-2", "e-1"],
        "{kind}"
    );
}

async fn creating_an_existing_id_is_refused_and_changes_nothing(s: Stores) {
    let (kind, contacts, events) = (s.kind, s.contacts, s.events);
    let first = create(contacts.as_ref(), "auth0|u", &contact("c-1", "Ann")).await;
    let again = contacts
        .create_contact("auth0|u", &contact("c-1", "Other"), None)
        .await;
    assert!(
        matches!(again, Err(WriteError::Exists)),
        "{kind}: {again:?}"
    );
    assert_eq!(
        contacts.get_contact("auth0|u", "c-1").await.unwrap(),
        Some(first),
        "{kind}"
    );
    assert_eq!(
        contact_names(contacts.as_ref(), "auth0|u").await,
        ["Ann"],
        "{kind}"
    );
    // The same id is free in another user's data.
    create(contacts.as_ref(), "auth0|v", &contact("c-1", "Vic")).await;

    let first = events
        .create_event("auth0|u", &event("e-1", "2026-03-01T09:00:00Z"), None)
        .await
        .unwrap();
    let again = events
        .create_event("auth0|u", &event("e-1", "2026-04-01T09:00:00Z"), None)
        .await;
    assert!(
        matches!(again, Err(WriteError::Exists)),
        "{kind}: {again:?}"
    );
    assert_eq!(
        events.get_event("auth0|u", "e-1").await.unwrap(),
        Some(first),
        "{kind}"
    );
    assert_eq!(
        event_ids(events.as_ref(), "auth0|u").await,
        ["e-1"],
        "{kind}"
    );
}

async fn replace_changes_the_fields_keeps_the_rest_and_moves_the_item(s: Stores) {
    let (kind, contacts, events) = (s.kind, s.contacts, s.events);
    create(contacts.as_ref(), "auth0|u", &contact("c-1", "Alice")).await;
    create(contacts.as_ref(), "auth0|u", &contact("c-2", "mallory")).await;
    let new_fields = ContactFields {
        name: "Zoe".into(),
        email: String::new(),
        phone: "+44 20 7946 0000".into(),
        company: "New Co".into(),
    };
    let replaced = contacts
        .replace_contact("auth0|u", "c-1", &new_fields, "2026-05-05T05:05:05Z", None)
        .await
        .unwrap();
    let expected = Stored {
        item: Contact {
            id: "c-1".into(),
            fields: new_fields.clone(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-05-05T05:05:05Z".into(),
        },
        version: 2,
    };
    assert_eq!(replaced, expected, "{kind}");
    assert_eq!(
        contacts.get_contact("auth0|u", "c-1").await.unwrap(),
        Some(expected.clone()),
        "{kind}"
    );
    // The listing follows the new name, without a duplicate.
    assert_eq!(
        contact_names(contacts.as_ref(), "auth0|u").await,
        ["mallory", "Zoe"],
        "{kind}"
    );
    // With the right version, it goes through and the version goes on.
    let again = contacts
        .replace_contact(
            "auth0|u",
            "c-1",
            &fields("c-1", "Abe"),
            "2026-05-06T00:00:00Z",
            Some(2),
        )
        .await
        .unwrap();
    assert_eq!(again.version, 3, "{kind}");
    assert_eq!(again.item.created_at, "2026-01-01T00:00:00Z", "{kind}");
    assert_eq!(
        contact_names(contacts.as_ref(), "auth0|u").await,
        ["Abe", "mallory"],
        "{kind}"
    );

    events
        .create_event("auth0|u", &event("e-1", "2026-03-01T09:00:00Z"), None)
        .await
        .unwrap();
    events
        .create_event("auth0|u", &event("e-2", "2026-03-02T09:00:00Z"), None)
        .await
        .unwrap();
    let moved = EventFields {
        title: "Moved".into(),
        start: "2026-03-03T09:00:00Z".into(),
        end: "2026-03-03T10:00:00Z".into(),
        location: String::new(),
        attendees: Vec::new(),
    };
    let replaced = events
        .replace_event("auth0|u", "e-1", &moved, Some(1))
        .await
        .unwrap();
    let expected = Stored {
        item: Event {
            id: "e-1".into(),
            fields: moved,
        },
        version: 2,
    };
    assert_eq!(replaced, expected, "{kind}");
    assert_eq!(
        events.get_event("auth0|u", "e-1").await.unwrap(),
        Some(expected),
        "{kind}"
    );
    assert_eq!(
        event_ids(events.as_ref(), "auth0|u").await,
        ["e-2", "e-1"],
        "{kind}"
    );
}

async fn a_stale_replace_is_refused_with_the_current_item(s: Stores) {
    let (kind, contacts, events) = (s.kind, s.contacts, s.events);
    create(contacts.as_ref(), "auth0|u", &contact("c-1", "Alice")).await;
    let current = contacts
        .replace_contact(
            "auth0|u",
            "c-1",
            &fields("c-1", "Alicia"),
            "2026-02-01T00:00:00Z",
            Some(1),
        )
        .await
        .unwrap();
    // A second tab still holding version 1.
    let stale = contacts
        .replace_contact(
            "auth0|u",
            "c-1",
            &fields("c-1", "Ally"),
            "2026-02-02T00:00:00Z",
            Some(1),
        )
        .await;
    match stale {
        Err(WriteError::Stale { current: got }) => assert_eq!(*got, current, "{kind}"),
        other => panic!("{kind}: expected Stale, got {other:?}"),
    }
    // A version from the future is as stale as one from the past.
    let future = contacts
        .replace_contact(
            "auth0|u",
            "c-1",
            &fields("c-1", "Ally"),
            "2026-02-02T00:00:00Z",
            Some(9),
        )
        .await;
    assert!(
        matches!(future, Err(WriteError::Stale { .. })),
        "{kind}: {future:?}"
    );
    assert_eq!(
        contacts.get_contact("auth0|u", "c-1").await.unwrap(),
        Some(current),
        "{kind}: nothing changed"
    );
    assert_eq!(
        contact_names(contacts.as_ref(), "auth0|u").await,
        ["Alicia"],
        "{kind}"
    );

    let created = events
        .create_event("auth0|u", &event("e-1", "2026-03-01T09:00:00Z"), None)
        .await
        .unwrap();
    let current = events
        .replace_event(
            "auth0|u",
            "e-1",
            &event_fields("e-1", "2026-03-05T09:00:00Z"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(current.version, 2, "{kind}");
    let stale = events
        .replace_event(
            "auth0|u",
            "e-1",
            &event_fields("e-1", "2026-03-09T09:00:00Z"),
            Some(created.version),
        )
        .await;
    match stale {
        Err(WriteError::Stale { current: got }) => assert_eq!(*got, current, "{kind}"),
        other => panic!("{kind}: expected Stale, got {other:?}"),
    }
    assert_eq!(
        events.get_event("auth0|u", "e-1").await.unwrap(),
        Some(current),
        "{kind}"
    );
}

async fn missing_and_other_users_ids_are_not_found(s: Stores) {
    let (kind, contacts, events) = (s.kind, s.contacts, s.events);
    let bobs = create(contacts.as_ref(), "auth0|bob", &contact("c-bob", "Bob")).await;
    // Alice holds an item too, so her counter exists.
    create(contacts.as_ref(), "auth0|alice", &contact("c-1", "Alice")).await;
    for id in ["c-404", "c-bob", "#count", "#idem#00", ""] {
        for if_version in [None, Some(1)] {
            let replaced = contacts
                .replace_contact(
                    "auth0|alice",
                    id,
                    &fields(id, "Mallory"),
                    "2026-02-01T00:00:00Z",
                    if_version,
                )
                .await;
            assert!(
                matches!(replaced, Err(WriteError::NotFound)),
                "{kind} {id:?} {if_version:?}: {replaced:?}"
            );
            let deleted = contacts.delete_contact("auth0|alice", id, if_version).await;
            assert!(
                matches!(deleted, Err(WriteError::NotFound)),
                "{kind} {id:?} {if_version:?}: {deleted:?}"
            );
        }
    }
    assert_eq!(
        contacts.get_contact("auth0|bob", "c-bob").await.unwrap(),
        Some(bobs),
        "{kind}: Bob's contact is untouched"
    );
    assert_eq!(
        contact_names(contacts.as_ref(), "auth0|alice").await,
        ["Alice"],
        "{kind}"
    );

    let bobs = events
        .create_event("auth0|bob", &event("e-bob", "2026-03-01T09:00:00Z"), None)
        .await
        .unwrap();
    for id in ["e-404", "e-bob", "#count"] {
        let replaced = events
            .replace_event(
                "auth0|alice",
                id,
                &event_fields(id, "2026-03-01T09:00:00Z"),
                None,
            )
            .await;
        assert!(
            matches!(replaced, Err(WriteError::NotFound)),
            "{kind} {id}: {replaced:?}"
        );
        let deleted = events.delete_event("auth0|alice", id, Some(1)).await;
        assert!(
            matches!(deleted, Err(WriteError::NotFound)),
            "{kind} {id}: {deleted:?}"
        );
    }
    assert_eq!(
        events.get_event("auth0|bob", "e-bob").await.unwrap(),
        Some(bobs),
        "{kind}"
    );
}

async fn delete_removes_and_a_stale_delete_is_refused(s: Stores) {
    let (kind, contacts, events) = (s.kind, s.contacts, s.events);
    create(contacts.as_ref(), "auth0|u", &contact("c-1", "Alice")).await;
    create(contacts.as_ref(), "auth0|u", &contact("c-2", "Bob")).await;
    let current = contacts
        .replace_contact(
            "auth0|u",
            "c-1",
            &fields("c-1", "Alicia"),
            "2026-02-01T00:00:00Z",
            None,
        )
        .await
        .unwrap();
    let stale = contacts.delete_contact("auth0|u", "c-1", Some(1)).await;
    match stale {
        Err(WriteError::Stale { current: got }) => assert_eq!(*got, current, "{kind}"),
        other => panic!("{kind}: expected Stale, got {other:?}"),
    }
    assert_eq!(
        contacts.get_contact("auth0|u", "c-1").await.unwrap(),
        Some(current),
        "{kind}: still there"
    );
    contacts
        .delete_contact("auth0|u", "c-1", Some(2))
        .await
        .unwrap();
    assert_eq!(
        contacts.get_contact("auth0|u", "c-1").await.unwrap(),
        None,
        "{kind}"
    );
    contacts
        .delete_contact("auth0|u", "c-2", None)
        .await
        .unwrap();
    assert_eq!(
        contacts.get_contact("auth0|u", "c-2").await.unwrap(),
        None,
        "{kind}"
    );
    assert!(
        contact_names(contacts.as_ref(), "auth0|u").await.is_empty(),
        "{kind}"
    );
    let again = contacts.delete_contact("auth0|u", "c-1", None).await;
    assert!(
        matches!(again, Err(WriteError::NotFound)),
        "{kind}: {again:?}"
    );
    // The id is free again.
    let back = create(contacts.as_ref(), "auth0|u", &contact("c-1", "Alice")).await;
    assert_eq!(back.version, 1, "{kind}");

    events
        .create_event("auth0|u", &event("e-1", "2026-03-01T09:00:00Z"), None)
        .await
        .unwrap();
    let stale = events.delete_event("auth0|u", "e-1", Some(7)).await;
    match stale {
        Err(WriteError::Stale { current }) => assert_eq!(current.version, 1, "{kind}"),
        other => panic!("{kind}: expected Stale, got {other:?}"),
    }
    events
        .delete_event("auth0|u", "e-1", Some(1))
        .await
        .unwrap();
    assert_eq!(
        events.get_event("auth0|u", "e-1").await.unwrap(),
        None,
        "{kind}"
    );
    assert!(
        event_ids(events.as_ref(), "auth0|u").await.is_empty(),
        "{kind}"
    );
}

/// Launches `n` creates at once, `make(i)` the i-th; returns how many succeeded and the
/// failures.
async fn concurrently<T, F, Fut>(n: usize, make: F) -> (usize, Vec<WriteError<T>>)
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Stored<T>, WriteError<T>>> + Send + 'static,
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

async fn concurrent_creates_never_overshoot_the_quota(s: Stores) {
    const QUOTA: u32 = 12;
    let kind = s.kind;
    let (contacts, events) = s.with_quota(QUOTA, QUOTA);
    let owner = "auth0|busy";
    fill_contacts(contacts.as_ref(), owner, "c", "Filler", QUOTA - 5).await;
    fill_events(events.as_ref(), owner, "e", QUOTA - 5).await;
    // Someone else's data does not count against this user.
    create(contacts.as_ref(), "auth0|other", &contact("c-x", "Other")).await;

    let store = contacts.clone();
    let (created, failures) = concurrently(20, move |i| {
        let store = store.clone();
        async move {
            store
                .create_contact(owner, &contact(&format!("c-new-{i}"), "New"), None)
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
        contact_names(contacts.as_ref(), owner).await.len(),
        QUOTA as usize,
        "{kind}"
    );

    let store = events.clone();
    let (created, failures) = concurrently(20, move |i| {
        let store = store.clone();
        async move {
            store
                .create_event(
                    owner,
                    &event(&format!("e-new-{i}"), "2026-03-02T09:00:00Z"),
                    None,
                )
                .await
        }
    })
    .await;
    assert_eq!(created, 5, "{kind}: {failures:?}");
    assert!(
        failures
            .iter()
            .all(|f| matches!(f, WriteError::QuotaExceeded { limit: QUOTA })),
        "{kind}: {failures:?}"
    );
    assert_eq!(
        event_ids(events.as_ref(), owner).await.len(),
        QUOTA as usize,
        "{kind}"
    );
}

/// How many of these racing deletes went through; every other one must have found nothing.
async fn deletes_that_won<T: std::fmt::Debug>(
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
async fn concurrent_writes_to_one_item_let_exactly_one_through(s: Stores) {
    const QUOTA: u32 = 3;
    let kind = s.kind;
    let (contacts, events) = s.with_quota(QUOTA, QUOTA);
    let owner = "auth0|racing";
    fill_contacts(contacts.as_ref(), owner, "c", "Filler", QUOTA).await;

    // Twenty replaces of c-1, all from version 1.
    let store = contacts.clone();
    let (replaced, failures) = concurrently(20, move |i| {
        let store = store.clone();
        async move {
            store
                .replace_contact(
                    owner,
                    "c-1",
                    &fields("c-1", &format!("Tab {i}")),
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
    let winner = contacts.get_contact(owner, "c-1").await.unwrap().unwrap();
    assert_eq!(winner.version, 2, "{kind}");

    // Twenty deletes of c-0, with and without If-Match.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = contacts.clone();
            tokio::spawn(async move {
                let if_version = (i % 2 == 0).then_some(1);
                store.delete_contact(owner, "c-0", if_version).await
            })
        })
        .collect();
    assert_eq!(deletes_that_won(kind, tasks).await, 1, "{kind}");
    // Exactly one place came back.
    create(contacts.as_ref(), owner, &contact("c-3", "One more")).await;
    let full = contacts
        .create_contact(owner, &contact("c-4", "Too many"), None)
        .await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { limit: QUOTA })),
        "{kind}: {full:?}"
    );
    assert_eq!(
        contact_names(contacts.as_ref(), owner).await.len(),
        QUOTA as usize,
        "{kind}"
    );

    // The same for events.
    fill_events(events.as_ref(), owner, "e", QUOTA).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = events.clone();
            tokio::spawn(async move { store.delete_event(owner, "e-0", None).await })
        })
        .collect();
    assert_eq!(deletes_that_won(kind, tasks).await, 1, "{kind}");
    events
        .create_event(owner, &event("e-3", "2026-03-01T09:00:00Z"), None)
        .await
        .unwrap();
    let full = events
        .create_event(owner, &event("e-4", "2026-03-01T09:00:00Z"), None)
        .await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { limit: QUOTA })),
        "{kind}: {full:?}"
    );
}

async fn deleting_gives_room_back(s: Stores) {
    let kind = s.kind;
    let (contacts, events) = s.with_quota(3, 2);
    let owner = "auth0|full";
    fill_contacts(contacts.as_ref(), owner, "c", "Filler", 3).await;
    let full = contacts
        .create_contact(owner, &contact("c-3", "One more"), None)
        .await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { limit: 3 })),
        "{kind}: {full:?}"
    );
    // Refused deletes give nothing back.
    assert!(contacts.delete_contact(owner, "c-404", None).await.is_err());
    assert!(
        contacts
            .delete_contact(owner, "c-0", Some(5))
            .await
            .is_err()
    );
    let still_full = contacts
        .create_contact(owner, &contact("c-3", "One more"), None)
        .await;
    assert!(
        matches!(still_full, Err(WriteError::QuotaExceeded { .. })),
        "{kind}: {still_full:?}"
    );
    // Replaces take no room.
    contacts
        .replace_contact(
            owner,
            "c-1",
            &fields("c-1", "Renamed"),
            "2026-02-01T00:00:00Z",
            None,
        )
        .await
        .unwrap();
    contacts.delete_contact(owner, "c-0", None).await.unwrap();
    create(contacts.as_ref(), owner, &contact("c-3", "One more")).await;
    let full = contacts
        .create_contact(owner, &contact("c-4", "Too many"), None)
        .await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { limit: 3 })),
        "{kind}: {full:?}"
    );
    assert_eq!(
        contact_names(contacts.as_ref(), owner).await.len(),
        3,
        "{kind}"
    );

    fill_events(events.as_ref(), owner, "e", 2).await;
    let full = events
        .create_event(owner, &event("e-2", "2026-03-01T09:00:00Z"), None)
        .await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { limit: 2 })),
        "{kind}: {full:?}"
    );
    events.delete_event(owner, "e-1", Some(1)).await.unwrap();
    events
        .create_event(owner, &event("e-2", "2026-03-01T09:00:00Z"), None)
        .await
        .unwrap();
    assert_eq!(
        event_ids(events.as_ref(), owner).await,
        ["e-0", "e-2"],
        "{kind}"
    );
}

async fn an_idempotency_key_creates_once(s: Stores) {
    let (kind, contacts, events) = (s.kind, s.contacts, s.events);
    let owner = "auth0|u";
    let first = live("k1", "c-1");
    assert_eq!(
        contacts
            .idempotency_record(owner, &first.key_hash)
            .await
            .unwrap(),
        None
    );
    let created = contacts
        .create_contact(owner, &contact("c-1", "Alice"), Some(&first))
        .await
        .unwrap();
    assert_eq!(created.version, 1, "{kind}");
    assert_eq!(
        contacts
            .idempotency_record(owner, &first.key_hash)
            .await
            .unwrap(),
        Some(first.clone()),
        "{kind}"
    );
    // The retry: the same key, a new id (the handler makes one per request).
    let retry = contacts
        .create_contact(owner, &contact("c-2", "Alice"), Some(&live("k1", "c-2")))
        .await;
    match retry {
        Err(WriteError::IdempotencyKeyUsed(record)) => assert_eq!(*record, first, "{kind}"),
        other => panic!("{kind}: expected IdempotencyKeyUsed, got {other:?}"),
    }
    // The key wins over every other refusal: even the first request's own id.
    let same_id = contacts
        .create_contact(owner, &contact("c-1", "Alice"), Some(&live("k1", "c-1")))
        .await;
    assert!(
        matches!(same_id, Err(WriteError::IdempotencyKeyUsed(_))),
        "{kind}: {same_id:?}"
    );
    assert_eq!(
        contacts.get_contact(owner, "c-2").await.unwrap(),
        None,
        "{kind}"
    );
    // Only the one item, and neither the record nor the counter shows in the listing.
    assert_eq!(
        contact_names(contacts.as_ref(), owner).await,
        ["Alice"],
        "{kind}"
    );
    // Another key is another request.
    create_with(contacts.as_ref(), owner, "c-3", &live("k2", "c-3")).await;
    assert_eq!(
        contact_names(contacts.as_ref(), owner).await.len(),
        2,
        "{kind}"
    );
    // A create refused for another reason writes no record.
    let exists = contacts
        .create_contact(owner, &contact("c-3", "Dup"), Some(&live("k3", "c-3")))
        .await;
    assert!(
        matches!(exists, Err(WriteError::Exists)),
        "{kind}: {exists:?}"
    );
    assert_eq!(
        contacts
            .idempotency_record(owner, &live("k3", "c-3").key_hash)
            .await
            .unwrap(),
        None,
        "{kind}"
    );

    let first = live("k1", "e-1");
    events
        .create_event(owner, &event("e-1", "2026-03-01T09:00:00Z"), Some(&first))
        .await
        .unwrap();
    let retry = events
        .create_event(
            owner,
            &event("e-2", "2026-03-01T09:00:00Z"),
            Some(&live("k1", "e-2")),
        )
        .await;
    match retry {
        Err(WriteError::IdempotencyKeyUsed(record)) => assert_eq!(*record, first, "{kind}"),
        other => panic!("{kind}: expected IdempotencyKeyUsed, got {other:?}"),
    }
    assert_eq!(event_ids(events.as_ref(), owner).await, ["e-1"], "{kind}");
    assert_eq!(
        events
            .idempotency_record(owner, &first.key_hash)
            .await
            .unwrap(),
        Some(first),
        "{kind}"
    );
}

async fn create_with(
    store: &dyn ContactStore,
    owner: &str,
    id: &str,
    record: &IdempotencyRecord,
) -> Stored<Contact> {
    store
        .create_contact(owner, &contact(id, "Someone"), Some(record))
        .await
        .unwrap()
}

async fn concurrent_creates_with_one_key_create_one_item(s: Stores) {
    let (kind, contacts) = (s.kind, s.contacts);
    let owner = "auth0|eager";
    let store = contacts.clone();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = format!("c-{i}");
                let record = live("same", &id);
                let result = store
                    .create_contact(owner, &contact(&id, "Eager"), Some(&record))
                    .await;
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
    assert_eq!(
        contact_names(contacts.as_ref(), owner).await.len(),
        1,
        "{kind}"
    );
    assert_eq!(
        contacts
            .idempotency_record(owner, &winners[0].key_hash)
            .await
            .unwrap(),
        Some(winners[0].clone()),
        "{kind}"
    );
}

async fn expired_records_are_absent_and_overwritten(s: Stores) {
    let (kind, contacts, events) = (s.kind, s.contacts, s.events);
    let owner = "auth0|u";
    let old = record("k1", "c-1", epoch_now() - 10);
    create_with(contacts.as_ref(), owner, "c-1", &old).await;
    // TTL has not deleted it (it may take days): the store still says it is gone.
    assert_eq!(
        contacts
            .idempotency_record(owner, &old.key_hash)
            .await
            .unwrap(),
        None,
        "{kind}"
    );
    let new = live("k1", "c-2");
    create_with(contacts.as_ref(), owner, "c-2", &new).await;
    assert_eq!(
        contacts
            .idempotency_record(owner, &new.key_hash)
            .await
            .unwrap(),
        Some(new.clone()),
        "{kind}: the new record replaced the expired one"
    );
    let retry = contacts
        .create_contact(owner, &contact("c-3", "Retry"), Some(&live("k1", "c-3")))
        .await;
    match retry {
        Err(WriteError::IdempotencyKeyUsed(record)) => assert_eq!(*record, new, "{kind}"),
        other => panic!("{kind}: expected IdempotencyKeyUsed, got {other:?}"),
    }
    assert_eq!(
        contact_names(contacts.as_ref(), owner).await.len(),
        2,
        "{kind}"
    );

    let old = record("k1", "e-1", epoch_now() - 1);
    events
        .create_event(owner, &event("e-1", "2026-03-01T09:00:00Z"), Some(&old))
        .await
        .unwrap();
    assert_eq!(
        events
            .idempotency_record(owner, &old.key_hash)
            .await
            .unwrap(),
        None,
        "{kind}"
    );
    events
        .create_event(
            owner,
            &event("e-2", "2026-03-01T09:00:00Z"),
            Some(&live("k1", "e-2")),
        )
        .await
        .unwrap();
    assert_eq!(
        event_ids(events.as_ref(), owner).await,
        ["e-1", "e-2"],
        "{kind}"
    );
}

async fn idempotency_records_are_per_owner(s: Stores) {
    let (kind, contacts, events) = (s.kind, s.contacts, s.events);
    let alices = live("shared", "c-a");
    let bobs = live("shared", "c-b");
    assert_eq!(alices.key_hash, bobs.key_hash);
    create_with(contacts.as_ref(), "auth0|alice", "c-a", &alices).await;
    create_with(contacts.as_ref(), "auth0|bob", "c-b", &bobs).await;
    assert_eq!(
        contacts
            .idempotency_record("auth0|alice", &alices.key_hash)
            .await
            .unwrap(),
        Some(alices.clone()),
        "{kind}"
    );
    assert_eq!(
        contacts
            .idempotency_record("auth0|bob", &bobs.key_hash)
            .await
            .unwrap(),
        Some(bobs),
        "{kind}"
    );
    assert_eq!(
        contacts
            .idempotency_record("auth0|carol", &alices.key_hash)
            .await
            .unwrap(),
        None,
        "{kind}"
    );
    // Each service keeps its own: the same key is new to the calendar.
    assert_eq!(
        events
            .idempotency_record("auth0|alice", &alices.key_hash)
            .await
            .unwrap(),
        None,
        "{kind}"
    );
    events
        .create_event(
            "auth0|alice",
            &event("e-a", "2026-03-01T09:00:00Z"),
            Some(&alices),
        )
        .await
        .unwrap();
}

async fn seeding_twice_keeps_the_counter_right(s: Stores) {
    let kind = s.kind;
    let owner = "auth0|seeded";
    let (sample_contacts, sample_events) =
        (sample::contacts(owner).len(), sample::events(owner).len());
    let contact_quota = u32::try_from(sample_contacts).unwrap() + 3;
    let event_quota = u32::try_from(sample_events).unwrap() + 2;
    let (contacts, events) = s.with_quota(contact_quota, event_quota);
    let seeded = sample::seed(owner, contacts.as_ref(), events.as_ref())
        .await
        .unwrap();
    assert_eq!(seeded, (sample_contacts, sample_events), "{kind}");
    let again = sample::seed(owner, contacts.as_ref(), events.as_ref())
        .await
        .unwrap();
    assert_eq!(again, (0, 0), "{kind}");
    fill_contacts(contacts.as_ref(), owner, "c-mine", "Mine", 3).await;
    let full = contacts
        .create_contact(owner, &contact("c-mine-3", "Mine"), None)
        .await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { .. })),
        "{kind}: {full:?}"
    );
    fill_events(events.as_ref(), owner, "e-mine", 2).await;
    let full = events
        .create_event(owner, &event("e-mine-2", "2026-03-01T09:00:00Z"), None)
        .await;
    assert!(
        matches!(full, Err(WriteError::QuotaExceeded { .. })),
        "{kind}: {full:?}"
    );
    // Seeding a full account adds nothing and fails nothing.
    contacts
        .delete_contact(owner, &sample::contacts(owner)[0].id, None)
        .await
        .unwrap();
    create(contacts.as_ref(), owner, &contact("c-mine-3", "Mine")).await;
    let seeded = sample::seed(owner, contacts.as_ref(), events.as_ref())
        .await
        .unwrap();
    assert_eq!(seeded, (0, 0), "{kind}");
    assert_eq!(
        contact_names(contacts.as_ref(), owner).await.len(),
        contact_quota as usize,
        "{kind}"
    );
}
