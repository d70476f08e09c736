//! The in-memory store: the local stack's embedded default and the fast half of the contract
//! suite.
//!
//! A store keeps all of its state (items, per-user counts, idempotency records) under one lock,
//! so every write is checked and applied atomically, exactly as the DynamoDB store's
//! transactions are. Idempotency records expire as DynamoDB's TTL deletes them: each create
//! sweeps a few expired ones, so a loop of keyed creates and deletes cannot grow the store.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::RwLock;

use async_trait::async_trait;

use super::idempotency::{IdempotencyRecord, epoch_now};
use super::model::Stored;
use super::{
    Item, KeyRange, Page, PageRequest, Store, StoreError, WriteError, check_key_hash, check_new_id,
    into_page, key_bounds, spec,
};

/// How many records one create looks at for expiry: more than one, so that expired records
/// leave faster than new ones arrive.
const SWEEP_PER_CREATE: usize = 2;

/// Items of one kind, ordered by (owner, sort key) and findable by (owner, id), with each
/// owner's count and idempotency records.
struct Table<T> {
    ordered: BTreeMap<(String, String), Stored<T>>,
    sort_key_of: HashMap<(String, String), String>,
    counts: HashMap<String, u32>,
    records: HashMap<(String, String), IdempotencyRecord>,
    /// The records' keys in the order they were written (a record is written once), for the
    /// sweep: the oldest are the first to expire.
    record_order: VecDeque<(String, String)>,
}

impl<T: Clone> Table<T> {
    fn new() -> Self {
        Self {
            ordered: BTreeMap::new(),
            sort_key_of: HashMap::new(),
            counts: HashMap::new(),
            records: HashMap::new(),
            record_order: VecDeque::new(),
        }
    }

    /// Forgets up to [`SWEEP_PER_CREATE`] records that expired by `now`, oldest first, as TTL
    /// deletes them from DynamoDB.
    fn sweep(&mut self, now: u64) {
        for _ in 0..SWEEP_PER_CREATE {
            let Some(key) = self.record_order.front() else {
                return;
            };
            match self.records.get(key) {
                Some(record) if record.is_live(now) => return,
                Some(_) => {
                    self.records.remove(key);
                }
                // Overwritten since (its key is listed again further on) or already gone.
                None => {}
            }
            self.record_order.pop_front();
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
        let now = epoch_now();
        self.sweep(now);
        if let Some(record) = record {
            check_key_hash(&record.key_hash)?;
            if let Some(existing) = self.live_record(owner, &record.key_hash, now) {
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
            let key = (owner.to_string(), record.key_hash.clone());
            self.record_order.push_back(key.clone());
            self.records.insert(key, record.clone());
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

/// One service's items kept in memory. Holds at most the manifest's quota of items per user
/// unless built [`with_quota`](Self::with_quota).
pub struct MemoryStore<T: Item> {
    table: RwLock<Table<T>>,
    quota: u32,
}

impl<T: Item> Default for MemoryStore<T> {
    fn default() -> Self {
        Self::with_quota(spec::<T>().quota)
    }
}

impl<T: Item> MemoryStore<T> {
    /// An empty store holding at most `quota` items per user.
    pub fn with_quota(quota: u32) -> Self {
        Self {
            table: RwLock::new(Table::new()),
            quota,
        }
    }

    /// How many idempotency records it holds, live or expired (tests of the sweep).
    pub fn records_held(&self) -> usize {
        self.table.read().map_or(0, |t| t.records.len())
    }
}

#[async_trait]
impl<T: Item> Store<T> for MemoryStore<T> {
    async fn list(
        &self,
        owner: &str,
        range: &KeyRange,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let Some((lower, exclusive, upper)) = key_bounds(range, page.after.as_deref()) else {
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
        Ok(into_page(items, page.limit, false))
    }

    async fn get(&self, owner: &str, id: &str) -> Result<Option<Stored<T>>, StoreError> {
        Ok(self.table.read().map_err(|_| lock_err())?.get(owner, id))
    }

    async fn create(
        &self,
        owner: &str,
        item: &T,
        record: Option<&IdempotencyRecord>,
    ) -> Result<Stored<T>, WriteError<T>> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.create(owner, item.id(), item.sort_key(), item, record, self.quota)
    }

    async fn replace(
        &self,
        owner: &str,
        id: &str,
        fields: &T::Fields,
        now: &str,
        if_version: Option<u64>,
    ) -> Result<Stored<T>, WriteError<T>> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.replace(owner, id, if_version, |current| {
            let item = current.replaced(fields.clone(), now);
            let sort_key = item.sort_key();
            (item, sort_key)
        })
    }

    async fn delete(
        &self,
        owner: &str,
        id: &str,
        if_version: Option<u64>,
    ) -> Result<(), WriteError<T>> {
        let mut table = self.table.write().map_err(|_| lock_err())?;
        table.delete(owner, id, if_version)
    }

    async fn idempotency_record(
        &self,
        owner: &str,
        key_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        check_key_hash(key_hash)?;
        Ok(self
            .table
            .read()
            .map_err(|_| lock_err())?
            .live_record(owner, key_hash, epoch_now()))
    }
}
