//! `TagSet`: an immutable, sorted set of tags that is cheap to clone and hash.

use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of tags, sorted by key with unique keys.
///
/// Cloning copies an `Arc`; hashing writes a hash computed once at
/// construction, so using a `TagSet` as (part of) a map key on the hot path
/// costs no string hashing. Serializes as a JSON object `{"k": "v"}`.
#[derive(Clone)]
pub struct TagSet(Arc<Inner>);

struct Inner {
    hash: u64,
    pairs: Box<[(Box<str>, Box<str>)]>,
}

impl TagSet {
    /// The empty set (shared, no allocation).
    pub fn empty() -> Self {
        static EMPTY: OnceLock<TagSet> = OnceLock::new();
        EMPTY
            .get_or_init(|| TagSet::from_sorted(Vec::new()))
            .clone()
    }

    /// A set from `(key, value)` pairs; when a key repeats, the later value wins.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut v: Vec<(Box<str>, Box<str>)> = pairs
            .into_iter()
            .map(|(k, v)| (Box::from(k.as_ref()), Box::from(v.as_ref())))
            .collect();
        if v.is_empty() {
            return TagSet::empty();
        }
        // A stable sort keeps repeated keys in input order, so the last one of
        // each run is the one that was given last.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Box<str>, Box<str>)> = Vec::with_capacity(v.len());
        for pair in v {
            match out.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => out.push(pair),
            }
        }
        TagSet::from_sorted(out)
    }

    fn from_sorted(pairs: Vec<(Box<str>, Box<str>)>) -> Self {
        // DefaultHasher::new() uses fixed keys, so equal sets hash equally
        // across threads and processes.
        let mut h = DefaultHasher::new();
        pairs.hash(&mut h);
        TagSet(Arc::new(Inner {
            hash: h.finish(),
            pairs: pairs.into_boxed_slice(),
        }))
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.pairs.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    /// The value of tag `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).ok().map(|i| &*self.0.pairs[i].1)
    }

    /// The tags, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.0.pairs.iter().map(|(k, v)| (&**k, &**v))
    }

    /// A copy with tag `key` set to `value`.
    pub fn with(&self, key: &str, value: &str) -> TagSet {
        let mut pairs = self.0.pairs.to_vec();
        match self.position(key) {
            Ok(i) if &*pairs[i].1 == value => return self.clone(),
            Ok(i) => pairs[i].1 = Box::from(value),
            Err(i) => pairs.insert(i, (Box::from(key), Box::from(value))),
        }
        TagSet::from_sorted(pairs)
    }

    /// A copy without tag `key`.
    pub fn without(&self, key: &str) -> TagSet {
        match self.position(key) {
            Ok(i) => {
                let mut pairs = self.0.pairs.to_vec();
                pairs.remove(i);
                TagSet::from_sorted(pairs)
            }
            Err(_) => self.clone(),
        }
    }

    /// Whether every `(key, value)` of `selector` is in this set.
    pub fn contains(&self, selector: &TagSet) -> bool {
        if Arc::ptr_eq(&self.0, &selector.0) || selector.is_empty() {
            return true;
        }
        // Both sides are sorted: one merge walk.
        let mut mine = self.0.pairs.iter();
        'outer: for (sk, sv) in selector.0.pairs.iter() {
            for (k, v) in mine.by_ref() {
                match (**k).cmp(&**sk) {
                    std::cmp::Ordering::Less => continue,
                    std::cmp::Ordering::Equal if v == sv => continue 'outer,
                    _ => return false,
                }
            }
            return false;
        }
        true
    }

    /// The number of tags.
    pub fn len(&self) -> usize {
        self.0.pairs.len()
    }

    /// Whether there are no tags.
    pub fn is_empty(&self) -> bool {
        self.0.pairs.is_empty()
    }

    /// Whether both are the same allocation (equal without comparing tags).
    pub fn ptr_eq(&self, other: &TagSet) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The hash computed at construction (what `Hash` writes).
    pub fn hash_value(&self) -> u64 {
        self.0.hash
    }
}

impl Default for TagSet {
    fn default() -> Self {
        TagSet::empty()
    }
}

impl PartialEq for TagSet {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.hash == other.0.hash && self.0.pairs == other.0.pairs)
    }
}

impl Eq for TagSet {}

impl Hash for TagSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

impl PartialOrd for TagSet {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TagSet {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.pairs.cmp(&other.0.pairs)
    }
}

impl fmt::Debug for TagSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for TagSet {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        TagSet::from_pairs(iter)
    }
}

impl Serialize for TagSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for TagSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagVisitor;
        impl<'de> Visitor<'de> for TagVisitor {
            type Value = TagSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string tags")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TagSet, A::Error> {
                let mut pairs: Vec<(String, String)> = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(TagSet::from_pairs(pairs))
            }
        }
        deserializer.deserialize_map(TagVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(pairs: &[(&str, &str)]) -> TagSet {
        TagSet::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn sorted_and_later_key_wins() {
        let t = ts(&[("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![("a", "2"), ("b", "3")]);
        assert_eq!(t.get("b"), Some("3"));
        assert_eq!(t.get("c"), None);
        assert_eq!(t.len(), 2);
        assert!(TagSet::empty().is_empty());
        assert_eq!(ts(&[]), TagSet::empty());
    }

    #[test]
    fn with_and_without() {
        let t = ts(&[("b", "1")]);
        let t2 = t.with("a", "x").with("c", "y").with("b", "2");
        assert_eq!(t2, ts(&[("a", "x"), ("b", "2"), ("c", "y")]));
        assert_eq!(t2.without("b"), ts(&[("a", "x"), ("c", "y")]));
        assert_eq!(t2.without("zz"), t2);
        assert_eq!(t.get("b"), Some("1"), "original untouched");
    }

    #[test]
    fn contains_selector() {
        let t = ts(&[("method", "GET"), ("name", "x"), ("status", "200")]);
        assert!(t.contains(&TagSet::empty()));
        assert!(t.contains(&ts(&[("status", "200")])));
        assert!(t.contains(&ts(&[("status", "200"), ("method", "GET")])));
        assert!(!t.contains(&ts(&[("status", "201")])));
        assert!(!t.contains(&ts(&[("zzz", "1")])));
        assert!(!t.contains(&ts(&[("a", "1")])));
        assert!(!TagSet::empty().contains(&ts(&[("a", "1")])));
    }

    #[test]
    fn serde_as_object() {
        let t = ts(&[("z", "1"), ("a", "2")]);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"a":"2","z":"1"}"#);
        let back: TagSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }

    proptest! {
        #[test]
        fn contains_matches_naive(
            a in proptest::collection::vec(("[a-d]", "[xy]"), 0..5),
            b in proptest::collection::vec(("[a-d]", "[xy]"), 0..3),
        ) {
            let ta = TagSet::from_pairs(a.clone());
            let tb = TagSet::from_pairs(b);
            let naive = tb.iter().all(|(k, v)| ta.get(k) == Some(v));
            prop_assert_eq!(ta.contains(&tb), naive);
            // Equal sets hash equally however they were built.
            let rebuilt = TagSet::from_pairs(ta.iter().collect::<Vec<_>>().into_iter().rev());
            prop_assert_eq!(rebuilt.hash_value(), ta.hash_value());
            prop_assert_eq!(rebuilt, ta);
        }
    }
}
