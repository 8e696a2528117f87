//! Resolved non-scenario settings, grouped by the component that uses them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::options::{
    CompatibilityMode, DnsConfig, HostAddress, IpNet, SummaryMode, SummaryTimeUnit, TlsAuth,
    TlsVersions,
};

/// k6's default `maxRedirects`.
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;
/// k6's default `batch`.
pub const DEFAULT_BATCH: u32 = 20;
/// k6's default `batchPerHost`.
pub const DEFAULT_BATCH_PER_HOST: u32 = 6;
/// k6's default `setupTimeout` and `teardownTimeout`.
pub const DEFAULT_SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// k6's default `metricSamplesBufferSize`.
pub const DEFAULT_METRIC_SAMPLES_BUFFER_SIZE: u64 = 1000;

/// Test lifecycle and VU behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Start paused.
    pub paused: bool,
    /// Skip `setup()`.
    pub no_setup: bool,
    /// Limit for `setup()` (default 60s).
    pub setup_timeout: Duration,
    /// Skip `teardown()`.
    pub no_teardown: bool,
    /// Limit for `teardown()` (default 60s).
    pub teardown_timeout: Duration,
    /// Shortest iteration; VUs sleep out the rest (default 0).
    pub min_iteration_duration: Duration,
    /// Failed requests and similar warnings throw.
    pub throw: bool,
    /// Keep cookies between iterations.
    pub no_cookies_reset: bool,
    /// Tags added to every sample.
    pub tags: BTreeMap<String, String>,
    /// System tags to attach to samples (default: k6's set).
    pub system_tags: Vec<String>,
    /// Sample channel size (default 1000).
    pub metric_samples_buffer_size: u64,
    /// File the console output goes to.
    pub console_output: Option<String>,
    /// Pass the real environment to `__ENV`; `None` leaves the choice to
    /// the command (k6: true for `run`).
    pub include_system_env_vars: Option<bool>,
    /// Script compilation mode.
    pub compatibility_mode: CompatibilityMode,
    /// `-e` variables for `__ENV`.
    pub env: BTreeMap<String, String>,
    /// `ext`, as written.
    pub ext: Option<Value>,
    /// `cloud`, as written.
    pub cloud: Option<Value>,
}

/// HTTP client behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// Requests per second over the whole test; `None` for no limit.
    pub rps: Option<u64>,
    /// Resolver settings.
    pub dns: DnsConfig,
    /// Redirects to follow (default 10).
    pub max_redirects: u32,
    /// User agent; `None` lets the caller use its own default.
    pub user_agent: Option<String>,
    /// Parallel `http.batch` requests (default 20).
    pub batch: u32,
    /// Parallel `http.batch` requests per host (default 6).
    pub batch_per_host: u32,
    /// Log requests: `"headers"` or `"full"`.
    pub http_debug: Option<String>,
    /// Accept any TLS certificate.
    pub insecure_skip_tls_verify: bool,
    /// Allowed cipher suites; `None` for the TLS stack's defaults.
    pub tls_cipher_suites: Option<Vec<String>>,
    /// Allowed TLS versions.
    pub tls_version: TlsVersions,
    /// Client certificates.
    pub tls_auth: Vec<TlsAuth>,
    /// Ranges that must not be contacted.
    pub blacklist_ips: Vec<IpNet>,
    /// Host patterns that must not be contacted.
    pub block_hostnames: Vec<String>,
    /// Name overrides, in declaration order.
    pub hosts: Vec<(String, HostAddress)>,
    /// No keep-alive at all.
    pub no_connection_reuse: bool,
    /// No connection reuse across iterations.
    pub no_vu_connection_reuse: bool,
    /// Read response bodies but keep nothing.
    pub discard_response_bodies: bool,
    /// Local IPs to send from, as written.
    pub local_ips: Option<String>,
}

/// End-of-test summary and thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct SummarySettings {
    /// Trend columns (default avg, min, med, max, p(90), p(95)).
    pub trend_stats: Vec<String>,
    /// Unit for trend values; `None` picks per value.
    pub time_unit: Option<SummaryTimeUnit>,
    /// Summary layout.
    pub mode: SummaryMode,
    /// Print no summary.
    pub no_summary: bool,
    /// Write the summary JSON here.
    pub export: Option<String>,
    /// Do not evaluate thresholds.
    pub no_thresholds: bool,
}

/// Where results go.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutputSettings {
    /// `--out` URIs.
    pub out: Vec<String>,
    /// Keep serving the API after the test.
    pub linger: bool,
    /// Send no usage report.
    pub no_usage_report: bool,
    /// Serve the web dashboard.
    pub web_dashboard: bool,
    /// Traces output, as written.
    pub traces_output: Option<String>,
}
