//! The tasks microservice: a person's to-do list. Its routes, scopes, table, quota and fields
//! are its entry in the services manifest (`services.yaml`); the generic service of the shared
//! crate (`organizer_shared::service`) answers them. This crate brings what is the tasks' own:
//! the item type, its order (open before done, then by due date — undated last — then by
//! creation) and its `status` filter.
//!
//! `main.rs` is the Lambda function (`organizer_shared::service::run`); the local stack serves
//! the same item type with the same generic handler.

use chrono::{Duration, Utc};
use organizer_shared::ApiError;
use organizer_shared::api::Query;
use organizer_shared::service::Rules;
use organizer_shared::store::model::{is_valid_id, normalize_date, now_rfc3339};
use organizer_shared::store::sample::stable_id;
use organizer_shared::store::{Item, KeyRange, MAX_SORT_KEY_BYTES, spec};
use serde::{Deserialize, Serialize};

/// What stands for "no due date" in the sort key: after every date, so undated tasks come
/// last among open (or done) ones.
pub const NO_DUE_DATE: &str = "~";

/// The `status` filter's values; `open` when absent.
pub const STATUSES: [&str; 3] = ["open", "done", "all"];

/// The editable fields of a task: all a `POST` or `PUT` body may set, validated by their
/// manifest types (`due`: a date, `YYYY-MM-DD`, or absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskFields {
    pub title: String,
    pub notes: String,
    pub due: Option<String>,
    pub done: bool,
}

/// A task: its id, its editable fields (flattened) and when it was created and last replaced:
/// `{"id","title","notes","due","done","created_at","updated_at"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    #[serde(flatten)]
    pub fields: TaskFields,
    /// RFC 3339, UTC. Set once, by the create.
    #[serde(default)]
    pub created_at: String,
    /// RFC 3339, UTC. Set by the create and by every replace.
    #[serde(default)]
    pub updated_at: String,
}

/// The sort-key prefixes of open and done tasks: open ones first when both are listed.
pub const OPEN: &str = "1-open#";
pub const DONE: &str = "2-done#";

/// The sort key of a task: [`OPEN`] or [`DONE`], its due date (or [`NO_DUE_DATE`]), its id.
/// Ids begin with their creation time, so tasks due the same day are listed in the order they
/// were created. Marking a task done moves it to the done part of the list.
pub fn task_sort_key(fields: &TaskFields, id: &str) -> String {
    let status = if fields.done { DONE } else { OPEN };
    let due = fields.due.as_deref().unwrap_or(NO_DUE_DATE);
    format!("{status}{due}#{id}")
}

impl Item for Task {
    type Fields = TaskFields;
    const SERVICE: &'static str = "tasks";

    fn id(&self) -> &str {
        &self.id
    }

    fn fields(&self) -> &TaskFields {
        &self.fields
    }

    fn new(id: String, fields: TaskFields, now: &str) -> Self {
        Self {
            id,
            fields,
            created_at: now.to_string(),
            updated_at: now.to_string(),
        }
    }

    fn replaced(&self, fields: TaskFields, now: &str) -> Self {
        Self {
            id: self.id.clone(),
            fields,
            created_at: self.created_at.clone(),
            updated_at: now.to_string(),
        }
    }

    fn replace_extras(now: &str) -> Vec<(&'static str, serde_json::Value)> {
        vec![("updated_at", serde_json::Value::String(now.to_string()))]
    }

    fn sort_key_for(id: &str, fields: &TaskFields) -> String {
        task_sort_key(fields, id)
    }

    fn is_sort_key(key: &str) -> bool {
        let Some(rest) = key.strip_prefix(OPEN).or_else(|| key.strip_prefix(DONE)) else {
            return false;
        };
        let Some((due, id)) = rest.split_once('#') else {
            return false;
        };
        (due == NO_DUE_DATE || normalize_date(due).as_deref() == Some(due))
            && is_valid_id(id)
            && key.len() <= MAX_SORT_KEY_BYTES
    }

    /// The creation time in milliseconds (12 hex digits, until the year 10889) and 80 random
    /// bits: ids sort by creation, and stay unguessable.
    fn new_id() -> String {
        let millis = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
        let random = uuid::Uuid::new_v4().simple().to_string();
        format!(
            "{}-{millis:012x}{}",
            spec::<Self>().id_prefix,
            &random[..20]
        )
    }

    /// A week of chores around today: some overdue, some done, some with no date.
    fn samples(owner: &str) -> Vec<Self> {
        let today = Utc::now().date_naive();
        let now = now_rfc3339();
        SAMPLES
            .iter()
            .enumerate()
            .map(|(i, (title, notes, due_in_days, done))| Task {
                id: sample_id(owner, i),
                fields: TaskFields {
                    title: (*title).to_string(),
                    notes: (*notes).to_string(),
                    due: due_in_days.map(|days| {
                        (today + Duration::days(days))
                            .format("%Y-%m-%d")
                            .to_string()
                    }),
                    done: *done,
                },
                created_at: now.clone(),
                updated_at: now.clone(),
            })
            .collect()
    }
}

