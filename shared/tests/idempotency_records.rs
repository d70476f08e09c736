//! The in-memory store forgets expired idempotency records as DynamoDB's TTL does.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use organizer_shared::contract::{item, record};
use organizer_shared::store::Store;
use organizer_shared::store::idempotency::epoch_now;
use organizer_shared::store::memory::MemoryStore;
use organizer_shared::testing::Person;

/// A long-running local stack sees keyed creates and deletes for days: the records of
/// the ones whose day has passed are forgotten, as DynamoDB's TTL deletes them, so the
/// store does not grow with them.
#[tokio::test]
async fn expired_idempotency_records_do_not_pile_up() {
    let store = MemoryStore::<Person>::default();
    let past = epoch_now() - 1;
    for i in 0..1_000 {
        let id = format!("p-{i}");
        let created = store
            .create(
                "auth0|u",
                &item::<Person>(&id, i),
                Some(&record(&format!("{i:x}"), &id, past)),
            )
            .await
            .unwrap();
        store
            .delete("auth0|u", &id, Some(created.version))
            .await
            .unwrap();
    }
    let held = store.records_held();
    assert!(held <= 2, "{held} expired records held");
    // A live record is kept: its key still answers with the first create.
    let live = record("live", "p-live", epoch_now() + 3600);
    store
        .create("auth0|u", &item::<Person>("p-live", 0), Some(&live))
        .await
        .unwrap();
    for i in 0..10 {
        let id = format!("q-{i}");
        store
            .create(
                "auth0|u",
                &item::<Person>(&id, i),
                Some(&record(&format!("b{i:x}"), &id, past)),
            )
            .await
            .unwrap();
    }
    assert!(
        store
            .idempotency_record("auth0|u", &live.key_hash)
            .await
            .unwrap()
            .is_some()
    );
}
