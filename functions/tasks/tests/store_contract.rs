//! The store contract (`organizer_shared::contract`) for tasks, in memory and on DynamoDB
//! Local, and the tasks' own listing: the status prefixes, and a due date taken away by a
//! replace (an optional field absent from the new fields is removed from the stored item).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use organizer_shared::contract::{self, Stores};
use organizer_shared::service::Rules;
use organizer_shared::store::{Item, KeyRange};
use tasks::{Task, TaskFields};

organizer_shared::store_contract!(tasks::Task);

fn task(id: &str, due: Option<&str>, done: bool) -> Task {
    Task::new(
        id.into(),
        TaskFields {
            title: format!("task {id}"),
            due: due.map(String::from),
            done,
            ..TaskFields::default()
        },
        contract::CREATED,
    )
}

fn status(value: &str) -> KeyRange {
    let request = http::Request::builder()
        .uri(format!("https://x/tasks?status={value}"))
        .body(lambda_http::Body::Empty)
        .unwrap();
    let query = organizer_shared::api::Query::parse(&request).unwrap();
    Task::range(&query).unwrap()
}

async fn ids(s: &Stores<Task>, range: &KeyRange, limit: usize) -> Vec<String> {
    let (items, _) = contract::all(s.store.as_ref(), "auth0|u", range, limit).await;
    items.into_iter().map(|t| t.id).collect()
}

async fn tasks_are_listed_by_status_then_due_date(s: Stores<Task>) {
    let kind = s.kind;
    for t in [
        task("t-0003", Some("2026-12-07"), false),
        task("t-0001", None, false),
        task("t-0002", Some("2026-12-07"), false),
        task("t-0004", Some("2026-11-01"), true),
        task("t-0005", None, true),
    ] {
        contract::create(s.store.as_ref(), "auth0|u", &t).await;
    }
    contract::create(
        s.store.as_ref(),
        "auth0|other",
        &task("t-0009", None, false),
    )
    .await;
    for limit in [1, 2, 10] {
        assert_eq!(
            ids(&s, &status("open"), limit).await,
            ["t-0002", "t-0003", "t-0001"],
            "{kind}"
        );
        assert_eq!(
            ids(&s, &status("done"), limit).await,
            ["t-0004", "t-0005"],
            "{kind}"
        );
        assert_eq!(
            ids(&s, &status("all"), limit).await,
            ["t-0002", "t-0003", "t-0001", "t-0004", "t-0005"],
            "{kind}"
        );
    }
}

async fn a_due_date_taken_away_is_gone(s: Stores<Task>) {
    let kind = s.kind;
    let stored = contract::create(
        s.store.as_ref(),
        "auth0|u",
        &task("t-1", Some("2026-12-07"), false),
    )
    .await;
    let undated = TaskFields {
        title: "no date".into(),
        ..TaskFields::default()
    };
    let replaced = s
        .store
        .replace(
            "auth0|u",
            "t-1",
            &undated,
            "2026-01-02T00:00:00Z",
            Some(stored.version),
        )
        .await
        .unwrap();
    assert_eq!(replaced.item.fields.due, None, "{kind}");
    let read = s.store.get("auth0|u", "t-1").await.unwrap().unwrap();
    assert_eq!(read.item.fields, undated, "{kind}");
    assert_eq!(read.item.created_at, contract::CREATED, "{kind}");
    assert_eq!(read.item.updated_at, "2026-01-02T00:00:00Z", "{kind}");
}

mod own {
    use super::*;

    #[tokio::test]
    async fn memory_tasks_are_listed_by_status_then_due_date() {
        tasks_are_listed_by_status_then_due_date(contract::memory()).await
    }

    #[tokio::test]
    async fn dynamodb_tasks_are_listed_by_status_then_due_date() {
        tasks_are_listed_by_status_then_due_date(contract::dynamodb().await).await
    }

    #[tokio::test]
    async fn memory_a_due_date_taken_away_is_gone() {
        a_due_date_taken_away_is_gone(contract::memory()).await
    }

    #[tokio::test]
    async fn dynamodb_a_due_date_taken_away_is_gone() {
        a_due_date_taken_away_is_gone(contract::dynamodb().await).await
    }
}
