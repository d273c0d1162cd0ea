//! Unwrapped data keys kept in memory for a short while: every request that
//! shows client data would otherwise read the key store and unwrap the key
//! again. Keys sit behind `Arc` and are zeroized when the last user drops them.
//!
//! Crypto-shredding still holds in this process: `Keyring::shred` deletes the
//! wrapped key, then evicts it here and bumps the generation, and a lookup
//! that read the key store before that bump never stores what it read. Another
//! process sharing the key store (a second node on PostgreSQL) keeps its copy
//! until `LIFETIME` ends; by then the account row is gone too, so no session
//! reaches it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use regroup_vault::DataKey;

/// How long an unwrapped key stays cached after it was read.
pub const LIFETIME: Duration = Duration::from_secs(60);
/// At most this many keys are held; a full cache first drops expired ones,
/// then is cleared (the next lookups refill it from the key store).
const CAPACITY: usize = 1024;

#[derive(Default)]
pub struct KeyCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    keys: HashMap<String, (Arc<DataKey>, Instant)>,
    /// Bumped by every eviction, so a lookup that raced one drops its result.
    generation: u64,
}

/// Taken before reading the key store; `KeyCache::put` accepts a key only
/// if no eviction happened since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generation(u64);

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the map half-changed
        // (each change is one HashMap call), so a poisoned lock is still sound.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The owner's key, if cached and still fresh, else the generation to
    /// hand back to `put` after reading the key store.
    pub fn get(&self, owner_id: &str, now: Instant) -> Result<Arc<DataKey>, Generation> {
        let inner = self.lock();
        match inner.keys.get(owner_id) {
            Some((key, until)) if now < *until => Ok(Arc::clone(key)),
            _ => Err(Generation(inner.generation)),
        }
    }

    /// Keeps `key` unless an eviction happened since `seen` was taken.
    pub fn put(&self, owner_id: &str, key: Arc<DataKey>, seen: Generation, now: Instant) {
        let mut inner = self.lock();
        if inner.generation != seen.0 {
            return;
        }
        if inner.keys.len() >= CAPACITY {
            inner.keys.retain(|_, (_, until)| now < *until);
            if inner.keys.len() >= CAPACITY {
                inner.keys.clear();
            }
        }
        inner
            .keys
            .insert(owner_id.to_owned(), (key, now + LIFETIME));
    }

    /// Forgets the owner's key; lookups already under way do not store theirs.
    pub fn evict(&self, owner_id: &str) {
        let mut inner = self.lock();
        inner.keys.remove(owner_id);
        inner.generation += 1;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_key_is_served_until_its_lifetime_ends() {
        let cache = KeyCache::default();
        let now = Instant::now();
        let seen = cache.get("a", now).expect_err("empty at first");
        cache.put("a", Arc::new(DataKey::generate()), seen, now);
        assert!(cache.get("a", now + LIFETIME / 2).is_ok());
        assert!(cache.get("a", now + LIFETIME).is_err());
    }

    #[test]
    fn an_evicted_key_is_no_longer_served() {
        let cache = KeyCache::default();
        let now = Instant::now();
        let seen = cache.get("a", now).expect_err("empty at first");
        cache.put("a", Arc::new(DataKey::generate()), seen, now);
        cache.evict("a");
        assert!(cache.get("a", now).is_err());
    }

    #[test]
    fn a_lookup_that_raced_an_eviction_does_not_store_its_key() {
        let cache = KeyCache::default();
        let now = Instant::now();
        // The lookup starts, reads the key store (still holding the key)...
        let seen = cache.get("a", now).expect_err("empty at first");
        // ...meanwhile the key is destroyed and evicted...
        cache.evict("a");
        // ...so what the lookup read must not be cached.
        cache.put("a", Arc::new(DataKey::generate()), seen, now);
        assert!(cache.get("a", now).is_err());
    }

    #[test]
    fn a_full_cache_never_grows_past_its_capacity() {
        let cache = KeyCache::default();
        let now = Instant::now();
        for i in 0..CAPACITY + 10 {
            let owner = i.to_string();
            let seen = cache.get(&owner, now).expect_err("not cached yet");
            cache.put(&owner, Arc::new(DataKey::generate()), seen, now);
        }
        assert!(cache.len() <= CAPACITY);
    }
}
