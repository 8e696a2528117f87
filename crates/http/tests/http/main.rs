//! Integration tests of the client against small servers on 127.0.0.1.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod basics;
mod bodies;
mod cookies;
mod errors;
mod h2;
mod redirects;
mod tls;