/// A sample's id: as if created at the first milliseconds of 1970, one apart, so that samples
/// come before (and in their own order among) the tasks a user adds on the same day; the rest
/// is the owner's stable sample hash, so seeding twice finds the same ids.
fn sample_id(owner: &str, index: usize) -> String {
    let prefix = &spec::<Task>().id_prefix;
    let stable = stable_id(prefix, owner, index);
    let hash = stable.rsplit('-').next().unwrap_or_default();
    format!("{prefix}-{index:012x}{hash}")
}

/// (title, notes, due in days from today, done).
const SAMPLES: &[(&str, &str, Option<i64>, bool)] = &[
    (
        "Renew the passport",
        "Photos first: the booth at the station takes cards.",
        Some(-2),
        false,
    ),
    (
        "Send the design review notes",
        "To Grace and Alan, with the slides attached.",
        Some(0),
        false,
    ),
    ("Book the dentist", "", Some(1), false),
    ("Pay the electricity bill", "", Some(3), false),
    (
        "Plan the team offsite",
        "Dates, a venue near the coast, the budget.\nAsk Ada about the agenda.",
        Some(10),
        false,
    ),
    ("Read the compiler paper", "", None, false),
    (
        "Buy a birthday present for Margaret",
        "She mentioned the new atlas.",
        None,
        false,
    ),
    ("File the expense report", "", Some(-5), true),
    ("Back up the laptop", "", Some(-1), true),
];

/// Tasks have no rules across fields; their list is filtered by `status`.
impl Rules for Task {
    /// `status=open` (the default), `done` or `all`.
    fn range(query: &Query) -> Result<KeyRange, ApiError> {
        match query.get("status").unwrap_or("open") {
            "open" => Ok(KeyRange::prefix(OPEN)),
            "done" => Ok(KeyRange::prefix(DONE)),
            "all" => Ok(KeyRange::default()),
            _ => Err(ApiError::BadRequest(format!(
                "status must be one of {}",
                STATUSES.join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(due: Option<&str>, done: bool) -> TaskFields {
        TaskFields {
            title: "t".into(),
            due: due.map(String::from),
            done,
            ..TaskFields::default()
        }
    }

    #[test]
    fn open_before_done_then_by_due_date_undated_last_then_by_creation() {
        let keys = [
            task_sort_key(&fields(Some("2026-12-01"), false), "t-000000000001aa"),
            task_sort_key(&fields(Some("2026-12-01"), false), "t-000000000002aa"),
            task_sort_key(&fields(Some("2026-12-24"), false), "t-000000000000aa"),
            task_sort_key(&fields(None, false), "t-000000000000aa"),
            task_sort_key(&fields(Some("2020-01-01"), true), "t-000000000009aa"),
            task_sort_key(&fields(None, true), "t-000000000000aa"),
        ];
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
        for key in &keys {
            assert!(Task::is_sort_key(key), "{key}");
        }
    }

    #[test]
    fn cursor_keys_of_another_shape_are_refused() {
        for key in [
            "",
            "1-open#t-1",
            "open#~#t-1",
            "3-later#2026-12-01#t-1",
            "1-open#2026-13-01#t-1",
            "1-open#2026-12-1#t-1",
            "1-open#~#",
            "1-open#~#t 1",
            "1-open#~#t-1#t-2",
            "2-done#2026-12-01#",
        ] {
            assert!(!Task::is_sort_key(key), "{key:?}");
        }
    }

    #[test]
    fn new_ids_sort_by_creation() {
        let first = Task::new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = Task::new_id();
        assert!(first < second, "{first} {second}");
        assert!(first.starts_with("t-") && first.len() == 34, "{first}");
    }

    #[test]
    fn samples_are_valid_items_created_before_any_new_task() {
        let samples = Task::samples("auth0|someone");
        let new = Task::new_id();
        for task in &samples {
            assert!(Task::is_sort_key(&task.sort_key()), "{task:?}");
            assert!(task.id < new, "{} {new}", task.id);
        }
        let again: Vec<String> = Task::samples("auth0|someone")
            .into_iter()
            .map(|t| t.id)
            .collect();
        let ids: Vec<String> = samples.iter().map(|t| t.id.clone()).collect();
        assert_eq!(again, ids, "stable: seeding twice finds them");
        assert_ne!(Task::samples("auth0|other")[0].id, samples[0].id);
    }
}
