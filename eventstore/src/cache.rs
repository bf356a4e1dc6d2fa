//! Aggregate states kept in memory between commands, so loading a long stream costs one
//! indexed read of the events appended since (usually none) instead of a snapshot's
//! decode plus a replay.
//!
//! Only committed states go in: a state as loaded from the database, or the state a
//! commit that went through left. A state at version `v` is a pure function of the
//! stream's first `v` events, which never change, so an entry is never wrong, only
//! behind; `Db::load` reads the events after it. Another process appending to the same
//! stream is therefore harmless, and optimistic concurrency at commit is unchanged.
//!
//! Handing out a copy must be cheap: aggregates that grow (an organization's
//! memberships, a tenant's organizations) keep their collections in persistent maps,
//! whose clone shares the data.
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Streams kept at most; past it the least recently used quarter is dropped.
pub const CACHE_CAPACITY: usize = 4096;

/// An aggregate state of any type, as the cache holds it.
pub(crate) type AnyState = dyn Any + Send + Sync;

type Key = (&'static str, String);

struct Entry {
    version: i64,
    state: Arc<AnyState>,
    used: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    clock: u64,
}

/// Shared by every clone of a `Db`.
#[derive(Default)]
pub(crate) struct StateCache {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for StateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateCache").field("streams", &self.len()).finish()
    }
}

impl StateCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the map consistent (every change is one
        // HashMap call), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the cached state of stream (`aggregate_type`, `id`) and its version.
    pub fn get<A: Clone + 'static>(&self, aggregate_type: &'static str, id: &str) -> Option<(i64, A)> {
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let entry = inner.entries.get_mut(&(aggregate_type, id.to_string()))?;
        entry.used = clock;
        let state = entry.state.downcast_ref::<A>()?.clone();
        Some((entry.version, state))
    }

    /// Keep `state` as the stream's state at `version`, unless a later one is kept.
    pub fn put(&self, aggregate_type: &'static str, id: String, version: i64, state: Arc<AnyState>) {
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        let key = (aggregate_type, id);
        if inner.entries.get(&key).is_some_and(|e| e.version >= version) {
            return;
        }
        inner.entries.insert(key, Entry { version, state, used });
        if inner.entries.len() > CACHE_CAPACITY {
            let mut ages: Vec<u64> = inner.entries.values().map(|e| e.used).collect();
            let cut = CACHE_CAPACITY / 4;
            let (_, oldest_kept, _) = ages.select_nth_unstable(cut);
            let oldest_kept = *oldest_kept;
            inner.entries.retain(|_, e| e.used >= oldest_kept);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_version_and_stays_bounded() {
        let cache = StateCache::default();
        cache.put("t", "a".into(), 5, Arc::new(5u32));
        cache.put("t", "a".into(), 3, Arc::new(3u32));
        assert_eq!(cache.get::<u32>("t", "a"), Some((5, 5)));
        assert_eq!(cache.get::<u64>("t", "a"), None, "another type is not handed out");
        assert_eq!(cache.get::<u32>("u", "a"), None);
        for i in 0..CACHE_CAPACITY as u32 + 10 {
            cache.put("t", format!("s{i}"), 1, Arc::new(i));
            if i % 100 == 0 {
                assert!(cache.get::<u32>("t", "a").is_some(), "a stream in use stays");
            }
        }
        assert!(cache.len() <= CACHE_CAPACITY);
        assert!(cache.get::<u32>("t", "a").is_some());
        assert_eq!(cache.get::<u32>("t", "s0"), None, "the least recently used went first");
    }
}
