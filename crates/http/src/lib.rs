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
//! Futures are not `Send` and spawn nothing: run them on the VU's
//! current-thread Tokio runtime (with the `net`, `time` and `rt` drivers).

mod compress;
mod config;
mod conn;
mod cookies;
mod digest;
pub mod error;
mod h1;
mod h2;
mod request;
mod response;
mod session;
mod tls;

pub use config::{
    Client, ClientConfig, ConfigError, DnsPolicy, HostOverride, TlsVersion, DEFAULT_USER_AGENT,
};
pub use cookies::{CookieJar, CookieOptions};
pub use error::HttpError;
pub use request::{Auth, Encoding, Request, RequestCookie, DEFAULT_TIMEOUT};
pub use response::{Exchange, Hop, Response, ResponseCookie, Timings, TlsInfo};
pub use session::Session;
