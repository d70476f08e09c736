//! In-memory stores: the local stack's embedded default and the fast half of the contract tests.
//!
//! Each store keeps all of its state (items, per-user counts, idempotency records) under one
//! lock, so every write is checked and applied atomically, exactly as the DynamoDB store's
//! transactions are.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::RwLock;

use async_trait::async_trait;

use super::idempotency::{IdempotencyRecord, epoch_now};
use super::model::{
    Contact, ContactFields, Event, EventFields, Stored, contact_sort_key, event_sort_key,
};
use super::{
    ContactStore, DEFAULT_CONTACT_QUOTA, DEFAULT_EVENT_QUOTA, EventStore, Page, PageRequest,
    StoreError, TimeRange, WriteError, check_key_hash, check_new_id, event_bounds, into_page,
};

/// Items of one kind, ordered by (owner, sort key) and findable by (owner, id), with each
/// owner's count and idempotency records.
struct Table<T> {
    ordered: BTreeMap<(String, String), Stored<T>>,
    sort_key_of: HashMap<(String, String), String>,
    counts: HashMap<String, u32>,
    records: HashMap<(String, String), IdempotencyRecord>,
}

impl<T: Clone> Table<T> {
    fn new() -> Self {
        Self {
            ordered: BTreeMap::new(),
            sort_key_of: HashMap::new(),
            counts: HashMap::new(),
            records: HashMap::new(),
        }
    }

    /// Inserts or moves an item to `sort_key` (no counting: the callers count).
    fn put(&mut self, owner: &str, id: &str, sort_key: String, item: Stored<T>) {
        let id_key = (owner.to_string(), id.to_string());
        if let Some(old) = self.sort_key_of.insert(id_key, sort_key.clone()) {
            self.ordered.remove(&(owner.to_string(), old));
        }
        self.ordered.insert((owner.to_string(), sort_key), item);
    }

    fn get(&self, owner: &str, id: &str) -> Option<Stored<T>> {
        let sort_key = self.sort_key_of.get(&(owner.to_string(), id.to_string()))?;
        self.ordered
            .get(&(owner.to_string(), sort_key.clone()))
            .cloned()
    }

    fn live_record(&self, owner: &str, key_hash: &str, now: u64) -> Option<IdempotencyRecord> {
        self.records
            .get(&(owner.to_string(), key_hash.to_string()))
            .filter(|r| r.is_live(now))
            .cloned()
    }

    /// The create transaction: checks, in order, the idempotency key, the id and the quota,
    /// then writes the item, the count and the record together.
    fn create(
        &mut self,
        owner: &str,
        id: &str,
        sort_key: String,
        item: &T,
        record: Option<&IdempotencyRecord>,
        quota: u32,
    ) -> Result<Stored<T>, WriteError<T>> {
        check_new_id(id)?;
        if let Some(record) = record {
            check_key_hash(&record.key_hash)?;
            if let Some(existing) = self.live_record(owner, &record.key_hash, epoch_now()) {
                return Err(WriteError::IdempotencyKeyUsed(Box::new(existing)));
            }
        }
        if self
            .sort_key_of
            .contains_key(&(owner.to_string(), id.to_string()))
        {
            return Err(WriteError::Exists);
        }
        let count = self.counts.entry(owner.to_string()).or_insert(0);
        if *count >= quota {
            return Err(WriteError::QuotaExceeded { limit: quota });
        }
        *count += 1;
        if let Some(record) = record {
            self.records
                .insert((owner.to_string(), record.key_hash.clone()), record.clone());
        }
        let stored = Stored {
            item: item.clone(),
            version: 1,
        };
        self.put(owner, id, sort_key, stored.clone());
        Ok(stored)
    }

    /// The replace: `rebuild` makes the new item and its sort key from the current one.
    fn replace(
        &mut self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
        rebuild: impl FnOnce(&T) -> (T, String),
    ) -> Result<Stored<T>, WriteError<T>> {
        let current = self.current(owner, id, if_version)?;
        let (item, sort_key) = rebuild(&current.item);
        let stored = Stored {
            item,
            version: current.version + 1,
        };
        self.put(owner, id, sort_key, stored.clone());
        Ok(stored)
    }

