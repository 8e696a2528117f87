//! Systems under test: an httpbin-like server for tests and the demo target.
//!
//! [`TestServer`] serves [`httpbin_router`] on a loopback port: httpbin's
//! endpoints plus a few that load-tool tests need (connection resets,
//! hanging requests, request counters). See [`httpbin`] for the list.
//!
//! The crate's private `server` module is the accept loop (hyper over TCP
//! or TLS, with per-connection control) that serves any router of the
//! crate; each system under test lives in its own module beside `httpbin`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = stampede_target::TestServer::start().await?;
//! let url = format!("{}/get?x=1", server.url());
//! // ... point a client at `url` ...
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod httpbin;
mod server;

pub use httpbin::{httpbin_router, TestServer};
