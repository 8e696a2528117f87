//! What the caller asks for: [`Request`] and its parameters.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use url::Url;

/// k6's default request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// One k6 request (`http.request(method, url, body, params)` after the JS
/// layer has turned the body and params into bytes and strings).
#[derive(Debug, Clone)]
pub struct Request {
    /// The method, sent as given.
    pub method: Method,
    /// The target; userinfo in it means basic auth unless `auth` is digest.
    pub url: Url,
    /// Headers in the order given. Names are canonicalised on the wire
    /// (`x-foo` → `X-Foo`) and a later duplicate replaces an earlier one, as
    /// Go's `Header.Set` does. `Host` overrides the Host header;
    /// `Content-Length` is ignored (computed from the body).
    pub headers: Vec<(String, String)>,
    /// The body, already serialised (k6 form-encodes objects before this).
    pub body: Bytes,
    /// Whole-request timeout, redirects included (k6 `timeout`, default 60 s).
    pub timeout: Duration,
    /// Per-request `redirects`; `None` uses the client's `max_redirects`.
    pub max_redirects: Option<u32>,
    /// Authentication; `None` still sends basic auth for userinfo in the URL.
    pub auth: Option<Auth>,
    /// Compress the body with these encodings, in order (k6 `compression`).
    pub compression: Vec<Encoding>,
    /// Read but drop the response body (`responseType: "none"`,
    /// `discardResponseBodies`); the bytes are still counted.
    pub discard_body: bool,
    /// Per-request cookies (k6 `cookies` param), sent before the jar's.
    pub cookies: Vec<RequestCookie>,
}

impl Request {
    /// A request with k6's defaults and no body.
    pub fn new(method: Method, url: Url) -> Self {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: Bytes::new(),
            timeout: DEFAULT_TIMEOUT,
            max_redirects: None,
            auth: None,
            compression: Vec::new(),
            discard_body: false,
            cookies: Vec::new(),
        }
    }

    /// A GET request with k6's defaults.
    pub fn get(url: Url) -> Self {
        Self::new(Method::GET, url)
    }

    /// Adds a header (builder style).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body (builder style).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// k6's `auth` param.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Basic` on the first hop (as Go does for URL userinfo).
    Basic {
        /// User name.
        user: String,
        /// Password.
        pass: String,
    },
    /// RFC 7616 digest: the request goes out without credentials, and a 401
    /// with a digest challenge is answered once with an `Authorization` header.
    Digest {
        /// User name.
        user: String,
        /// Password.
        pass: String,
    },
}

/// A content coding k6 knows, for request `compression` and response decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `gzip`.
    Gzip,
    /// `deflate` (zlib-wrapped, as Go's `compress/zlib`).
    Deflate,
    /// `br`.
    Br,
    /// `zstd`.
    Zstd,
}

impl Encoding {
    /// The token used in `Content-Encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Br => "br",
            Encoding::Zstd => "zstd",
        }
    }

    /// Parses a `Content-Encoding` token (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        [
            Encoding::Gzip,
            Encoding::Deflate,
            Encoding::Br,
            Encoding::Zstd,
        ]
        .into_iter()
        .find(|e| e.as_str().eq_ignore_ascii_case(s))
    }
}

/// One entry of k6's per-request `cookies` param.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCookie {
    /// Cookie name.
    pub name: String,
    /// Cookie value.
    pub value: String,
    /// When true, a jar cookie of the same name is not sent.
    pub replace: bool,
}
