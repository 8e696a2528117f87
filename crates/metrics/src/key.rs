//! The `(metric, tag set)` map key and a hasher that reuses the tag set's
//! precomputed hash, so hot-path lookups hash one integer and clone nothing.

use std::hash::{BuildHasherDefault, Hash, Hasher};

use indexmap::{Equivalent, IndexMap};

use crate::registry::MetricId;
use crate::tags::TagSet;

/// An owned `(metric, tags)` key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) metric: MetricId,
    pub(crate) tags: TagSet,
}

/// A borrowed key for lookups without cloning the tag set.
pub(crate) struct KeyRef<'a> {
    pub(crate) metric: MetricId,
    pub(crate) tags: &'a TagSet,
}

fn mix(metric: MetricId, tags: &TagSet) -> u64 {
    tags.hash_value() ^ u64::from(metric.0).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(mix(self.metric, &self.tags));
    }
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(mix(self.metric, self.tags));
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.metric == key.metric && *self.tags == key.tags
    }
}

/// Passes through the single `u64` a key writes (already well mixed).
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `Key`; FNV-1a keeps the hasher correct for anything else.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// An insertion-ordered map keyed by `(metric, tags)`.
pub(crate) type KeyMap<V> = IndexMap<Key, V, BuildHasherDefault<KeyHasher>>;
