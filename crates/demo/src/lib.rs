//! Systems under test: an httpbin-like server for tests and the demo target.
//!
//! [`DemoTarget`] serves [`demo_router`]: the in-memory shop API, flash
//! sale and task service (with WebSocket status) that the seeds load-test,
//! plus fault injection; `stampede target` and `stampede demo` run it. See
//! [`demo`] for every endpoint.
//!
//! [`TestServer`] serves [`httpbin_router`] on a loopback port: httpbin's
//! endpoints plus a few that load-tool tests need (connection resets,
//! hanging requests, request counters). See [`httpbin`] for the list. It
//! also answers gRPC calls of a small test service: see [`grpc`].
//!
//! The crate's private `server` module is the accept loop (hyper over TCP
//! or TLS, with per-connection control) that serves any router of the
//! crate; each system under test lives in its own module beside `httpbin`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = stampede_demo::TestServer::start().await?;
//! let url = format!("{}/get?x=1", server.url());
//! // ... point a client at `url` ...
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod demo;
pub mod grpc;
pub mod httpbin;
mod server;

pub use demo::{demo_router, DemoConfig, DemoState, DemoTarget, FaultConfig, DEFAULT_ADDR};
pub use httpbin::{httpbin_router, TestServer};
