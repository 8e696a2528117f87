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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_known_and_sorted() {
        assert!(DEFAULT_SYSTEM_TAGS.iter().all(|t| SYSTEM_TAGS.contains(t)));
        assert!(DEFAULT_SYSTEM_TAGS.windows(2).all(|w| w[0] < w[1]));
    }
}
