//! Metric definitions and the registry that hands out their ids.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::builtin::Builtin;
use crate::error::MetricError;
use crate::kind::{MetricType, ValueType};

/// A metric's index in its [`Registry`]; built-ins come first (see [`Builtin`]).
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug, Ord, PartialOrd)]
pub struct MetricId(pub u32);

/// A cheap handle to a registered metric, used on the hot path.
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
pub struct Metric {
    /// Where the metric sits in the registry.
    pub id: MetricId,
    /// Its type, so sinks can aggregate without a registry lookup.
    pub kind: MetricType,
}

/// A metric's full definition; serializes as `{"name", "type", "contains"}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetricDef {
    /// The metric name.
    pub name: Arc<str>,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: MetricType,
    /// What its values measure.
    pub contains: ValueType,
}

#[derive(Debug)]
struct Inner {
    defs: Vec<MetricDef>,
    by_name: HashMap<Arc<str>, MetricId>,
}

/// All metrics of a run: built-ins with fixed ids, then custom metrics by name.
///
/// Shared as `Arc<Registry>`; registration takes a write lock, lookups a read
/// lock. The hot path never touches it: sinks work with [`Metric`] handles.
#[derive(Debug)]
pub struct Registry {
    inner: RwLock<Inner>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `name` is a metric name k6 v1 accepts: `^[a-zA-Z_][a-zA-Z0-9_]{1,128}$`.
///
/// Note the `{1,128}`: k6 rejects one-character names and accepts 129 characters.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some((first, rest)) = bytes.split_first() else {
        return false;
    };
    (first.is_ascii_alphabetic() || *first == b'_')
        && (1..=128).contains(&rest.len())
        && rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

impl Registry {
    /// A registry holding only the built-in metrics, in [`Builtin::ALL`] order.
    pub fn new() -> Self {
        let mut inner = Inner {
            defs: Vec::with_capacity(Builtin::ALL.len() + 16),
            by_name: HashMap::new(),
        };
        for b in Builtin::ALL {
            let name: Arc<str> = Arc::from(b.name());
            inner.by_name.insert(name.clone(), b.id());
            inner.defs.push(MetricDef {
                name,
                kind: b.kind(),
                contains: b.contains(),
            });
        }
        Registry {
            inner: RwLock::new(inner),
        }
    }

    /// Registers a metric, or returns the existing one if it has the same type
    /// and value type; errors (with k6's messages) on an invalid name or a
    /// conflicting definition.
    pub fn register(
        &self,
        name: &str,
        kind: MetricType,
        contains: ValueType,
    ) -> Result<Metric, MetricError> {
        if !is_valid_name(name) {
            return Err(MetricError::InvalidName(name.to_owned()));
        }
        if let Some(found) = self.check_existing(name, kind, contains) {
            return found;
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        // Someone may have registered it between the two locks.
        if let Some(&id) = inner.by_name.get(name) {
            return compatible(&inner.defs[id.0 as usize], id, kind, contains);
        }
        let id = MetricId(u32::try_from(inner.defs.len()).expect("fewer than 2^32 metrics"));
        let name: Arc<str> = Arc::from(name);
        inner.by_name.insert(name.clone(), id);
        inner.defs.push(MetricDef {
            name,
            kind,
            contains,
        });
        Ok(Metric { id, kind })
    }

    fn check_existing(
        &self,
        name: &str,
        kind: MetricType,
        contains: ValueType,
    ) -> Option<Result<Metric, MetricError>> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let &id = inner.by_name.get(name)?;
        Some(compatible(&inner.defs[id.0 as usize], id, kind, contains))
    }

    /// The metric registered under `name`.
    pub fn lookup(&self, name: &str) -> Option<Metric> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let &id = inner.by_name.get(name)?;
        Some(Metric {
            id,
            kind: inner.defs[id.0 as usize].kind,
        })
    }

    /// The definition of a registered metric.
    ///
    /// # Panics
    /// If `id` was not handed out by this registry.
    pub fn def(&self, id: MetricId) -> MetricDef {
        self.get_def(id)
            .unwrap_or_else(|| panic!("metric id {} is not registered", id.0))
    }

    /// The definition of `id`, or `None` if this registry never handed it out.
    pub fn get_def(&self, id: MetricId) -> Option<MetricDef> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.defs.get(id.0 as usize).cloned()
    }

    /// Every definition, indexed by id.
    pub fn defs(&self) -> Vec<MetricDef> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.defs.clone()
    }

    /// How many metrics are registered (built-ins included).
    pub fn len(&self) -> usize {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.defs.len()
    }

    /// Always false: the built-ins are always there.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn compatible(
    def: &MetricDef,
    id: MetricId,
    kind: MetricType,
    contains: ValueType,
) -> Result<Metric, MetricError> {
    if def.kind != kind {
        return Err(MetricError::TypeConflict {
            name: def.name.to_string(),
            existing: def.kind,
            requested: kind,
        });
    }
    if def.contains != contains {
        return Err(MetricError::ValueTypeConflict {
            name: def.name.to_string(),
            existing: def.contains,
            requested: contains,
        });
    }
    Ok(Metric { id, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_preregistered_with_fixed_ids() {
        let reg = Registry::new();
        assert_eq!(reg.len(), Builtin::ALL.len());
        for b in Builtin::ALL {
            assert_eq!(reg.lookup(b.name()), Some(b.metric()));
            let def = reg.def(b.id());
            assert_eq!(&*def.name, b.name());
            assert_eq!(def.kind, b.kind());
            assert_eq!(def.contains, b.contains());
        }
    }

    #[test]
    fn register_is_idempotent() {
        let reg = Registry::new();
        let a = reg
            .register("my_trend", MetricType::Trend, ValueType::Time)
            .unwrap();
        let b = reg
            .register("my_trend", MetricType::Trend, ValueType::Time)
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.id, MetricId(Builtin::ALL.len() as u32));
        assert_eq!(reg.defs().len(), Builtin::ALL.len() + 1);
        assert_eq!(
            reg.register("http_reqs", MetricType::Counter, ValueType::Default),
            Ok(Builtin::HttpReqs.metric())
        );
    }

    #[test]
    fn conflicts_use_k6_messages() {
        let reg = Registry::new();
        let err = reg
            .register("http_reqs", MetricType::Trend, ValueType::Default)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "metric 'http_reqs' already exists but with type counter, instead of trend"
        );
        let err = reg
            .register("http_req_duration", MetricType::Trend, ValueType::Default)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "metric 'http_req_duration' already exists but with a value type time, instead of default"
        );
    }

    #[test]
    fn names_are_validated_like_k6() {
        // Checked against k6 v1.1.0 with `new Counter(name)`.
        for ok in ["_x", "A9_", "ab", &"a".repeat(129)] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "_",
            "a-b",
            "1abc",
            "é",
            "a.b",
            "a b",
            "ab\n",
            &"a".repeat(130),
        ] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
        let err = Registry::new()
            .register("a-b", MetricType::Counter, ValueType::Default)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid metric name: 'a-b'. Metric names must only include up to 128 ASCII letters, \
             numbers, or underscores and start with a letter or an underscore."
        );
    }

    #[test]
    fn registry_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Registry>();
    }
}
