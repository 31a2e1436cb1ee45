//! Per-key locks: calls on one key go one at a time, calls on different keys run freely. For
//! vendor operations that are a read followed by a write (check a key, then upsert), so that two
//! calls through one backend cannot both pass the check.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A lock per key, created on first use and dropped when nobody holds or awaits it.
#[derive(Debug)]
pub struct KeyedLocks<K> {
    locks: Mutex<HashMap<K, Weak<AsyncMutex<()>>>>,
}

impl<K> Default for KeyedLocks<K> {
    fn default() -> Self {
        Self {
            locks: Mutex::new(HashMap::new()),
        }
    }
}

/// A held key lock; the key is free again when it is dropped.
#[derive(Debug)]
pub struct KeyGuard {
    _guard: OwnedMutexGuard<()>,
}

impl<K: Eq + Hash + Clone> KeyedLocks<K> {
    /// Waits until no one else holds `key`, then holds it.
    pub async fn lock(&self, key: &K) -> KeyGuard {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            match locks.get(key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    // Forget the locks nobody uses any more, so the map follows the keys in use.
                    locks.retain(|_, weak| weak.strong_count() > 0);
                    let lock = Arc::new(AsyncMutex::new(()));
                    locks.insert(key.clone(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        KeyGuard {
            _guard: lock.lock_owned().await,
        }
    }

    /// How many keys have a lock (held or awaited) right now.
    pub fn len(&self) -> usize {
        self.locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|w| w.strong_count() > 0)
            .count()
    }

    /// Whether no key is locked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_key_at_a_time_other_keys_freely() {
        let locks = KeyedLocks::<&str>::default();
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let work = |key| {
            let (locks, inside, most) = (&locks, &inside, &most);
            async move {
                let _held = locks.lock(&key).await;
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        };
        futures::future::join_all((0..5).map(|_| work("a"))).await;
        assert_eq!(
            most.load(Ordering::SeqCst),
            1,
            "one holder of `a` at a time"
        );
        most.store(0, Ordering::SeqCst);
        futures::future::join_all(["a", "b", "c"].map(work)).await;
        assert_eq!(
            most.load(Ordering::SeqCst),
            3,
            "different keys run together"
        );
        assert!(locks.is_empty(), "unused locks are dropped");
    }
}
