//! Serves the demo target until Ctrl-C, for manual checks and benchmarks:
//! `cargo run --release -p stampede-demo --example demo [ADDR] [--products N] [--seed S]`.
//! It runs on one thread, so a benchmark measures one core.

use stampede_demo::{DemoConfig, DemoTarget};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut cfg = DemoConfig::default();
    let mut args = std::env::args().skip(1);
    let bad = |what: &str| std::io::Error::other(format!("invalid {what}"));
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--products" => {
                cfg.products = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| bad("--products"))?;
            }
            "--seed" => {
                cfg.seed = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| bad("--seed"))?;
            }
            addr => cfg.addr = addr.parse().map_err(|_| bad("address"))?,
        }
    }
    let target = DemoTarget::start(cfg).await?;
    println!("serving the demo target on {}", target.url());
    tokio::signal::ctrl_c().await?;
    target.shutdown().await;
    Ok(())
}
