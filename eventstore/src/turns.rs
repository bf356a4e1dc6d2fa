//! Commands on one stream take turns inside a process.
//!
//! Optimistic concurrency lets every writer of a stream decide at once and fails all but
//! one at commit; the API retries a few times, then answers `409
//! concurrent_modification`. Thirty-two clients adding members to one organization
//! through one process lost a third of their requests that way. A command that asks for
//! its stream's turn first waits instead, so inside one process such writers never
//! collide; writers in other processes still race, and optimistic concurrency still
//! decides between them.
//!
//! A command takes the turn of one stream only (it may read others), so two commands
//! can never wait for each other.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::{Mutex as TurnLock, OwnedMutexGuard};

type Key = (&'static str, String);

/// Shared by every clone of a `Db`.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    streams: Mutex<HashMap<Key, Weak<TurnLock<()>>>>,
}

/// Held while a command runs; the next command on the stream goes when it is dropped.
#[derive(Debug)]
pub struct StreamTurn {
    _guard: OwnedMutexGuard<()>,
}

impl Turns {
    pub async fn take(&self, aggregate_type: &'static str, id: &str) -> StreamTurn {
        let lock = {
            let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
            let key = (aggregate_type, id.to_string());
            match streams.get(&key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    // Forget the streams nobody waits for, now and then.
                    if streams.len() >= 1024 {
                        streams.retain(|_, w| w.strong_count() > 0);
                    }
                    let lock = Arc::new(TurnLock::new(()));
                    streams.insert(key, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        StreamTurn { _guard: lock.lock_owned().await }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_command_at_a_time_per_stream() {
        let turns = Arc::new(Turns::default());
        let first = turns.take("organization", "org_1").await;
        // Another stream goes at once; the same stream waits.
        let _other = turns.take("organization", "org_2").await;
        let waiting = tokio::spawn({
            let turns = turns.clone();
            async move { turns.take("organization", "org_1").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the second command on org_1 waits for the first");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("goes once the first is done");
        drop(second);
        for i in 0..3000 {
            drop(turns.take("organization", &format!("org_x{i}")).await);
        }
        assert!(turns.streams.lock().unwrap().len() <= 1024 + 1, "forgotten streams are dropped");
    }
}
