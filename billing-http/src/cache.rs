//! A small concurrent map from an application key to what it resolved to at the vendor (an id,
//! a customer key), so repeated calls cost no extra lookups.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

/// A concurrent cache with a size bound: when full, it is cleared (simple, and a miss only costs
/// one lookup). Entries a caller knows to be stale must be removed with [`KeyCache::remove`].
#[derive(Debug)]
pub struct KeyCache<K, V> {
    map: RwLock<HashMap<K, V>>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> KeyCache<K, V> {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The cached value.
    pub fn get(&self, key: &K) -> Option<V> {
        self.map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Caches a value.
    pub fn insert(&self, key: K, value: V) {
        let mut map = self
            .map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= self.capacity && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, value);
    }

    /// Forgets a key.
    pub fn remove(&self, key: &K) {
        self.map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }

    /// The number of cached entries.
    pub fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_removable() {
        let c = KeyCache::new(2);
        c.insert("a", 1);
        c.insert("b", 2);
        assert_eq!(c.get(&"a"), Some(1));
        c.insert("c", 3);
        assert_eq!(c.len(), 1, "cleared when full");
        assert_eq!(c.get(&"c"), Some(3));
        c.remove(&"c");
        assert!(c.is_empty());
    }
}