    fn delete(
        &mut self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<T>> {
        self.current(owner, id, if_version)?;
        if let Some(sort_key) = self
            .sort_key_of
            .remove(&(owner.to_string(), id.to_string()))
        {
            self.ordered.remove(&(owner.to_string(), sort_key));
        }
        if let Some(count) = self.counts.get_mut(owner) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }

    /// The item a replace or delete applies to, if it exists and is at `if_version`.
    fn current(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<Stored<T>, WriteError<T>> {
        let current = self.get(owner, id).ok_or(WriteError::NotFound)?;
        match if_version {
            Some(version) if version != current.version => Err(WriteError::Stale {
                current: Box::new(current),
            }),
            _ => Ok(current),
        }
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
            .map(|(_, v)| v.item.clone())
            .collect()
    }
}

fn lock_err() -> StoreError {
    StoreError::Backend("in-memory store lock poisoned".into())
}

fn record<T: Clone>(
    table: &RwLock<Table<T>>,
    owner: &str,
    key_hash: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    check_key_hash(key_hash)?;
    Ok(table
        .read()
        .map_err(|_| lock_err())?
        .live_record(owner, key_hash, epoch_now()))
}

/// Contacts kept in memory. Holds at most [`DEFAULT_CONTACT_QUOTA`] contacts per user unless
/// built [`with_quota`](Self::with_quota).
pub struct MemoryContactStore {
    table: RwLock<Table<Contact>>,
    quota: u32,
}

impl Default for MemoryContactStore {
    fn default() -> Self {
        Self::with_quota(DEFAULT_CONTACT_QUOTA)
    }
}

impl MemoryContactStore {
    /// An empty store holding at most `quota` contacts per user.
    pub fn with_quota(quota: u32) -> Self {
        Self {
            table: RwLock::new(Table::new()),
            quota,
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

    async fn get_contact(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<Stored<Contact>>, StoreError> {
        Ok(self.table.read().map_err(|_| lock_err())?.get(owner, id))
    }

    async fn create_contact(
        &self,
        owner: &str,
        contact: &Contact,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Stored<Contact>, WriteError<Contact>> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.create(
            owner,
            &contact.id,
            contact.sort_key(),
            contact,
            record,
            self.quota,
        )
    }

    async fn replace_contact(
        &self,
        owner: &str,
        id: &str,
        fields: &ContactFields,
        updated_at: &str,
        if_version: Option<u64>,
    ) -> Result<Stored<Contact>, WriteError<Contact>> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.replace(owner, id, if_version, |current| {
            let contact = Contact {
                id: current.id.clone(),
                fields: fields.clone(),
                created_at: current.created_at.clone(),
                updated_at: updated_at.to_string(),
            };
            let sort_key = contact_sort_key(&fields.name, id);
            (contact, sort_key)
        })
    }

    async fn delete_contact(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<Contact>> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.delete(owner, id, if_version)
    }

    async fn idempotency_record(
        &self,
        owner: &str,
        key_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        record(&self.table, owner, key_hash)
    }
}

/// Calendar events kept in memory. Holds at most [`DEFAULT_EVENT_QUOTA`] events per user
/// unless built [`with_quota`](Self::with_quota).
pub struct MemoryEventStore {
    table: RwLock<Table<Event>>,
    quota: u32,
}

impl Default for MemoryEventStore {
    fn default() -> Self {
        Self::with_quota(DEFAULT_EVENT_QUOTA)
    }
}

impl MemoryEventStore {
    /// An empty store holding at most `quota` events per user.
    pub fn with_quota(quota: u32) -> Self {
        Self {
            table: RwLock::new(Table::new()),
            quota,
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

    async fn get_event(&self, owner: &str, id: &str) -> Result<Option<Stored<Event>>, StoreError> {
        Ok(self.table.read().map_err(|_| lock_err())?.get(owner, id))
    }

    async fn create_event(
        &self,
        owner: &str,
        event: &Event,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Stored<Event>, WriteError<Event>> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.create(
            owner,
            &event.id,
            event.sort_key(),
            event,
            record,
            self.quota,
        )
    }

    async fn replace_event(
        &self,
        owner: &str,
        id: &str,
        fields: &EventFields,
        if_version: Option<u64>,
    ) -> Result<Stored<Event>, WriteError<Event>> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.replace(owner, id, if_version, |current| {
            let event = Event {
                id: current.id.clone(),
                fields: fields.clone(),
            };
            (event, event_sort_key(&fields.start, id))
        })
    }

    async fn delete_event(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<Event>> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.delete(owner, id, if_version)
    }

    async fn idempotency_record(
        &self,
        owner: &str,
        key_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        record(&self.table, owner, key_hash)
    }
}
