//! The calendar microservice: a person's events. Its routes, scopes, table, quota and fields
//! are its entry in the services manifest (`services.yaml`); the generic service of the shared
//! crate (`organizer_shared::service`) answers them. This crate brings what is the calendar's
//! own: the item type, its order (by start), its window (`from`/`to`), and its rules across
//! fields (an event ends after it starts, within 31 days).
//!
//! `main.rs` is the Lambda function (`organizer_shared::service::run`); the local stack serves the
//! same item type with the same generic handler.

use chrono::{Datelike, Duration, SecondsFormat, TimeZone, Utc};
use organizer_shared::ApiError;
use organizer_shared::api::Query;
use organizer_shared::service::Rules;
use organizer_shared::store::model::{ends_with_id, normalize_bound, normalize_time};
use organizer_shared::store::sample::{PEOPLE, email_of, stable_id};
use organizer_shared::store::{Item, KeyRange, spec};
use serde::{Deserialize, Serialize};

/// The longest an event may last.
pub const MAX_EVENT_DAYS: i64 = 31;

/// The editable fields of an event: all a `POST` or `PUT` body may set, validated and
/// normalized (times in the stored form of `normalize_time`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventFields {
    pub title: String,
    /// RFC 3339, UTC, whole seconds (`2026-11-26T09:30:00Z`), so it sorts as text.
    pub start: String,
    /// RFC 3339, UTC, whole seconds.
    pub end: String,
    pub location: String,
    pub attendees: Vec<String>,
}

/// An entry in the user's calendar: its id and its editable fields, flattened, so the JSON is
/// `{"id","title","start","end","location","attendees"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(flatten)]
    pub fields: EventFields,
}

/// The sort key of an event with this start and id: by start time, then by id.
pub fn event_sort_key(start: &str, id: &str) -> String {
    format!("{start}#{id}")
}

impl Item for Event {
    type Fields = EventFields;
    const SERVICE: &'static str = "calendar";

    fn id(&self) -> &str {
        &self.id
    }

    fn fields(&self) -> &EventFields {
        &self.fields
    }

    fn new(id: String, fields: EventFields, _now: &str) -> Self {
        Self { id, fields }
    }

    fn replaced(&self, fields: EventFields, _now: &str) -> Self {
        Self {
            id: self.id.clone(),
            fields,
        }
    }

    fn sort_key_for(id: &str, fields: &EventFields) -> String {
        event_sort_key(&fields.start, id)
    }

    fn is_sort_key(key: &str) -> bool {
        ends_with_id(key)
            && key
                .split_once('#')
                .is_some_and(|(start, _)| normalize_time(start).as_deref() == Some(start))
    }

    /// Two or three a working day, from last Monday for three weeks: a fresh demo always shows
    /// an upcoming agenda.
    fn samples(owner: &str) -> Vec<Self> {
        let today = Utc::now().date_naive();
        let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()) + 7);
        let mut events = Vec::new();
        for day in 0..21i64 {
            let date = monday + Duration::days(day);
            if date.weekday().num_days_from_monday() >= 5 {
                continue;
            }
            for slot in 0..(2 + (day % 2)) {
                let i = events.len();
                let (title, location, minutes) = MEETINGS[i % MEETINGS.len()];
                let hour = 9 + u32::try_from(slot * 3 + (day % 3)).unwrap_or(0);
                let Some(start) = date.and_hms_opt(hour, if i % 2 == 0 { 0 } else { 30 }, 0) else {
                    continue;
                };
                let start = Utc.from_utc_datetime(&start);
                let end = start + Duration::minutes(minutes);
                // Addresses, as the API takes attendees: a sample event can be saved unchanged.
                let attendees = (0..(1 + i % 3))
                    .map(|k| {
                        let (name, company, _) = PEOPLE[(i + k * 7) % PEOPLE.len()];
                        email_of(name, company)
                    })
                    .collect();
                events.push(Event {
                    id: stable_id(&spec::<Self>().id_prefix, owner, i),
                    fields: EventFields {
                        title: title.to_string(),
                        start: start.to_rfc3339_opts(SecondsFormat::Secs, true),
                        end: end.to_rfc3339_opts(SecondsFormat::Secs, true),
                        location: location.to_string(),
                        attendees,
                    },
                });
            }
        }
        events
    }
}

const MEETINGS: &[(&str, &str, i64)] = &[
    ("Weekly planning", "Room 4.02", 60),
    ("1:1 with Grace", "Video call", 30),
    ("Design review: sync engine", "Room 2.11", 90),
    ("Lunch with Ada", "Café Babbage", 60),
    ("Customer call: Kernel Co", "Video call", 45),
    ("Security review", "Room 4.02", 60),
    ("Dentist", "Main Street Clinic", 45),
    ("Team retrospective", "Room 1.07", 60),
    ("Interview: backend engineer", "Room 3.01", 60),
    ("Quarterly business review", "Board room", 120),
];

impl Rules for Event {
    fn check(fields: &EventFields) -> Result<(), ApiError> {
        let (Ok(start), Ok(end)) = (
            chrono::DateTime::parse_from_rfc3339(&fields.start),
            chrono::DateTime::parse_from_rfc3339(&fields.end),
        ) else {
            return Err(ApiError::Internal("a normalized time did not parse".into()));
        };
        if end <= start {
            return Err(ApiError::invalid(
                "end",
                None,
                "end_after_start",
                "end must be after start",
            ));
        }
        if end - start > Duration::days(MAX_EVENT_DAYS) {
            return Err(ApiError::invalid(
                "end",
                None,
                "duration",
                format!("end must be at most {MAX_EVENT_DAYS} days after start"),
            ));
        }
        Ok(())
    }

    /// `from` and `to` as RFC 3339 times: events whose start is in `[from, to)`.
    fn range(query: &Query) -> Result<KeyRange, ApiError> {
        let parse = |name: &str| -> Result<Option<String>, ApiError> {
            query
                .get(name)
                // A literal '+' in a query string decodes to a space: read it back as the
                // offset sign the caller meant (`10:30:00+01:00`).
                .map(|value| value.replace(' ', "+"))
                .map(|value| {
                    normalize_bound(&value).ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "{name} must be an RFC 3339 time, e.g. 2026-11-26T00:00:00Z"
                        ))
                    })
                })
                .transpose()
        };
        let range = KeyRange {
            from: parse("from")?,
            to: parse("to")?,
        };
        if let (Some(from), Some(to)) = (&range.from, &range.to)
            && from > to
        {
            return Err(ApiError::BadRequest("from must not be after to".into()));
        }
        Ok(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_are_start_then_id() {
        assert!(Event::is_sort_key("2026-11-26T09:30:00Z#e-1"));
        assert!(!Event::is_sort_key("2026-11-26T09:30:00+00:00#e-1"));
        assert!(!Event::is_sort_key("2026-11-26T09:30:00Z#"));
        assert!(
            event_sort_key("2026-01-01T09:00:00Z", "z")
                < event_sort_key("2026-01-01T10:00:00Z", "a")
        );
    }

    #[test]
    fn the_json_stays_one_flat_object_in_the_same_order() {
        let event = Event {
            id: "e-1".into(),
            fields: EventFields {
                title: "Planning".into(),
                start: "2026-01-01T09:00:00Z".into(),
                end: "2026-01-01T10:00:00Z".into(),
                location: "Room 1".into(),
                attendees: vec!["Ada".into()],
            },
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(
            json,
            r#"{"id":"e-1","title":"Planning","start":"2026-01-01T09:00:00Z","end":"2026-01-01T10:00:00Z","location":"Room 1","attendees":["Ada"]}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }
}
