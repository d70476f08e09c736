//! The store contract (`organizer_shared::contract`) for calendar events, in memory and on
//! DynamoDB Local, and the calendar's own listing: by start, within a `[from, to)` window.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use calendar::{Event, EventFields};
use organizer_shared::contract::{self, Stores};
use organizer_shared::store::{Item, KeyRange, PageRequest};

organizer_shared::store_contract!(calendar::Event);

fn event(id: &str, start: &str) -> Event {
    Event::new(
        id.into(),
        EventFields {
            title: format!("Meeting {id}"),
            start: start.into(),
            end: start.into(),
            ..EventFields::default()
        },
        contract::CREATED,
    )
}

fn range(from: Option<&str>, to: Option<&str>) -> KeyRange {
    KeyRange {
        from: from.map(String::from),
        to: to.map(String::from),
    }
}

async fn ids(s: &Stores<Event>, range: &KeyRange, limit: usize) -> Vec<String> {
    let (items, _) = contract::all(s.store.as_ref(), "auth0|u", range, limit).await;
    items.into_iter().map(|e| e.id).collect()
}

async fn events_are_listed_by_start_within_the_window(s: Stores<Event>) {
    let kind = s.kind;
    let starts = [
        ("e-a", "2026-11-20T09:00:00Z"),
        ("e-b", "2026-11-21T09:00:00Z"),
        ("e-c", "2026-11-21T09:00:00Z"),
        ("e-d", "2026-11-22T00:00:00Z"),
        ("e-e", "2026-11-23T15:30:00Z"),
    ];
    for (id, start) in starts.iter().rev() {
        contract::create(s.store.as_ref(), "auth0|u", &event(id, start)).await;
    }
    let other = event("e-x", "2026-11-21T10:00:00Z");
    contract::create(s.store.as_ref(), "auth0|other", &other).await;
    for limit in [1, 2, 10] {
        let all = ids(&s, &range(None, None), limit).await;
        assert_eq!(all, ["e-a", "e-b", "e-c", "e-d", "e-e"], "{kind} {limit}");
        // [from, to): inclusive start, exclusive end.
        let window = range(Some("2026-11-21T09:00:00Z"), Some("2026-11-22T00:00:00Z"));
        assert_eq!(
            ids(&s, &window, limit).await,
            ["e-b", "e-c"],
            "{kind} {limit}"
        );
        let from = range(Some("2026-11-22T00:00:00Z"), None);
        assert_eq!(
            ids(&s, &from, limit).await,
            ["e-d", "e-e"],
            "{kind} {limit}"
        );
        let to = range(None, Some("2026-11-21T09:00:00Z"));
        assert_eq!(ids(&s, &to, limit).await, ["e-a"], "{kind} {limit}");
    }
    let empty = range(Some("2026-11-22T00:00:00Z"), Some("2026-11-22T00:00:00Z"));
    assert!(ids(&s, &empty, 5).await.is_empty(), "{kind}");
    // A position from a wider listing used with a narrower window still stays in the window.
    let page = s
        .store
        .list(
            "auth0|u",
            &range(Some("2026-11-22T00:00:00Z"), None),
            &PageRequest {
                limit: 10,
                after: Some("2026-11-20T09:00:00Z#e-a".into()),
            },
        )
        .await
        .unwrap();
    let listed: Vec<&str> = page.items.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(listed, ["e-d", "e-e"], "{kind}");
    let got = s.store.get("auth0|u", "e-c").await.unwrap().unwrap();
    assert_eq!(got.item, event("e-c", "2026-11-21T09:00:00Z"), "{kind}");
    assert_eq!(s.store.get("auth0|u", "e-x").await.unwrap(), None, "{kind}");
    assert_eq!(
        s.store.get("auth0|other", "e-a").await.unwrap(),
        None,
        "{kind}"
    );
}

mod own {
    use super::*;

    #[tokio::test]
    async fn memory_events_are_listed_by_start_within_the_window() {
        events_are_listed_by_start_within_the_window(contract::memory()).await
    }

    #[tokio::test]
    async fn dynamodb_events_are_listed_by_start_within_the_window() {
        events_are_listed_by_start_within_the_window(contract::dynamodb().await).await
    }
}
