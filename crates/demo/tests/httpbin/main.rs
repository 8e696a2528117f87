//! Drives every endpoint of the httpbin test server over a real socket.

mod auth;
mod client;
mod content;
mod echo;
mod faults;
mod redirects;
mod router;
mod server;
mod status;
