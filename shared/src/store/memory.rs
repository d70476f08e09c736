//! In-memory stores: the local stack's embedded default and the fast half of the contract tests.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::RwLock;

use async_trait::async_trait;

use super::model::{Contact, Event};
use super::{
    ContactStore, EventStore, Page, PageRequest, StoreError, TimeRange, event_bounds, into_page,
};

/// Items of one kind, ordered by (owner, sort key) and findable by (owner, id).
struct Table<T> {
    ordered: BTreeMap<(String, String), T>,
    sort_key_of: HashMap<(String, String), String>,
}

impl<T: Clone> Table<T> {
    fn new() -> Self {
        Self {
            ordered: BTreeMap::new(),
            sort_key_of: HashMap::new(),
        }
    }

    fn put(&mut self, owner: &str, id: &str, sort_key: String, item: T) {
        let id_key = (owner.to_string(), id.to_string());
        if let Some(old) = self.sort_key_of.insert(id_key, sort_key.clone()) {
            self.ordered.remove(&(owner.to_string(), old));
        }
        self.ordered.insert((owner.to_string(), sort_key), item);
    }

    fn get(&self, owner: &str, id: &str) -> Option<T> {
        let sort_key = self.sort_key_of.get(&(owner.to_string(), id.to_string()))?;
        self.ordered
            .get(&(owner.to_string(), sort_key.clone()))
            .cloned()
    }

    /// Up to `take` items of `owner` with sort keys in the given bounds.
    fn range(
        &self,
        owner: &str,
        lower: Bound<String>,
        upper: Bound<String>,
        take: usize,
    ) -> Vec<T> {
        let key = |k: String| (owner.to_string(), k);
        let lower = match lower {
            Bound::Included(k) => Bound::Included(key(k)),
            Bound::Excluded(k) => Bound::Excluded(key(k)),
            Bound::Unbounded => Bound::Included(key(String::new())),
        };
        self.ordered
            .range((lower, Bound::Unbounded))
            .take_while(|((o, k), _)| {
                o == owner
                    && match &upper {
                        Bound::Excluded(u) => k < u,
                        Bound::Included(u) => k <= u,
                        Bound::Unbounded => true,
                    }
            })
            .take(take)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn lock_err() -> StoreError {
    StoreError::Backend("in-memory store lock poisoned".into())
}

/// Contacts kept in memory.
pub struct MemoryContactStore {
    table: RwLock<Table<Contact>>,
}

impl Default for MemoryContactStore {
    fn default() -> Self {
        Self {
            table: RwLock::new(Table::new()),
        }
    }
}

#[async_trait]
impl ContactStore for MemoryContactStore {
    async fn list_contacts(
        &self,
        owner: &str,
        page: &PageRequest,
    ) -> Result<Page<Contact>, StoreError> {
        let table = self.table.read().map_err(|_| lock_err())?;
        let lower = page.after.clone().map_or(Bound::Unbounded, Bound::Excluded);
        let items = table.range(owner, lower, Bound::Unbounded, page.limit + 1);
        Ok(into_page(items, page.limit, false, Contact::sort_key))
    }

    async fn get_contact(&self, owner: &str, id: &str) -> Result<Option<Contact>, StoreError> {
        Ok(self.table.read().map_err(|_| lock_err())?.get(owner, id))
    }

    async fn put_contact(&self, owner: &str, contact: &Contact) -> Result<(), StoreError> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.put(owner, &contact.id, contact.sort_key(), contact.clone());
        Ok(())
    }
}

/// Calendar events kept in memory.
pub struct MemoryEventStore {
    table: RwLock<Table<Event>>,
}

impl Default for MemoryEventStore {
    fn default() -> Self {
        Self {
            table: RwLock::new(Table::new()),
        }
    }
}

#[async_trait]
impl EventStore for MemoryEventStore {
    async fn list_events(
        &self,
        owner: &str,
        range: &TimeRange,
        page: &PageRequest,
    ) -> Result<Page<Event>, StoreError> {
        let Some((lower, exclusive, upper)) = event_bounds(range, page.after.as_deref()) else {
            return Ok(Page {
                items: Vec::new(),
                next_after: None,
            });
        };
        let lower = match (lower, exclusive) {
            (Some(k), true) => Bound::Excluded(k),
            (Some(k), false) => Bound::Included(k),
            (None, _) => Bound::Unbounded,
        };
        let upper = upper.map_or(Bound::Unbounded, Bound::Excluded);
        let table = self.table.read().map_err(|_| lock_err())?;
        let items = table.range(owner, lower, upper, page.limit + 1);
        Ok(into_page(items, page.limit, false, Event::sort_key))
    }

    async fn get_event(&self, owner: &str, id: &str) -> Result<Option<Event>, StoreError> {
        Ok(self.table.read().map_err(|_| lock_err())?.get(owner, id))
    }

    async fn put_event(&self, owner: &str, event: &Event) -> Result<(), StoreError> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.put(owner, &event.id, event.sort_key(), event.clone());
        Ok(())
    }
}
