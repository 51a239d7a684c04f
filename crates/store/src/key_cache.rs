//! Unwrapped data keys kept between calls. Reading a patient's record used to fetch and
//! unwrap their key every time, a query on every read; a busy engine reads the same few
//! patients many times a second.
//!
//! The cache is small and short-lived on purpose: an erased patient's key must not stay
//! in memory, so erasing forgets it here at once, and another process's erasure is
//! forgotten within [`KEEP`] (its rows are gone by then anyway, so the key opens nothing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::crypto::DataKey;

/// How long an unwrapped key is kept after it was unwrapped.
const KEEP: Duration = Duration::from_secs(60);
/// The most keys kept (a few MiB), so memory stays bounded however many patients.
const CAPACITY: usize = 16_384;

#[derive(Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, (Arc<DataKey>, Instant)>>,
}

impl KeyCache {
    pub fn get(&self, key_id: &str) -> Option<Arc<DataKey>> {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.get(key_id)
            .filter(|(_, unwrapped)| unwrapped.elapsed() < KEEP)
            .map(|(key, _)| key.clone())
    }

    pub fn insert(&self, key_id: &str, key: Arc<DataKey>) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.len() >= CAPACITY {
            keys.retain(|_, (_, unwrapped)| unwrapped.elapsed() < KEEP);
        }
        if keys.len() >= CAPACITY {
            // Still full of fresh keys: an eighth makes room, so the scan above runs
            // once per CAPACITY / 8 inserts at most.
            let gone: Vec<String> = keys.keys().take(CAPACITY / 8).cloned().collect();
            for key_id in gone {
                keys.remove(&key_id);
            }
        }
        keys.insert(key_id.to_owned(), (key, Instant::now()));
    }

    pub fn forget(&self, key_id: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.remove(key_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{MasterKey, Vault};

    fn key() -> Arc<DataKey> {
        let vault = Vault::new(&MasterKey::generate().expect("randomness"));
        Arc::new(vault.new_data_key("k").0)
    }

    #[test]
    fn a_forgotten_key_is_gone() {
        let cache = KeyCache::default();
        cache.insert("k", key());
        assert!(cache.get("k").is_some());
        cache.forget("k");
        assert!(cache.get("k").is_none());
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let cache = KeyCache::default();
        let key = key();
        for n in 0..CAPACITY + 10 {
            cache.insert(&n.to_string(), key.clone());
        }
        let kept = cache.keys.lock().expect("lock").len();
        assert!(kept <= CAPACITY, "{kept} keys kept");
        assert!(cache.get(&(CAPACITY + 9).to_string()).is_some());
    }
}
