//! The scenario file as written: serde types that reject unknown keys, with
//! the JSON Schema derived from them (so the published schema and the parser
//! cannot disagree). Meaning — which template names exist, whether a check
//! key is known, the order of `once` requests — is `validate.rs`'s.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A declarative load test.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// What the test is, for people (shown nowhere else).
    #[serde(default)]
    pub name: Option<String>,
    /// Prefix of every request URL that does not start with a scheme.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The executor and its parameters (k6's, in snake_case).
    pub load: Load,
    /// Named values for templates: strings, numbers, booleans or lists
    /// (lists feed `{{random_item name}}`).
    #[serde(default)]
    pub variables: BTreeMap<String, serde_json::Value>,
    /// Rows of test data from CSV or JSON files, one row per iteration.
    #[serde(default)]
    pub feeders: BTreeMap<String, Feeder>,
    /// Settings every request inherits.
    #[serde(default)]
    pub defaults: Defaults,
    /// Protocol settings.
    #[serde(default)]
    pub http: HttpOptions,
    /// How an iteration picks its requests: `sequence` runs every request
    /// in order, `weighted` picks one by `weight`. Default: `weighted` when
    /// any request has a weight, else `sequence`.
    #[serde(default)]
    pub flow: Option<Flow>,
    /// Requests run once, in order, before the load (k6's `setup()`): a
    /// failed check among them fails the run before any load.
    #[serde(default)]
    pub setup: Vec<RequestSpec>,
    /// The requests.
    pub requests: Vec<RequestSpec>,
    /// k6 thresholds: metric (with an optional `{tag:value}` selector) to
    /// expressions.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Vec<String>>,
}

/// k6's executors and their parameters.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// `constant-vus` (default), `ramping-vus`, `constant-arrival-rate`,
    /// `ramping-arrival-rate`, `shared-iterations` or `per-vu-iterations`.
    #[serde(default)]
    pub executor: Option<Executor>,
    /// VUs (each with its own connections and cookies).
    #[serde(default)]
    pub vus: Option<u64>,
    /// k6 duration (`30s`, `1m30s`).
    #[serde(default)]
    pub duration: Option<String>,
    /// Iterations (shared or per VU).
    #[serde(default)]
    pub iterations: Option<u64>,
    /// Iterations per `time_unit` (arrival-rate executors).
    #[serde(default)]
    pub rate: Option<u64>,
    /// Unit of `rate` (default `1s`).
    #[serde(default)]
    pub time_unit: Option<String>,
    /// Pre-allocated VUs of an arrival-rate executor (k6's
    /// `preAllocatedVUs`).
    #[serde(default, alias = "pre_allocated_vus")]
    pub pool: Option<u64>,
    /// Most VUs an arrival-rate executor may use.
    #[serde(default)]
    pub max_vus: Option<u64>,
    /// VUs at the start of `ramping-vus`.
    #[serde(default)]
    pub start_vus: Option<u64>,
    /// Rate at the start of `ramping-arrival-rate`.
    #[serde(default)]
    pub start_rate: Option<u64>,
    /// Stages of the ramping executors.
    #[serde(default)]
    pub stages: Option<Vec<Stage>>,
    /// Time running iterations get to finish at the end.
    #[serde(default)]
    pub graceful_stop: Option<String>,
    /// Time iterations of VUs ramped down get to finish.
    #[serde(default)]
    pub graceful_ramp_down: Option<String>,
    /// Limit of the iteration-based executors.
    #[serde(default)]
    pub max_duration: Option<String>,
}

/// k6's executors that need no code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Executor {
    /// A fixed number of VUs looping for a duration.
    ConstantVus,
    /// VUs following stages.
    RampingVus,
    /// A fixed rate of iteration starts.
    ConstantArrivalRate,
    /// A rate of iteration starts following stages.
    RampingArrivalRate,
    /// Iterations shared by the VUs.
    SharedIterations,
    /// Iterations for each VU.
    PerVuIterations,
}

impl Executor {
    /// k6's name.
    pub fn name(self) -> &'static str {
        match self {
            Executor::ConstantVus => "constant-vus",
            Executor::RampingVus => "ramping-vus",
            Executor::ConstantArrivalRate => "constant-arrival-rate",
            Executor::RampingArrivalRate => "ramping-arrival-rate",
            Executor::SharedIterations => "shared-iterations",
            Executor::PerVuIterations => "per-vu-iterations",
        }
    }
}

/// One stage of a ramping executor.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: String,
    /// VUs or rate at its end.
    pub target: u64,
}

