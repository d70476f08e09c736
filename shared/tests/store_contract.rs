//! One contract, two stores: every contract function runs as `memory::<name>` on the
//! in-memory store and as `dynamodb::<name>` on DynamoDB Local.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::sync::Arc;

use organizer_shared::store::dynamo::{self, DynamoContactStore, DynamoEventStore, TableSpec};
use organizer_shared::store::memory::{MemoryContactStore, MemoryEventStore};
use organizer_shared::store::model::{Contact, ContactFields, Event, EventFields};
use organizer_shared::store::{ContactStore, EventStore, PageRequest, TimeRange, sample};

/// The stores one contract test runs on.
struct Stores {
    kind: &'static str,
    contacts: Arc<dyn ContactStore>,
    events: Arc<dyn EventStore>,
}

fn memory() -> Stores {
    Stores {
        kind: "memory",
        contacts: Arc::new(MemoryContactStore::default()),
        events: Arc::new(MemoryEventStore::default()),
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
    Stores {
        kind: "dynamodb",
        contacts: Arc::new(DynamoContactStore::new(client.clone(), contacts)),
        events: Arc::new(DynamoEventStore::new(client, calendar)),
    }
}

/// Each contract function becomes two tests: `memory::<name>` and `dynamodb::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::memory()).await
            })*
        }
        mod dynamodb {
            $(#[tokio::test]
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
);

fn contact(id: &str, name: &str) -> Contact {
    Contact {
        id: id.into(),
        fields: ContactFields {
            name: name.into(),
            email: format!("{id}@example.com"),
            phone: "+1 555 0100".into(),
            company: "Example".into(),
        },
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-02T00:00:00Z".into(),
    }
}

fn event(id: &str, start: &str) -> Event {
    Event {
        id: id.into(),
        fields: EventFields {
            title: format!("Event {id}"),
            start: start.into(),
            end: start.replace("T0", "T1"),
            location: "Room 1".into(),
            attendees: vec!["Ada".into(), "Grace".into()],
        },
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

async fn contacts_round_trip_and_stay_with_their_owner(s: Stores) {
    let (kind, store) = (s.kind, s.contacts);
    let alice = contact("c-1", "Alice");
    store.put_contact("auth0|alice", &alice).await.unwrap();
    store
        .put_contact("auth0|bob", &contact("c-2", "Bob"))
        .await
        .unwrap();
    assert_eq!(
        store.get_contact("auth0|alice", "c-1").await.unwrap(),
        Some(alice.clone()),
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
    let page = store
        .list_contacts("auth0|alice", &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items, vec![alice.clone()], "{kind}");
    assert_eq!(page.next_after, None, "{kind}");
    // Replacing a contact with a new name moves it in the listing, without a duplicate.
    let renamed = Contact {
        fields: ContactFields {
            name: "Zoe".into(),
            ..alice.fields.clone()
        },
        ..alice
    };
    store.put_contact("auth0|alice", &renamed).await.unwrap();
    store
        .put_contact("auth0|alice", &contact("c-3", "mallory"))
        .await
        .unwrap();
    let (names, _) = all_contacts(store.as_ref(), "auth0|alice", 10).await;
    assert_eq!(names, ["mallory", "Zoe"], "{kind}");
}

async fn contacts_are_listed_by_name_in_pages(s: Stores) {
    let (kind, store) = (s.kind, s.contacts);
    let names = ["bob", "Alice", "carol", "Ann Smith", "ann", "Dave", "eve"];
    for (i, name) in names.iter().enumerate() {
        store
            .put_contact("auth0|u", &contact(&format!("c-{i}"), name))
            .await
            .unwrap();
    }
    store
        .put_contact("auth0|other", &contact("c-x", "Aaron"))
        .await
        .unwrap();
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
        store.put_event("auth0|u", &event(id, start)).await.unwrap();
    }
    store
        .put_event("auth0|other", &event("e-x", "2026-11-21T10:00:00Z"))
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
    assert_eq!(got, event("e-c", "2026-11-21T09:00:00Z"), "{kind}");
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
    assert_eq!(first, second);
    let (names, _) = all_contacts(c.as_ref(), "auth0|demo", 100).await;
    assert_eq!(names.len(), first.0, "{kind}: seeding twice adds nothing");
    let ids = all_events(e.as_ref(), "auth0|demo", &TimeRange::default(), 100).await;
    assert_eq!(ids.len(), first.1, "{kind}");
    assert!(first.0 >= 10 && first.1 >= 20, "{kind}: {first:?}");
}
