//! Idempotency keys of one sale: the first outcome of each key, kept for at
//! least the configured TTL and at most twice that, so memory stays bounded
//! by the request rate whatever the length of the test.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// What a key's first processed request answered.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    /// Hash of the `userId` that used the key, to refuse its reuse by
    /// another request.
    pub(crate) user: u64,
}

/// The slot of one key: empty until a request is processed under it. Two
/// concurrent requests with one key share the slot, and `OnceLock` lets only
/// one of them run (the other waits the few instructions that takes).
pub(crate) type Slot = Arc<OnceLock<Outcome>>;

const SHARDS: usize = 16;

#[derive(Debug)]
pub(crate) struct Keys {
    ttl: Duration,
    hasher: RandomState,
    // Sharded so concurrent orders rarely wait on one another's lock.
    shards: Vec<Mutex<Shard>>,
}

#[derive(Debug)]
struct Shard {
    current: HashMap<String, Slot>,
    previous: HashMap<String, Slot>,
    rotated: Instant,
}

impl Keys {
    pub(crate) fn new(ttl: Duration) -> Keys {
        let now = Instant::now();
        Keys {
            ttl: ttl.max(Duration::from_millis(1)),
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        current: HashMap::new(),
                        previous: HashMap::new(),
                        rotated: now,
                    })
                })
                .collect(),
        }
    }

    /// The slot of `key`, created empty if the key is new (or expired).
    pub(crate) fn slot(&self, key: &str) -> Slot {
        self.slot_at(key, Instant::now())
    }

    /// The outcome already recorded under `key`, without remembering the
    /// key if it is new (requests turned away never fill the store).
    pub(crate) fn outcome(&self, key: &str) -> Option<Outcome> {
        let shard = self.shard(key, Instant::now());
        let slot = shard.current.get(key).or_else(|| shard.previous.get(key))?;
        slot.get().cloned()
    }

    fn slot_at(&self, key: &str, now: Instant) -> Slot {
        let mut shard = self.shard(key, now);
        if let Some(slot) = shard.current.get(key).or_else(|| shard.previous.get(key)) {
            return slot.clone();
        }
        let slot = Slot::default();
        shard.current.insert(key.to_string(), slot.clone());
        slot
    }

    /// The shard of `key`, rotated if due.
    fn shard(&self, key: &str, now: Instant) -> std::sync::MutexGuard<'_, Shard> {
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        let age = now.saturating_duration_since(shard.rotated);
        if age >= self.ttl {
            // Everything in `previous` is at least one TTL old.
            shard.previous = std::mem::take(&mut shard.current);
            if age >= self.ttl * 2 {
                shard.previous.clear();
            }
            shard.rotated = now;
        }
        shard
    }

    /// Keys remembered (some may be past their TTL).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap();
                s.current.len() + s.previous.len()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: u16) -> Outcome {
        Outcome {
            status,
            body: Bytes::new(),
            user: 0,
        }
    }

    #[test]
    fn a_key_keeps_its_first_outcome() {
        let keys = Keys::new(Duration::from_secs(60));
        let a = keys.slot("k");
        a.get_or_init(|| outcome(200));
        let b = keys.slot("k");
        assert_eq!(b.get_or_init(|| outcome(409)).status, 200);
        assert!(keys.slot("other").get().is_none());
        assert_eq!(keys.outcome("k").unwrap().status, 200);
        // Looking up an unknown key does not remember it.
        assert!(keys.outcome("unknown").is_none());
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn keys_live_one_to_two_ttls() {
        let ttl = Duration::from_secs(10);
        let keys = Keys::new(ttl);
        let t0 = Instant::now();
        keys.slot_at("old", t0).get_or_init(|| outcome(200));
        // Still there just before one TTL, and just after (in `previous`).
        assert!(keys.slot_at("old", t0 + ttl / 2).get().is_some());
        assert!(keys.slot_at("old", t0 + ttl + ttl / 2).get().is_some());
        // Gone two TTLs after the rotation that moved it.
        assert!(keys.slot_at("x", t0 + ttl * 3).get().is_none());
        assert!(keys.slot_at("old", t0 + ttl * 3).get().is_none());
        assert!(keys.len() <= 3);
    }
}
