//! The store contract (`organizer_shared::contract`) for contacts, in memory and on DynamoDB
//! Local, and the contacts' own listing order: by name, case-insensitively, in pages.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use contacts::{Contact, ContactFields, NAME_KEY_BYTES};
use organizer_shared::contract::{self, Stores};
use organizer_shared::store::{Item, KeyRange, PageRequest};

organizer_shared::store_contract!(contacts::Contact);

fn contact(id: &str, name: &str) -> Contact {
    Contact::new(
        id.into(),
        ContactFields {
            name: name.into(),
            email: format!("{id}@example.com"),
            ..ContactFields::default()
        },
        contract::CREATED,
    )
}

async fn names(s: &Stores<Contact>, owner: &str, limit: usize) -> (Vec<String>, usize) {
    let (items, pages) = contract::all(s.store.as_ref(), owner, &KeyRange::default(), limit).await;
    (items.into_iter().map(|c| c.fields.name).collect(), pages)
}

async fn contacts_are_listed_by_name_in_pages(s: Stores<Contact>) {
    let names_in = ["bob", "Alice", "carol", "Ann Smith", "ann", "Dave", "eve"];
    for (i, name) in names_in.iter().enumerate() {
        contract::create(
            s.store.as_ref(),
            "auth0|u",
            &contact(&format!("c-{i}"), name),
        )
        .await;
    }
    contract::create(s.store.as_ref(), "auth0|other", &contact("c-x", "Aaron")).await;
    let expected = ["Alice", "ann", "Ann Smith", "bob", "carol", "Dave", "eve"];
    for limit in [1, 2, 3, 7, 50] {
        let (listed, pages) = names(&s, "auth0|u", limit).await;
        assert_eq!(listed, expected, "{} limit {limit}", s.kind);
        assert_eq!(
            pages,
            expected.len().div_ceil(limit).max(1),
            "{} limit {limit}: no empty last page",
            s.kind
        );
    }
    let empty = s
        .store
        .list(
            "auth0|nobody",
            &KeyRange::default(),
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert!(
        empty.items.is_empty() && empty.next_after.is_none(),
        "{}",
        s.kind
    );
}

/// Names as long as the API allows (200 characters) in scripts whose lower case takes 3 or 4
/// bytes a character still page: the sort key keeps the name's first bytes, so every cursor
/// fits, and names that share them are ordered by id.
async fn the_longest_names_in_any_script_page(s: Stores<Contact>) {
    let long = |c: char| std::iter::repeat_n(c, 200).collect::<String>();
    let names_in = [
        long('漢'),
        long('𝔄'),
        long('İ'),
        long('a'),
        format!("{}x", long('漢')),
    ];
    for (i, name) in names_in.iter().enumerate() {
        contract::create(
            s.store.as_ref(),
            "auth0|u",
            &contact(&format!("c-{i}"), name),
        )
        .await;
        let key = contact(&format!("c-{i}"), name).sort_key();
        assert!(Contact::is_sort_key(&key), "{}: {key}", s.kind);
        assert!(
            key.len() <= NAME_KEY_BYTES + 64,
            "{}: {} bytes",
            s.kind,
            key.len()
        );
    }
    let (one_by_one, pages) = names(&s, "auth0|u", 1).await;
    assert_eq!(pages, names_in.len(), "{}", s.kind);
    let (at_once, _) = names(&s, "auth0|u", 50).await;
    assert_eq!(one_by_one, at_once, "{}", s.kind);
}

mod own {
    use super::*;

    #[tokio::test]
    async fn memory_contacts_are_listed_by_name_in_pages() {
        contacts_are_listed_by_name_in_pages(contract::memory()).await
    }

    #[tokio::test]
    async fn dynamodb_contacts_are_listed_by_name_in_pages() {
        contacts_are_listed_by_name_in_pages(contract::dynamodb().await).await
    }

    #[tokio::test]
    async fn memory_the_longest_names_in_any_script_page() {
        the_longest_names_in_any_script_page(contract::memory()).await
    }

    #[tokio::test]
    async fn dynamodb_the_longest_names_in_any_script_page() {
        the_longest_names_in_any_script_page(contract::dynamodb().await).await
    }
}

/// A search reads the listing in batches and keeps the matches: over 250 contacts, every
/// seventh matching, pages of 10 list each match once, in name order, on either store.
async fn a_search_lists_every_match_once_in_order(s: Stores<Contact>) {
    use organizer_shared::api::Query;
    use organizer_shared::service::{Rules, list_matching};
    for i in 0..250 {
        let name = if i % 7 == 0 {
            format!("Match {i:03}")
        } else {
            format!("Other {i:03}")
        };
        contract::create(
            s.store.as_ref(),
            "auth0|u",
            &contact(&format!("c-{i:03}"), &name),
        )
        .await;
    }
    let request = http::Request::builder()
        .uri("https://x/contacts?q=MATCH")
        .body(lambda_http::Body::Empty)
        .unwrap();
    let filter = Contact::filter(&Query::parse(&request).unwrap())
        .unwrap()
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = list_matching(
            s.store.as_ref(),
            "auth0|u",
            &KeyRange::default(),
            PageRequest { limit: 10, after },
            &filter,
        )
        .await
        .unwrap();
        assert!(page.items.len() <= 10);
        seen.extend(page.items.into_iter().map(|c| c.fields.name));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (0..250)
        .filter(|i| i % 7 == 0)
        .map(|i| format!("Match {i:03}"))
        .collect();
    assert_eq!(seen, expected, "{}", s.kind);
}

mod search {
    use super::*;

    #[tokio::test]
    async fn memory_a_search_lists_every_match_once_in_order() {
        a_search_lists_every_match_once_in_order(contract::memory()).await
    }

    #[tokio::test]
    async fn dynamodb_a_search_lists_every_match_once_in_order() {
        a_search_lists_every_match_once_in_order(contract::dynamodb().await).await
    }
}
