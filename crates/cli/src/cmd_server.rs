//! `stampede server`: the control plane on one machine — API, WebSocket,
//! SQLite in the data directory (or PostgreSQL with `--database`), runs in
//! child processes. Logs go to stderr as text or JSON (`--log-format`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use stampede_server::{Server, ServerConfig};

/// Log line format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Arguments of `stampede server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Directory for the SQLite database and the JWT secret.
    #[arg(long, default_value = "stampede-data")]
    pub data_dir: PathBuf,
    /// Store in PostgreSQL instead (postgres://user:pass@host/db).
    #[arg(long, env = "STAMPEDE_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    /// Largest request body accepted, in bytes (413 beyond).
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_body: usize,
    /// API requests per second per token or address (0: no limit).
    #[arg(long, default_value_t = 50)]
    pub rate_limit: u32,
    /// A network runs may send load to (CIDR or address); repeatable.
    /// Default: loopback only (127.0.0.0/8 and ::1).
    #[arg(long = "allow-target")]
    pub allow_target: Vec<String>,
    /// PEM certificate chain for HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Run segments on `stampede worker`s through this Redis
    /// (redis://host:port) instead of child processes.
    #[arg(long, env = "STAMPEDE_REDIS_URL", hide_env_values = true)]
    pub redis: Option<String>,
    /// Memory cap of each run's process (e.g. 2GiB, 512MiB, none); a
    /// script that exceeds it ends its run errored. Default: half the RAM.
    #[arg(long, value_name = "SIZE", value_parser = stampede_cluster::memory::parse_limit)]
    pub run_memory_limit: Option<stampede_cluster::memory::MemoryLimit>,
    /// Retention of stored data.
    #[command(flatten)]
    pub retention: RetentionArgs,
}

/// Retention flags (seed 002's defaults).
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Days the per-interval metrics of ended runs are kept.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_metrics_days: u32,
    /// Days resolved alerts are kept.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_alerts_days: u32,
    /// Days the reports (final summaries) of ended runs are kept.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_reports_days: u32,
}

impl RetentionArgs {
    fn policy(&self) -> stampede_server::retention::RetentionPolicy {
        let days = |d: u32| std::time::Duration::from_secs(u64::from(d) * 24 * 3600);
        stampede_server::retention::RetentionPolicy {
            metrics: days(self.retention_metrics_days),
            alerts: days(self.retention_alerts_days),
            reports: days(self.retention_reports_days),
            ..Default::default()
        }
    }
}

pub(crate) fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STAMPEDE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Runs the command; returns the exit code.
pub fn run(args: ServerArgs) -> i32 {
    init_logs(args.log_format);
    let config = ServerConfig {
        listen: args.listen,
        data_dir: args.data_dir,
        database: args.database,
        max_body_bytes: args.max_body,
        admin_password: std::env::var("STAMPEDE_ADMIN_PASSWORD").ok(),
        jwt_secret: std::env::var("STAMPEDE_JWT_SECRET").ok(),
        rate_limit_per_sec: args.rate_limit,
        secure_cookies: args.tls_cert.is_some(),
        tls: args.tls_cert.zip(args.tls_key),
        redis: args.redis,
        allow_targets: if args.allow_target.is_empty() {
            stampede_server::allow::DEFAULT_ALLOWED
                .map(String::from)
                .to_vec()
        } else {
            args.allow_target
        },
        run_memory_limit: stampede_cluster::memory::resolve(args.run_memory_limit),
        platform: stampede_server::PlatformConfig {
            secret_key: std::env::var("STAMPEDE_SECRET_KEY").ok(),
            retention: args.retention.policy(),
        },
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .thread_name("stampede-server")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return 1;
        }
    };
    rt.block_on(async {
        let (server, generated) = match Server::bind(config, None).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("stampede server: {e}");
                return 1;
            }
        };
        if let Some(p) = generated {
            eprintln!(
                "Created the user `admin` with the password: {p}\n(shown once; set STAMPEDE_ADMIN_PASSWORD on first start to choose it)"
            );
        }
        let scheme = if server.is_tls() { "https" } else { "http" };
        eprintln!("stampede server listening on {scheme}://{}", server.addr);
        let shutdown = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async {
                    match term.as_mut() {
                        Some(t) => { t.recv().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {}
            }
        };
        match server.run(shutdown).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("stampede server: {e}");
                1
            }
        }
    })
}