/// A file of rows.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Feeder {
    /// A CSV file with a header line (relative to the scenario file).
    #[serde(default)]
    pub csv: Option<String>,
    /// A JSON file holding an array of objects.
    #[serde(default)]
    pub json: Option<String>,
    /// Which row an iteration gets.
    #[serde(default)]
    pub order: Order,
}

/// How rows are handed out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Each iteration the next row, wrapping around (shared by all VUs).
    #[default]
    Sequential,
    /// A random row each iteration.
    Random,
    /// Each row once in the whole run; an iteration finding none left fails.
    Unique,
}

/// How an iteration picks requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// Every request, in order.
    Sequence,
    /// One request, picked by weight.
    Weighted,
}

/// Settings every request inherits.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Headers of every request (a request's own win).
    #[serde(default)]
    pub headers: BTreeMap<String, Text>,
    /// Request timeout (default `60s`, k6's).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Pause after each request.
    #[serde(default)]
    pub think_time: Option<ThinkTime>,
    /// Retry policy of every request.
    #[serde(default)]
    pub retry: Option<Retry>,
    /// Tags of every request's metrics.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Protocol settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpOptions {
    /// `"1.1"` (HTTP/1.1 only) or `"2"` (HTTP/2 over TLS, negotiated by
    /// ALPN). Default: as k6, HTTP/2 offered by ALPN over TLS.
    #[serde(default)]
    pub version: Option<Text>,
    /// Redirects followed (default 10, k6's).
    #[serde(default)]
    pub max_redirects: Option<u32>,
    /// Keep a cookie jar per VU for the whole run (default true).
    #[serde(default)]
    pub cookies: Option<bool>,
    /// Accept any server certificate.
    #[serde(default)]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Lowest TLS version: `tls1.2` or `tls1.3`.
    #[serde(default)]
    pub tls_min: Option<String>,
    /// Highest TLS version: `tls1.2` or `tls1.3`.
    #[serde(default)]
    pub tls_max: Option<String>,
    /// `User-Agent` of every request.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Read response bodies but keep none (faster; no checks or extraction
    /// on bodies then).
    #[serde(default)]
    pub discard_response_bodies: Option<bool>,
    /// PEM files of certificate authorities trusted besides the built-in
    /// Mozilla roots (relative to the scenario file): for servers whose
    /// certificates a private CA signed.
    #[serde(default)]
    pub ca_certs: Vec<String>,
    /// Client certificates (k6's `tlsAuth`) offered to servers that ask
    /// for one.
    #[serde(default)]
    pub tls_auth: Vec<TlsAuth>,
}

/// A client certificate (k6's `tlsAuth` entry), its PEM files relative to
/// the scenario file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsAuth {
    /// PEM certificate chain, leaf first.
    pub cert: String,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1; not encrypted).
    pub key: String,
    /// Hosts offered this certificate first (`*.example.com` wildcards);
    /// other hosts get the first certificate they accept.
    #[serde(default)]
    pub domains: Vec<String>,
}

/// A pause: fixed, or uniformly random between two bounds.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ThinkTime {
    /// A fixed pause (`1s`).
    Fixed(String),
    /// A random pause.
    Range {
        /// Shortest.
        min: String,
        /// Longest.
        max: String,
    },
}

/// Retry policy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Statuses that are retried.
    #[serde(default)]
    pub on: Vec<u16>,
    /// Retry network errors (no response) as well.
    #[serde(default)]
    pub on_error: bool,
    /// Retries after the first attempt.
    pub max: u32,
    /// `exponential` (default) or `constant`.
    #[serde(default)]
    pub backoff: Backoff,
    /// First delay (default `100ms`).
    #[serde(default)]
    pub base: Option<String>,
    /// Longest delay (default `10s`).
    #[serde(default)]
    pub max_delay: Option<String>,
    /// Randomize each delay between half and all of it (default true).
    #[serde(default)]
    pub jitter: Option<bool>,
}

/// Growth of retry delays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Backoff {
    /// `base`, `2·base`, `4·base`...
    #[default]
    Exponential,
    /// `base` each time.
    Constant,
}

/// When a request runs only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Once {
    /// In the first iteration of each VU (a VU owns its connections, so
    /// `per-connection` is the same).
    #[serde(alias = "per-connection")]
    PerVu,
}

/// A string, number or boolean, used as text.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Text {
    /// Text.
    Str(String),
    /// A number, as written.
    Num(serde_json::Number),
    /// `true` / `false`.
    Bool(bool),
}

