//! Which option keys each source accepts, and where the others belong.

use crate::suggest::closest;

/// Keys allowed in a script's `options`, in the order `k6 inspect` prints
/// them (k6 v1.1.0), plus `cloud`.
pub const SCRIPT_KEYS: &[&str] = &[
    "paused",
    "vus",
    "duration",
    "iterations",
    "stages",
    "scenarios",
    "executionSegment",
    "executionSegmentSequence",
    "noSetup",
    "setupTimeout",
    "noTeardown",
    "teardownTimeout",
    "rps",
    "dns",
    "maxRedirects",
    "userAgent",
    "batch",
    "batchPerHost",
    "httpDebug",
    "insecureSkipTLSVerify",
    "tlsCipherSuites",
    "tlsVersion",
    "tlsAuth",
    "throw",
    "thresholds",
    "blacklistIPs",
    "blockHostnames",
    "hosts",
    "noConnectionReuse",
    "noVUConnectionReuse",
    "minIterationDuration",
    "ext",
    "summaryTrendStats",
    "summaryTimeUnit",
    "systemTags",
    "tags",
    "metricSamplesBufferSize",
    "noCookiesReset",
    "discardResponseBodies",
    "cloud",
];

/// Keys a `--config` file accepts besides [`SCRIPT_KEYS`].
pub const CONFIG_FILE_KEYS: &[&str] = &[
    "out",
    "linger",
    "noUsageReport",
    "webDashboard",
    "collectors",
];

/// Settings that exist only as a flag and/or an environment variable, by
/// the key people write for them.
const ELSEWHERE: &[(&str, &str)] = &[
    ("out", "--out or K6_OUT"),
    ("linger", "--linger or K6_LINGER"),
    ("noUsageReport", "--no-usage-report or K6_NO_USAGE_REPORT"),
    ("webDashboard", "K6_WEB_DASHBOARD"),
    ("noThresholds", "--no-thresholds or K6_NO_THRESHOLDS"),
    ("noSummary", "--no-summary or K6_NO_SUMMARY"),
    ("summaryMode", "--summary-mode or K6_SUMMARY_MODE"),
    ("summaryExport", "--summary-export or K6_SUMMARY_EXPORT"),
    ("consoleOutput", "--console-output or K6_CONSOLE_OUTPUT"),
    ("localIPs", "--local-ips or K6_LOCAL_IPS"),
    (
        "includeSystemEnvVars",
        "--include-system-env-vars or K6_INCLUDE_SYSTEM_ENV_VARS",
    ),
    (
        "compatibilityMode",
        "--compatibility-mode or K6_COMPATIBILITY_MODE",
    ),
    ("tracesOutput", "--traces-output or K6_TRACES_OUTPUT"),
    ("env", "-e NAME=value"),
    ("noColor", "--no-color"),
    ("quiet", "--quiet"),
    ("verbose", "--verbose"),
];

/// The hint for an unknown key: where it can be set instead, or the
/// closest known key.
pub(crate) fn unknown_key_hint(key: &str, known: &[&str]) -> Option<String> {
    if let Some((_, place)) = ELSEWHERE.iter().find(|(k, _)| *k == key) {
        return Some(format!("it can only be set with {place}"));
    }
    closest(key, known.iter().copied()).map(|k| format!("did you mean \"{k}\"?"))
}
