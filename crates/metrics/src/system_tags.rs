//! The system tags k6 knows: the names `systemTags` accepts and the ones it
//! enables by default.

/// Every system tag k6 knows, in k6's order.
pub const SYSTEM_TAGS: &[&str] = &[
    "proto",
    "subproto",
    "status",
    "method",
    "url",
    "name",
    "group",
    "check",
    "error",
    "error_code",
    "tls_version",
    "scenario",
    "service",
    "expected_response",
    "vu",
    "iter",
    "ip",
    "ocsp_status",
];

/// The system tags k6 enables by default, sorted as `k6 inspect` prints them.
pub const DEFAULT_SYSTEM_TAGS: [&str; 14] = [
    "check",
    "error",
    "error_code",
    "expected_response",
    "group",
    "method",
    "name",
    "proto",
    "scenario",
    "service",
    "status",
    "subproto",
    "tls_version",
    "url",
];

/// A set of enabled system tags (`systemTags`), asked on every request:
/// a bit per entry of [`SYSTEM_TAGS`] instead of a hashed set of strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemTagSet(u32);

impl SystemTagSet {
    /// The set of `names`; names that are not system tags are left out.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        Self(
            names
                .into_iter()
                .filter_map(|n| index_of(n.as_ref()))
                .fold(0, |bits, i| bits | 1 << i),
        )
    }

    /// Whether the system tag `name` is enabled.
    pub fn contains(&self, name: &str) -> bool {
        index_of(name).is_some_and(|i| self.0 & (1 << i) != 0)
    }
}

impl Default for SystemTagSet {
    /// k6's default system tags.
    fn default() -> Self {
        Self::from_names(DEFAULT_SYSTEM_TAGS)
    }
}

fn index_of(name: &str) -> Option<usize> {
    SYSTEM_TAGS.iter().position(|t| *t == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_tag_sets_hold_known_names_only() {
        let s = SystemTagSet::from_names(["url", "ip", "bogus"]);
        assert!(s.contains("url") && s.contains("ip"));
        assert!(!s.contains("status") && !s.contains("bogus"));
        let d = SystemTagSet::default();
        assert!(DEFAULT_SYSTEM_TAGS.iter().all(|t| d.contains(t)));
        assert!(!d.contains("vu") && !d.contains("ip") && !d.contains("ocsp_status"));
        assert!(!SystemTagSet::from_names::<&str>([]).contains("url"));
    }

    #[test]
    fn defaults_are_known_and_sorted() {
        assert!(DEFAULT_SYSTEM_TAGS.iter().all(|t| SYSTEM_TAGS.contains(t)));
        assert!(DEFAULT_SYSTEM_TAGS.windows(2).all(|w| w[0] < w[1]));
    }
}
