//! Drives every endpoint of the demo target over real sockets.

// The httpbin tests' HTTP client, shared; not every helper is used here.
#[allow(dead_code)]
#[path = "../httpbin/client.rs"]
mod client;
mod common;

mod faults;
mod flash;
mod lifecycle;
mod shop;
mod tasks;
mod ws;
