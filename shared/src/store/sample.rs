//! Realistic sample data for one user, for the seed command and the local stack.
//!
//! Ids are derived from the owner, so seeding twice changes nothing: the sample items are
//! created like any other (through `create_*`, counted against the quota) and an id that
//! exists is taken as already seeded. Events are placed around the current week, so a fresh
//! demo always shows an upcoming agenda.

use chrono::{Datelike, Duration, SecondsFormat, TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::model::{Contact, ContactFields, Event, EventFields, now_rfc3339};
use super::{ContactStore, EventStore, PageRequest, StoreError, TimeRange, WriteError};

const PEOPLE: &[(&str, &str, &str)] = &[
    ("Ada Lovelace", "Analytical Engines Ltd", "+44 20 7946 0011"),
    ("Grace Hopper", "Compiler Works", "+1 202 555 0142"),
    ("Alan Turing", "Bletchley Research", "+44 1908 640 404"),
    (
        "Katherine Johnson",
        "Orbital Mechanics Inc",
        "+1 757 555 0199",
    ),
    ("Edsger Dijkstra", "Shortest Path BV", "+31 40 247 9111"),
    ("Barbara Liskov", "Substitution Labs", "+1 617 555 0123"),
    ("Donald Knuth", "Literate Press", "+1 650 555 0177"),
    ("Margaret Hamilton", "Apollo Software", "+1 617 555 0160"),
    ("Linus Torvalds", "Kernel Co", "+1 503 555 0105"),
    ("Radia Perlman", "Spanning Tree Systems", "+1 425 555 0188"),
    ("Tim Berners-Lee", "Web Foundations", "+44 20 7946 0958"),
    ("Frances Allen", "Optimizing Compilers", "+1 914 555 0133"),
    ("Ken Thompson", "Unix Heritage", "+1 908 555 0101"),
    ("Shafi Goldwasser", "Zero Knowledge SA", "+972 3 555 0144"),
    ("John McCarthy", "Lisp Machines", "+1 650 555 0111"),
    ("Hedy Lamarr", "Frequency Hopping GmbH", "+43 1 555 0190"),
    ("Dennis Ritchie", "C Language Group", "+1 908 555 0102"),
    ("Anita Borg", "Systers Network", "+1 650 555 0155"),
    ("Vint Cerf", "Packet Routing LLC", "+1 703 555 0122"),
    ("Sophie Wilson", "Acorn Designs", "+44 1223 555 017"),
];

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

fn stable_id(prefix: &str, owner: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("{prefix}\0{owner}\0{index}").as_bytes());
    format!("{prefix}-{}", hex::encode(&digest[..8]))
}

/// A sample person's address: `ada.lovelace@analytical.example`.
fn email_of(name: &str, company: &str) -> String {
    let user = name.to_lowercase().replace([' ', '-'], ".");
    let domain = company
        .to_lowercase()
        .split(' ')
        .next()
        .unwrap_or("example")
        .to_string();
    format!("{user}@{domain}.example")
}

/// The sample contacts for `owner`.
pub fn contacts(owner: &str) -> Vec<Contact> {
    let now = now_rfc3339();
    PEOPLE
        .iter()
        .enumerate()
        .map(|(i, (name, company, phone))| Contact {
            id: stable_id("c", owner, i),
            fields: ContactFields {
                name: (*name).to_string(),
                email: email_of(name, company),
                phone: (*phone).to_string(),
                company: (*company).to_string(),
            },
            created_at: now.clone(),
            updated_at: now.clone(),
        })
        .collect()
}

/// The sample events for `owner`: two or three a working day, from last Monday for three weeks.
pub fn events(owner: &str) -> Vec<Event> {
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
                id: stable_id("e", owner, i),
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

/// Loads the sample data for `owner`, each kind only when the owner has none of it yet: a
/// first run gets an address book and an agenda, and what a user deleted or changed stays as
/// they left it (the local stack seeds at every start). Returns how many contacts and events
/// this call created. Creates go through the stores' quota; a full quota stops quietly.
pub async fn seed(
    owner: &str,
    contact_store: &dyn ContactStore,
    event_store: &dyn EventStore,
) -> Result<(usize, usize), StoreError> {
    let first = PageRequest {
        limit: 1,
        after: None,
    };
    let mut contacts = 0;
    if contact_store
        .list_contacts(owner, &first)
        .await?
        .items
        .is_empty()
    {
        for c in &self::contacts(owner) {
            if created(contact_store.create_contact(owner, c, None).await)? {
                contacts += 1;
            }
        }
    }
    let mut events = 0;
    let everything = TimeRange::default();
    if event_store
        .list_events(owner, &everything, &first)
        .await?
        .items
        .is_empty()
    {
        for e in &self::events(owner) {
            if created(event_store.create_event(owner, e, None).await)? {
                events += 1;
            }
        }
    }
    Ok((contacts, events))
}

/// Whether a sample item's create made it (not when it was there already or the quota is
/// full).
fn created<T, U>(result: Result<T, WriteError<U>>) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(WriteError::Exists | WriteError::QuotaExceeded { .. }) => Ok(false),
        Err(WriteError::Store(error)) => Err(error),
        Err(
            WriteError::NotFound | WriteError::Stale { .. } | WriteError::IdempotencyKeyUsed(_),
        ) => Err(StoreError::Backend(
            "a create without an idempotency key answered as a replace would".into(),
        )),
    }
}
