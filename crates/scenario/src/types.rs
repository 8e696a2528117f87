//! The compiled form of a scenario: what a native VU runs and what
//! `convert` turns into a k6 script. Built by `compile.rs`; holds no text
//! positions, only resolved, parsed values.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::feeder::FeederData;
use crate::format::{Backoff, ScenarioFile};
use crate::template::Template;

/// One step of a JSON path: a key, or an index into an array.
pub type PathSeg = String;

/// Where an extraction reads.
#[derive(Debug, Clone)]
pub enum Extract {
    /// A JSON path into the body.
    Json(Vec<PathSeg>),
    /// A response header.
    Header(String),
    /// The first group of a regex (or the whole match).
    Regex(regex::Regex),
}

/// What a check expects of a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// Present (and not null).
    Exists,
    /// Equal to.
    Equals(Value),
}

/// One check of a response.
#[derive(Debug, Clone)]
pub enum CheckKind {
    /// The status is one of these.
    Status(Vec<u16>),
    /// A JSON path of the body.
    Json(Vec<PathSeg>, Want),
    /// A header.
    Header(String, Want),
    /// The body contains a text.
    BodyContains(String),
    /// `http_req_duration` below a limit (or at most, with `<=`).
    Duration {
        /// `<=` rather than `<`.
        inclusive: bool,
        /// The limit, in milliseconds.
        limit_ms: f64,
    },
}

/// A named check (the `check` tag of `checks`).
#[derive(Debug, Clone)]
pub struct Check {
    /// `request: what`.
    pub name: String,
    /// What it tests.
    pub kind: CheckKind,
}

/// A JSON body template.
#[derive(Debug, Clone)]
pub enum JsonT {
    /// A value without templates.
    Lit(Value),
    /// A templated string.
    Str(Template),
    /// An array.
    Arr(Vec<JsonT>),
    /// An object.
    Obj(Vec<(String, JsonT)>),
}

/// A multipart part.
#[derive(Debug, Clone)]
pub enum CPart {
    /// A text field.
    Field(Template),
    /// A file read at load time.
    File {
        /// Its name as sent.
        filename: String,
        /// Its type.
        content_type: String,
        /// Its bytes.
        data: bytes::Bytes,
    },
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// None.
    None,
    /// JSON.
    Json(JsonT),
    /// URL-encoded form.
    Form(Vec<(String, Template)>),
    /// `multipart/form-data`.
    Multipart(Vec<(String, CPart)>),
    /// Raw text.
    Raw(Template),
    /// A file's bytes, read at load time.
    File(bytes::Bytes),
}

/// A pause.
#[derive(Debug, Clone, Copy)]
pub struct Think {
    /// Shortest.
    pub min: Duration,
    /// Longest.
    pub max: Duration,
}

/// A retry policy.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Statuses retried.
    pub on: Vec<u16>,
    /// Network errors retried.
    pub on_error: bool,
    /// Retries after the first attempt.
    pub max: u32,
    /// Delay growth.
    pub backoff: Backoff,
    /// First delay.
    pub base: Duration,
    /// Longest delay.
    pub max_delay: Duration,
    /// Randomize each delay in [delay/2, delay].
    pub jitter: bool,
}

impl RetryPolicy {
    /// The delay before retry number `n` (0-based), before jitter.
    pub fn delay(&self, n: u32) -> Duration {
        let d = match self.backoff {
            Backoff::Constant => self.base,
            Backoff::Exponential => self.base.saturating_mul(1u32 << n.min(30)),
        };
        d.min(self.max_delay)
    }
}

/// A request ready to run.
#[derive(Debug, Clone)]
pub struct CRequest {
    /// Its name.
    pub name: String,
    /// Its method.
    pub method: http::Method,
    /// Its URL (base URL included).
    pub url: Template,
    /// Query parameters.
    pub query: Vec<(String, Template)>,
    /// Headers (defaults first).
    pub headers: Vec<(String, Template)>,
    /// Body.
    pub body: Body,
    /// Extractions.
    pub extract: Vec<(String, Extract)>,
    /// Checks.
    pub checks: Vec<Check>,
    /// Pause after it.
    pub think: Option<Think>,
    /// Retry policy.
    pub retry: Option<RetryPolicy>,
    /// Timeout.
    pub timeout: Duration,
    /// Redirects followed.
    pub redirects: Option<u32>,
    /// Extra tags.
    pub tags: Vec<(String, String)>,
    /// Runs once per VU.
    pub once: bool,
    /// Weight in the weighted flow.
    pub weight: u32,
}

/// A scenario ready to run or convert.
#[derive(Debug)]
pub struct Compiled {
    /// The file as parsed.
    pub file: ScenarioFile,
    /// Its directory (feeder and upload paths are relative to it).
    pub dir: PathBuf,
    /// Requests in file order.
    pub requests: Vec<CRequest>,
    /// `once` requests in the order their variables need.
    pub once_order: Vec<usize>,
    /// The other requests, in file order.
    pub main: Vec<usize>,
    /// The setup requests (after the others in `requests`), in order.
    pub setup: Vec<usize>,
    /// Weighted flow: cumulative weights of `main`.
    pub weights: Option<Vec<u32>>,
    /// Feeders.
    pub feeders: BTreeMap<String, Arc<FeederData>>,
    /// Variables.
    pub variables: HashMap<String, Value>,
    /// The k6 options the file amounts to.
    pub options: Value,
    /// `http.version`: `Some(true)` HTTP/2 offered by ALPN, `Some(false)`
    /// HTTP/1.1 only, `None` the run's default.
    pub http2: Option<bool>,
    /// A cookie jar per VU.
    pub cookies: bool,
    /// `http.ca_certs` and `http.tls_auth`, read and checked.
    pub tls: crate::tls::TlsFiles,
}