impl Text {
    /// The value as text.
    pub fn as_text(&self) -> String {
        match self {
            Text::Str(s) => s.clone(),
            Text::Num(n) => n.to_string(),
            Text::Bool(b) => b.to_string(),
        }
    }
}

/// A multipart part: text, or a file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Part {
    /// A text field.
    Field(Text),
    /// A file upload.
    File {
        /// The file (relative to the scenario file).
        file: String,
        /// Its `Content-Type` (default `application/octet-stream`).
        #[serde(default)]
        content_type: Option<String>,
        /// The file name sent (default: the file's own).
        #[serde(default)]
        filename: Option<String>,
    },
}

/// One request.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Unique name; the `name` tag of its metrics.
    pub name: String,
    /// Shorthand: `GET: /path`.
    #[serde(default, rename = "GET")]
    pub get: Option<String>,
    /// Shorthand: `POST: /path`.
    #[serde(default, rename = "POST")]
    pub post: Option<String>,
    /// Shorthand: `PUT: /path`.
    #[serde(default, rename = "PUT")]
    pub put: Option<String>,
    /// Shorthand: `PATCH: /path`.
    #[serde(default, rename = "PATCH")]
    pub patch: Option<String>,
    /// Shorthand: `DELETE: /path`.
    #[serde(default, rename = "DELETE")]
    pub delete: Option<String>,
    /// Shorthand: `HEAD: /path`.
    #[serde(default, rename = "HEAD")]
    pub head: Option<String>,
    /// Shorthand: `OPTIONS: /path`.
    #[serde(default, rename = "OPTIONS")]
    pub options: Option<String>,
    /// Any method, with `url`.
    #[serde(default)]
    pub method: Option<String>,
    /// The URL, with `method`.
    #[serde(default)]
    pub url: Option<String>,
    /// Runs once per VU, before its other requests (in the order their
    /// variables need).
    #[serde(default)]
    pub once: Option<Once>,
    /// Share of iterations (weighted flow).
    #[serde(default)]
    pub weight: Option<u32>,
    /// Query parameters, appended to the URL.
    #[serde(default)]
    pub query: BTreeMap<String, Text>,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Text>,
    /// A JSON body (strings may be templates; a string that is exactly one
    /// `{{...}}` keeps the value's type).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// A form body (`application/x-www-form-urlencoded`).
    #[serde(default)]
    pub form: Option<BTreeMap<String, Text>>,
    /// A `multipart/form-data` body.
    #[serde(default)]
    pub multipart: Option<BTreeMap<String, Part>>,
    /// A raw body (a template).
    #[serde(default)]
    pub body: Option<String>,
    /// A raw body read from a file, sent byte for byte (binary payloads;
    /// relative to the scenario file). Set its `Content-Type` in `headers`.
    #[serde(default)]
    pub body_file: Option<String>,
    /// Variables taken from the response: `json.path.0.to`,
    /// `header.Name` or `regex:pattern` (first group, or the match).
    #[serde(default)]
    pub extract: BTreeMap<String, String>,
    /// Checks: `status`, `json.<path>`, `header.<Name>`, `body_contains`,
    /// `duration`.
    #[serde(default)]
    pub check: BTreeMap<String, serde_json::Value>,
    /// Pause after this request (overrides the default).
    #[serde(default)]
    pub think_time: Option<ThinkTime>,
    /// Retry policy (overrides the default).
    #[serde(default)]
    pub retry: Option<Retry>,
    /// Timeout (overrides the default).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Redirects followed (overrides `http.max_redirects`).
    #[serde(default)]
    pub redirects: Option<u32>,
    /// Tags of this request's metrics.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl RequestSpec {
    /// The method and URL, however written; `None` when not exactly one
    /// form is given.
    pub fn method_url(&self) -> Option<(String, String)> {
        let short = [
            ("GET", &self.get),
            ("POST", &self.post),
            ("PUT", &self.put),
            ("PATCH", &self.patch),
            ("DELETE", &self.delete),
            ("HEAD", &self.head),
            ("OPTIONS", &self.options),
        ];
        let mut found: Vec<(String, String)> = short
            .iter()
            .filter_map(|(m, u)| u.as_ref().map(|u| (m.to_string(), u.clone())))
            .collect();
        match (&self.method, &self.url) {
            (Some(m), Some(u)) => found.push((m.to_ascii_uppercase(), u.clone())),
            (None, None) => {}
            _ => return None,
        }
        (found.len() == 1).then(|| found.remove(0))
    }
}

/// The JSON Schema of the format.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ScenarioFile)).unwrap_or_default()
}
