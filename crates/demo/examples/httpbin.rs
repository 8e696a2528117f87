//! Serves the httpbin test server until Ctrl-C, for manual checks and
//! benchmarks: `cargo run --release -p stampede-demo --example httpbin [ADDR] [--tls]`.
//! It runs on one thread, so a benchmark measures one core.

use std::net::SocketAddr;

use stampede_demo::TestServer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tls = args.iter().any(|a| a == "--tls");
    let addr: SocketAddr = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or("127.0.0.1:8080", String::as_str)
        .parse()
        .map_err(std::io::Error::other)?;
    let server = if tls {
        TestServer::start_tls_on(addr).await?
    } else {
        TestServer::start_on(addr).await?
    };
    println!("serving httpbin on {}", server.url());
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
