//! A small concurrent map from an application key to what it resolved to at the vendor (an id,
//! a customer key), so repeated calls cost no extra lookups.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};

use billing_core::MAX_PAGE_LIMIT;

/// Entries a cache keeps from listings: two of the largest pages. A walk over every customer
/// therefore holds a page's worth of entries, never one per customer.
pub const LISTED_CAPACITY: usize = 2 * MAX_PAGE_LIMIT as usize;

/// Entries a cache of the application's keys holds by default ([`KeyCache::default`]): enough
/// for a busy service's working set, a few MB at most.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A concurrent cache with a size bound: when full, it is cleared (simple, and a miss only costs
/// one lookup). Entries a caller knows to be stale must be removed with [`KeyCache::remove`].
///
/// What listings return goes to a second, page-sized part ([`KeyCache::insert_listed`]): the
/// page just listed stays cached (so the next calls on its keys cost no lookup), but a walk over
/// 100,000 customers does not fill the cache with 100,000 keys nobody may use again.
#[derive(Debug)]
pub struct KeyCache<K, V> {
    maps: RwLock<Maps<K, V>>,
    capacity: usize,
}

#[derive(Debug)]
struct Maps<K, V> {
    /// Keys the application used (created, read, looked up).
    keyed: HashMap<K, V>,
    /// Keys seen in listings only.
    listed: HashMap<K, V>,
}

impl<K: Eq + Hash + Clone, V: Clone> Default for KeyCache<K, V> {
    /// A cache of [`DEFAULT_CAPACITY`] entries, plus [`LISTED_CAPACITY`] from listings.
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl<K: Eq + Hash + Clone, V: Clone> KeyCache<K, V> {
    /// A cache of at most `capacity` entries, plus [`LISTED_CAPACITY`] from listings.
    pub fn new(capacity: usize) -> Self {
        Self {
            maps: RwLock::new(Maps {
                keyed: HashMap::new(),
                listed: HashMap::new(),
            }),
            capacity: capacity.max(1),
        }
    }

    /// The cached value.
    pub fn get(&self, key: &K) -> Option<V> {
        let maps = self.maps.read().unwrap_or_else(PoisonError::into_inner);
        maps.keyed
            .get(key)
            .or_else(|| maps.listed.get(key))
            .cloned()
    }

    /// Caches a value for a key the application used.
    pub fn insert(&self, key: K, value: V) {
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        maps.listed.remove(&key);
        if maps.keyed.len() >= self.capacity && !maps.keyed.contains_key(&key) {
            maps.keyed.clear();
        }
        maps.keyed.insert(key, value);
    }

    /// Caches what one listed page says, in the page-sized part (emptied first when the page
    /// would not fit, so the whole page stays). A key the application already used is updated
    /// where it is.
    pub fn insert_listed(&self, page: impl IntoIterator<Item = (K, V)>) {
        let page: Vec<(K, V)> = page.into_iter().collect();
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        if maps.listed.len() + page.len() > LISTED_CAPACITY {
            maps.listed.clear();
        }
        for (key, value) in page {
            match maps.keyed.get_mut(&key) {
                Some(v) => *v = value,
                None => {
                    maps.listed.insert(key, value);
                }
            }
        }
    }

    /// Forgets a key.
    pub fn remove(&self, key: &K) {
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        maps.keyed.remove(key);
        maps.listed.remove(key);
    }

    /// The number of cached entries.
    pub fn len(&self) -> usize {
        let maps = self.maps.read().unwrap_or_else(PoisonError::into_inner);
        maps.keyed.len() + maps.listed.len()
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

    #[test]
    fn listings_keep_about_a_page() {
        let c = KeyCache::new(10 * LISTED_CAPACITY);
        c.insert(0, 0);
        let page = 700;
        for p in 0..10 {
            c.insert_listed((1..=page).map(|i| (p * page + i, i)));
            // The page just listed is all there, and never more than the listed part's bound.
            assert!((1..=page).all(|i| c.get(&(p * page + i)).is_some()));
            assert!(c.len() <= 1 + LISTED_CAPACITY);
        }
        assert_eq!(c.get(&0), Some(0), "keys the application used stay");
        c.insert_listed([(0, 42)]);
        assert_eq!(c.get(&0), Some(42), "updated in place");
        c.insert(7 * page + 1, 5);
        assert_eq!(c.get(&(7 * page + 1)), Some(5));
        c.remove(&(7 * page + 1));
        assert_eq!(c.get(&(7 * page + 1)), None, "removed from both parts");
    }
}
