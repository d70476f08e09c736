//! Sample data for one user, for the seed command and the local stack: each service's items
//! come from its [`Item::samples`]; the people they mention are here, shared.
//!
//! Ids are derived from the owner, so seeding twice changes nothing: the sample items are
//! created like any other (through `create`, counted against the quota) and an id that exists
//! is taken as already seeded.

use sha2::{Digest, Sha256};

use super::{Item, KeyRange, PageRequest, Store, StoreError, WriteError};

/// Sample people: a name, a company and a phone number.
pub const PEOPLE: &[(&str, &str, &str)] = &[
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

/// A sample item's id: derived from the owner, so seeding twice finds it.
pub fn stable_id(prefix: &str, owner: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("{prefix}\0{owner}\0{index}").as_bytes());
    format!("{prefix}-{}", hex::encode(&digest[..8]))
}

/// A sample person's address: `ada.lovelace@analytical.example`.
pub fn email_of(name: &str, company: &str) -> String {
    let user = name.to_lowercase().replace([' ', '-'], ".");
    let domain = company
        .to_lowercase()
        .split(' ')
        .next()
        .unwrap_or("example")
        .to_string();
    format!("{user}@{domain}.example")
}

/// Loads `T`'s sample items for `owner` when the owner has none of them yet: a first run gets
/// an address book, an agenda, a to-do list, and what a user deleted or changed stays as they
/// left it (the local stack seeds at every start). Returns how many this call created. Creates
/// go through the store's quota; a full quota stops quietly.
pub async fn seed<T: Item>(owner: &str, store: &dyn Store<T>) -> Result<usize, StoreError> {
    let first = PageRequest {
        limit: 1,
        after: None,
    };
    if !store
        .list(owner, &KeyRange::default(), &first)
        .await?
        .items
        .is_empty()
    {
        return Ok(0);
    }
    let mut count = 0;
    for item in T::samples(owner) {
        if created(store.create(owner, &item, None).await)? {
            count += 1;
        }
    }
    Ok(count)
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
