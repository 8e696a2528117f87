//! `stampede target`: serves the built-in system under test (the seeds'
//! shop API, flash sale and task service), or the httpbin test server.

use std::net::SocketAddr;

use clap::Args;
use stampede_demo::{DemoConfig, DemoTarget, TestServer};

/// Arguments of `stampede target`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = stampede_demo::DEFAULT_ADDR)]
    pub listen: SocketAddr,
    /// Products in the shop catalogue.
    #[arg(long, default_value_t = 1000)]
    pub products: usize,
    /// Seed of the generated catalogue.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stock of the shop's flash-sale product.
    #[arg(long)]
    pub flash_stock: Option<u64>,
    /// Orders per second the flash sale admits (0: all).
    #[arg(long)]
    pub admission_rate: Option<u32>,
    /// Serve the httpbin-like test server instead.
    #[arg(long)]
    pub httpbin: bool,
    /// Cache the inventory report in the Redis at HOST:PORT (a real
    /// dependency for chaos experiments; without it nothing is cached).
    #[arg(long, value_name = "HOST:PORT")]
    pub cache: Option<String>,
    /// Keep the shop's orders in the Redis at HOST:PORT (a real database
    /// for chaos experiments: orders answer 503 while it is down).
    #[arg(long, value_name = "HOST:PORT")]
    pub database: Option<String>,
}

impl TargetArgs {
    /// The demo target's configuration from the flags.
    pub fn config(&self) -> DemoConfig {
        let mut cfg = DemoConfig {
            addr: self.listen,
            products: self.products,
            ..DemoConfig::default()
        };
        if let Some(s) = self.seed {
            cfg.seed = s;
        }
        if let Some(s) = self.flash_stock {
            cfg.flash_product_stock = s;
        }
        if let Some(r) = self.admission_rate {
            cfg.flash_admission_rate = r;
        }
        cfg.cache = self.cache.clone();
        cfg.database = self.database.clone();
        cfg
    }
}

/// Runs the command until Ctrl+C; returns the exit code.
pub fn run(args: TargetArgs) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return stampede_engine::ExitCode::SystemError.code();
        }
    };
    rt.block_on(async move {
        if args.httpbin {
            let server = match TestServer::start_on(args.listen).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("cannot listen on {}: {e}", args.listen);
                    return stampede_engine::ExitCode::SystemError.code();
                }
            };
            println!("httpbin test server listening on {}", server.url());
            let _ = tokio::signal::ctrl_c().await;
            server.shutdown().await;
            return stampede_engine::ExitCode::Ok.code();
        }
        let cfg = args.config();
        let problems = cfg.problems();
        if !problems.is_empty() {
            for p in problems {
                eprintln!("invalid target setting: {p}");
            }
            return stampede_engine::ExitCode::InvalidConfig.code();
        }
        let target = match DemoTarget::start(cfg).await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("cannot start the demo target on {}: {e}", args.listen);
                return stampede_engine::ExitCode::SystemError.code();
            }
        };
        let url = target.url();
        println!("Stampede demo target listening on {url}");
        println!("  shop API:      {url}/api/products, /api/orders, /api/auth/login (seed 001)");
        println!("  flash sale:    {url}/init, /order, /verify (seed 003)");
        println!("  task service:  {url}/auth/login, /tasks, /ws (seed 004)");
        println!("  faults:        {url}/admin/faults");
        println!("Press Ctrl+C to stop.");
        let _ = tokio::signal::ctrl_c().await;
        target.shutdown().await;
        stampede_engine::ExitCode::Ok.code()
    })
}
