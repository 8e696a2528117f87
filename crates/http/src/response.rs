//! What happened: [`Exchange`], its [`Hop`]s and the final [`Response`].

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use url::Url;

use crate::error::HttpError;
use crate::header_list::HeaderList;
use crate::ocsp::Ocsp;

/// k6's request timings (`res.timings`, `http_req_*` metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Waiting for a connection: pool, DNS, TCP connect and TLS handshake of a
    /// new connection (Go's `GetConn` → `GotConn`). Zero if none was obtained.
    pub blocked: Duration,
    /// TCP connect; zero on a reused connection.
    pub connecting: Duration,
    /// TLS handshake; zero on a reused or plain connection.
    pub tls_handshaking: Duration,
    /// Writing the request (headers and body).
    pub sending: Duration,
    /// From the request written to the first response byte (or to the failure
    /// or timeout when none came).
    pub waiting: Duration,
    /// From the first response byte to the end of the body.
    pub receiving: Duration,
}

impl Timings {
    /// `http_req_duration`: sending + waiting + receiving.
    pub fn duration(&self) -> Duration {
        self.sending + self.waiting + self.receiving
    }
}

/// TLS details of the connection (`res.tls_version`, `res.tls_cipher_suite`,
/// `res.ocsp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `tls1.2` or `tls1.3`, as k6 names them.
    pub version: &'static str,
    /// Go's name of the cipher suite, e.g. `TLS_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// The OCSP response the server stapled to its certificate, read once
    /// per connection; `None` when it stapled none or one k6 cannot read.
    pub ocsp: Option<Ocsp>,
}

impl TlsInfo {
    /// k6's `ocsp_status`: the stapled response's status, else `unknown`.
    pub fn ocsp_status(&self) -> &'static str {
        self.ocsp.map_or("unknown", |o| o.status)
    }
}

/// One request that went on the wire (or failed trying): a redirect leg, the
/// first leg of digest auth, or the final request. k6 emits one set of
/// `http_req_*` samples per hop.
#[derive(Debug, Clone)]
pub struct Hop {
    /// Method sent.
    pub method: Method,
    /// URL requested.
    pub url: Url,
    /// Status code; 0 when the hop failed.
    pub status: u16,
    /// `HTTP/1.1` (or `HTTP/1.0`); empty when the hop failed.
    pub proto: &'static str,
    /// Timings of this hop.
    pub timings: Timings,
    /// Why this hop failed, if it did.
    pub error: Option<HttpError>,
    /// Bytes written to the socket, headers and TLS overhead included.
    pub bytes_sent: u64,
    /// Bytes read from the socket, headers and TLS overhead included.
    pub bytes_received: u64,
    /// Peer address of the connection used.
    pub remote: Option<SocketAddr>,
    /// `tls1.2`/`tls1.3` for the `tls_version` tag; empty without TLS.
    pub tls_version: &'static str,
    /// k6's `ocsp_status` tag (`good`, `revoked`, `unknown`): set, as in k6,
    /// when the hop got a response over TLS; empty otherwise.
    pub ocsp_status: &'static str,
    /// The request and response as text, with k6's `httpDebug` only.
    pub debug: Option<Box<crate::HopDump>>,
    /// This hop is the unauthenticated first leg of digest auth, whose 401 k6
    /// counts as an expected response.
    pub auth_challenge: bool,
}

/// A cookie set by the final response (`res.cookies`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseCookie {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// `Domain` attribute, as sent (empty when absent).
    pub domain: String,
    /// `Path` attribute, as sent (empty when absent).
    pub path: String,
    /// `HttpOnly` flag.
    pub http_only: bool,
    /// `Secure` flag.
    pub secure: bool,
    /// Go's `MaxAge`: 0 absent, negative for `Max-Age<=0`, else seconds.
    pub max_age: i64,
    /// `Expires` in Unix milliseconds, when present and valid.
    pub expires: Option<i64>,
}

/// The final response of an exchange (a k6 `Response` without the JS).
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code; 0 on error.
    pub status: u16,
    /// Status line as k6 gives it, e.g. `200 OK`; empty on error.
    pub status_text: String,
    /// `HTTP/1.1`, or empty on error.
    pub proto: &'static str,
    /// Headers with canonical names (`Content-Type`), repeats joined by `, `,
    /// in order of first appearance.
    pub headers: HeaderList,
    /// Body, decoded from the response `Content-Encoding` (gzip, deflate, br,
    /// zstd). Empty when discarded.
    pub body: Bytes,
    /// Final URL (after redirects).
    pub url: Url,
    /// Timings of the final hop.
    pub timings: Timings,
    /// Error of the final hop, or a decompression error.
    pub error: Option<HttpError>,
    /// Peer address of the final hop.
    pub remote: Option<SocketAddr>,
    /// TLS details when the final hop was over TLS.
    pub tls: Option<TlsInfo>,
    /// Cookies set by the final response.
    pub cookies: Vec<ResponseCookie>,
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// Everything one `Session::request` did.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Every request sent, in order; the last one is the final response's.
    pub hops: Vec<Hop>,
    /// The final response, boxed: an exchange moves several times on its
    /// way to the caller, and a pointer is cheaper to move than 600 bytes.
    pub response: Box<Response>,
    /// The chain stopped at a redirect because the limit was reached. k6
    /// warns about it when the limit came from the global `maxRedirects`:
    /// `Stopped after N redirects and returned the redirection; pass
    /// { redirects: n } in request params or set global maxRedirects to
    /// silence this`.
    pub redirect_limit_reached: bool,
}

impl Exchange {
    /// A request refused before anything was sent (k6's parameter errors,
    /// such as an invalid `timeout`): no hops, so no metrics, and a
    /// response with status 0 carrying `e`.
    pub fn unsent(url: Url, e: HttpError) -> Exchange {
        Exchange {
            hops: Vec::new(),
            response: Box::new(Response {
                status: 0,
                status_text: String::new(),
                proto: "",
                headers: HeaderList::new(),
                body: Bytes::new(),
                url,
                timings: Timings::default(),
                error: Some(e),
                remote: None,
                tls: None,
                cookies: Vec::new(),
            }),
            redirect_limit_reached: false,
        }
    }
}
