//! An async HTTP/1.1 client with k6's semantics, for one VU at a time.
//!
//! [`Client`] holds the run-wide [`ClientConfig`] and TLS setup; each VU gets
//! a [`Session`] (its keep-alive connections and DNS cache) and usually a
//! [`CookieJar`]. [`Session::request`] performs a [`Request`] and returns an
//! [`Exchange`]: every [`Hop`] that went on the wire (redirects, the first leg
//! of digest auth) with k6's [`Timings`], byte counts and [`HttpError`] codes,
//! plus the final [`Response`]. It knows nothing of JavaScript or metrics.
//!
//! ```no_run
//! # async fn demo() {
//! use stampede_http::{Client, ClientConfig, CookieJar, Request};
//! let client = Client::new(ClientConfig::default()).unwrap();
//! let session = client.session();
//! let jar = CookieJar::new();
//! let url = "http://127.0.0.1:8080/".parse().unwrap();
//! let ex = session.request(Request::get(url), Some(&jar)).await;
//! println!("{} in {:?}", ex.response.status, ex.response.timings.duration());
//! # }
//! ```
//!
//! [`ws`] opens WebSockets with the same settings (k6/ws and
//! k6/experimental/websockets).
//!
//! Futures are not `Send`: run them on the VU's current-thread Tokio runtime
//! (built with `enable_all()`). HTTP/1.1 spawns nothing; an HTTP/2
//! connection's I/O runs in a task started with `tokio::spawn`.
//!
//! # How it maps to k6 (checked against k6 v1.1.0)
//!
//! - Default request headers: `Host`, `User-Agent: Grafana k6/1.1.0`,
//!   `Content-Length` when there is a body (and `0` for body-less POST, PUT,
//!   PATCH). No `Accept-Encoding`. Header names are canonicalised
//!   (`x-foo` → `X-Foo`), a later duplicate replaces an earlier one.
//! - Response headers: canonical names, repeats joined with `, `
//!   (`Set-Cookie` too); `status_text` is `200 OK`; bodies are decoded from
//!   `Content-Encoding` gzip/deflate/br/zstd, unknown codings left as is.
//! - Redirects (default limit 10): 301/302/303 turn anything but GET/HEAD
//!   into a body-less GET, 307/308 keep method and body; `Referer` is set;
//!   `Authorization`/`Cookie` and a custom `Host` do not follow to another
//!   host; past the limit the last 3xx is the response, without error
//!   ([`Exchange::redirect_limit_reached`]). Set-Cookie of every hop goes to
//!   the jar and the jar is consulted on every hop.
//! - Timings as k6's tracer: `blocked` covers DNS, connect and TLS of a new
//!   connection; `connecting`/`tls_handshaking` are zero on reuse; on a failed
//!   connect everything is zero (k6 shows the same); on a timeout `waiting`
//!   runs to the timeout.
//! - Bytes per hop are those on the socket (TLS records and handshake of a
//!   new connection included): a GET to nginx counts 71 bytes sent, as k6.
//!
//! | code | `res.error` | when |
//! |------|-------------|------|
//! | 1000 | `EOF` | closed before any response byte |
//! | 1000 | `unexpected EOF` | closed mid-head or mid-body |
//! | 1000 | `malformed HTTP status code "BAR"` (Go texts) | not HTTP |
//! | 1000 | `unsupported protocol scheme "ftp"` | scheme |
//! | 1010 | `remote error: tls: certificate required` (Go's alert texts) | a TLS alert from the server, e.g. for want of a client certificate |
//! | 1050 | `request timeout` | [`Request::timeout`] elapsed |
//! | 1100 | `lookup host: ...` | other resolver errors |
//! | 1101 | `lookup: no such host` | unknown name |
//! | 1110 | `ip is blacklisted` | `blacklistIPs` |
//! | 1111 | `hostname is blocked` | `blockHostnames` |
//! | 1201 | `write: broken pipe` | EPIPE |
//! | 1202 | ``read: unknown errno `N` on linux with message `...` `` | other errno |
//! | 1211 | `dial: i/o timeout` | connect timed out |
//! | 1212 | `dial: connection refused` | ECONNREFUSED |
//! | 1213 | ``dial: unknown errno N error with msg `...` `` | other connect errno |
//! | 1220 | `read: connection reset by peer` (or `write:`) | ECONNRESET |
//! | 1301 | `tls: first record does not look like a TLS handshake` | plain server |
//! | 1310 | `x509: unknown authority` | untrusted certificate |
//! | 1311 | `x509: certificate doesn't match hostname` | name mismatch |
//! | 1300 | `tls: ...` | other TLS errors |
//! | 1611+ | `http2: received GoAway with http2 ErrCode X` | GOAWAY (1 + code) |
//! | 1631+ | `http2: stream error with http2 ErrCode X` | RST_STREAM |
//! | 1651+ | `http2: connection error with http2 ErrCode X` | local protocol error |
//! | 1701 | `error decompressing response body (...)` | bad gzip etc. |
//!
//! [`HttpError::log_line`] gives the text of k6's `Request Failed` warning,
//! e.g. `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`.

mod compress;
mod config;
mod conn;
mod cookies;
mod deadline;
mod debug;
mod digest;
mod dns;
pub mod error;
pub mod grpc;
mod h1;
mod h2;
mod header_list;
mod headers;
mod hop;
pub mod ocsp;
mod request;
mod response;
mod session;
mod tls;
pub mod ws;

pub use config::{
    blocked_by, Client, ClientCert, ClientConfig, ConfigError, DnsPolicy, DnsSelect, HostOverride,
    IpNet, TlsVersion, DEFAULT_USER_AGENT,
};
pub use cookies::{CookieJar, CookieOptions};
pub use debug::{HopDump, HttpDebug};
pub use error::HttpError;
pub use header_list::{HeaderList, Iter as HeaderIter};
pub use ocsp::Ocsp;
pub use request::{Auth, Encoding, Request, RequestCookie, DEFAULT_TIMEOUT};
pub use response::{Exchange, Hop, Response, ResponseCookie, Timings, TlsInfo};
pub use session::Session;
pub use tls::insecure_verifier;
