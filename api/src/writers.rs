//! One writer at a time per key, in this process: commands that all append to the same
//! streams (every SCIM write of one directory appends to the directory's stream and to
//! its organization's) wait their turn here instead of racing to the commit and losing.
//! Across processes the commit's optimistic check still decides, and a lost race is
//! decided again (`execute!`); this only keeps one process's own requests from
//! colliding. Keys hash onto a fixed set of locks, so unrelated keys may share one.
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tokio::sync::{Mutex, MutexGuard};

const STRIPES: usize = 64;

#[derive(Clone)]
pub struct Writers(Arc<Vec<Mutex<()>>>);

impl Default for Writers {
    fn default() -> Self {
        Writers(Arc::new((0..STRIPES).map(|_| Mutex::new(())).collect()))
    }
}

impl Writers {
    /// Wait for the turn of `key`; it lasts while the guard lives.
    pub async fn turn(&self, key: &str) -> MutexGuard<'_, ()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        self.0[(h.finish() as usize) % self.0.len()].lock().await
    }
}
