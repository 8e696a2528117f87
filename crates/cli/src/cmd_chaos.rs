//! `stampede chaos`: run a chaos agent (fault proxies and process faults
//! behind a control API) and drive it.
//!
//! - `chaos proxy --upstream HOST:PORT`: one proxy, the quick way.
//! - `chaos serve FILE`: the proxies and process faults a YAML file names.
//! - `chaos inject NAME`, `chaos restore NAME|--all`, `chaos status`: the
//!   API's client.
//!
//! An agent prints one JSON line with its addresses on standard output
//! (`{"api": ..., "proxies": {name: addr}}`) so scripts and tests can read
//! free ports, then runs until SIGINT/SIGTERM, when it restores every
//! fault. A restore that fails is printed as `RESTORE FAILED` and the exit
//! code is 1.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use stampede_chaos::{client, ChaosConfig, Faults, ProxySpec, RunningAgent};

/// Environment variable naming the agent for the client commands.
pub const AGENT_ENV: &str = "STAMPEDE_CHAOS_AGENT";

/// Arguments of `stampede chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    #[command(subcommand)]
    command: ChaosCommand,
}

#[derive(Debug, Subcommand)]
enum ChaosCommand {
    /// Run a TCP fault proxy (with its control API) in front of an upstream.
    Proxy(ProxyArgs),
    /// Run the proxies and process faults a YAML file declares.
    Serve(ServeArgs),
    /// Apply a fault through a running agent.
    Inject(InjectArgs),
    /// Undo a fault (or every fault) through a running agent.
    Restore(RestoreArgs),
    /// Print a running agent's targets, faults and counters as JSON.
    Status(AgentAddr),
    /// Measure the recovery time in a run's results (`--out results=FILE`).
    Recovery(RecoveryArgs),
}

#[derive(Debug, Args)]
struct RecoveryArgs {
    /// The scenario that starts when the fault ends.
    #[arg(long, default_value = "recover", conflicts_with = "fault_end")]
    scenario: String,
    /// Or the end of the fault, from the start of the test (`40s`).
    #[arg(long, value_parser = parse_duration)]
    fault_end: Option<Duration>,
    /// The SLO's largest p95 latency in ms.
    #[arg(long)]
    p95: Option<f64>,
    /// The SLO's largest error rate (0..1; default 0.01).
    #[arg(long, default_value_t = 0.01)]
    error_rate: f64,
    /// Consecutive one-second intervals the SLO must hold.
    #[arg(long, default_value_t = 3)]
    k: usize,
    /// The results file.
    results: PathBuf,
}

#[derive(Debug, Args)]
struct ProxyArgs {
    /// Where the upstream listens (`host:port`).
    #[arg(long)]
    upstream: String,
    /// Where clients connect.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The proxy's name in the API.
    #[arg(long, default_value = "proxy")]
    name: String,
    /// Where the control API listens.
    #[arg(long, default_value = "127.0.0.1:0")]
    api: SocketAddr,
    /// Faults to apply from the start, as JSON (`{"latency_ms": 200}`).
    #[arg(long)]
    faults: Option<String>,
    /// Allow listening on non-loopback addresses.
    #[arg(long)]
    allow_remote: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Where the control API listens (overrides the file's `api`).
    #[arg(long)]
    api: Option<SocketAddr>,
    /// The declaration (YAML: `api`, `proxies`, `processes`).
    file: PathBuf,
}

#[derive(Debug, Args)]
struct AgentAddr {
    /// The agent's API address (`host:port`).
    #[arg(long, env = AGENT_ENV)]
    agent: String,
}

#[derive(Debug, Args)]
struct InjectArgs {
    #[command(flatten)]
    agent: AgentAddr,
    /// A proxy's faults as JSON (`{"blackhole": true}`); none for a process fault.
    #[arg(long)]
    faults: Option<String>,
    /// Restore by itself after this long (`60s`, `500ms`).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// The target.
    name: String,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    #[command(flatten)]
    agent: AgentAddr,
    /// Restore every target.
    #[arg(long, conflicts_with = "name")]
    all: bool,
    /// The target.
    #[arg(required_unless_present = "all")]
    name: Option<String>,
}

/// `500ms`, `1.5s`, `2m` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (use e.g. 500ms, 30s, 2m)"))?;
    let secs = match unit {
        "ms" => v / 1000.0,
        "s" => v,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} must be a duration of 0 or more"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Runs the command; returns the exit code.
pub fn run(args: ChaosArgs) -> i32 {
    match args.command {
        ChaosCommand::Proxy(a) => {
            let faults = match a.faults.as_deref().map(Faults::from_json).transpose() {
                Ok(f) => f,
                Err(e) => return usage(&e.to_string()),
            };
            let mut cfg = ChaosConfig {
                api: Some(a.api),
                allow_remote: a.allow_remote,
                ..ChaosConfig::default()
            };
            cfg.proxies.insert(
                a.name.clone(),
                ProxySpec {
                    listen: a.listen,
                    upstream: a.upstream,
                },
            );
            serve(cfg, faults.map(|f| (a.name, f)))
        }
        ChaosCommand::Serve(a) => {
            let text = match std::fs::read_to_string(&a.file) {
                Ok(t) => t,
                Err(e) => return usage(&format!("cannot read {}: {e}", a.file.display())),
            };
            let mut cfg: ChaosConfig = match serde_yaml::from_str(&text) {
                Ok(c) => c,
                Err(e) => return usage(&format!("{}: {e}", a.file.display())),
            };
            if a.api.is_some() {
                cfg.api = a.api;
            }
            serve(cfg, None)
        }
        ChaosCommand::Inject(a) => {
            let faults: Option<serde_json::Value> = match a.faults.as_deref() {
                None => None,
                Some(f) => match Faults::from_json(f) {
                    Ok(f) => Some(serde_json::to_value(f).expect("faults serialize")),
                    Err(e) => return usage(&e.to_string()),
                },
            };
            let body = serde_json::json!({
                "faults": faults,
                "duration_ms": a.duration.map(|d| d.as_millis() as u64),
            });
            let path = format!("/api/v1/targets/{}/inject", encode(&a.name));
            request(&a.agent.agent, "POST", &path, Some(&body.to_string()))
        }
        ChaosCommand::Restore(a) => {
            let path = match &a.name {
                Some(n) if !a.all => format!("/api/v1/targets/{}/restore", encode(n)),
                _ => "/api/v1/restore".into(),
            };
            request(&a.agent.agent, "POST", &path, None)
        }
        ChaosCommand::Status(a) => request(&a.agent, "GET", "/api/v1/targets", None),
        ChaosCommand::Recovery(a) => recovery(a),
    }
}

/// Prints the recovery time (JSON); exit 1 when the SLO never held again.
fn recovery(a: RecoveryArgs) -> i32 {
    use stampede_pipeline::gate::{fault_end, measure_recovery};
    let results = match stampede_output::results::load(&a.results) {
        Ok(r) => r,
        Err(e) => return usage(&e.to_string()),
    };
    let given = a.fault_end.map(|d| d.as_secs_f64());
    let end = match fault_end(&results, Some(&a.scenario), given) {
        Ok(e) => e,
        Err(e) => return usage(&e),
    };
    let slo = stampede_chaos::Slo {
        p95_ms: a.p95,
        error_rate: Some(a.error_rate),
    };
    let rec = measure_recovery(&results, end, &slo, a.k);
    println!("{}", serde_json::json!({ "slo": slo, "recovery": rec }));
    match rec.recovery_s {
        Some(s) => {
            eprintln!("recovered {s:.0}s after the fault ended at {end:.0}s");
            0
        }
        None => {
            eprintln!(
                "did not recover: the SLO never held {} intervals in a row after {end:.0}s",
                a.k
            );
            1
        }
    }
}

fn usage(msg: &str) -> i32 {
    eprintln!("stampede chaos: {msg}");
    2
}

/// Percent-encodes a target name for a URL path.
fn encode(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn request(agent: &str, method: &str, path: &str, body: Option<&str>) -> i32 {
    match client::call(agent, method, path, body) {
        Ok((status, text)) => {
            if (200..300).contains(&status) {
                println!("{}", text.trim());
                0
            } else {
                eprintln!(
                    "stampede chaos: the agent answered {status}: {}",
                    text.trim()
                );
                1
            }
        }
        Err(e) => {
            eprintln!("stampede chaos: {e}");
            1
        }
    }
}

/// Runs an agent for `cfg` until SIGINT/SIGTERM, then restores everything.
fn serve(cfg: ChaosConfig, initial: Option<(String, Faults)>) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let running = match RunningAgent::start(&cfg).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("stampede chaos: {e}");
                return 2;
            }
        };
        let mut code = 0;
        if let Some((name, faults)) = initial {
            if let Err(e) = running.agent.inject(&name, Some(faults), None).await {
                eprintln!("stampede chaos: {e}");
                code = 1;
            }
        }
        if code == 0 {
            let line =
                serde_json::json!({ "api": running.api.to_string(), "proxies": running.proxies });
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
            drop(out);
            eprintln!(
                "stampede chaos: agent on {}; Ctrl-C restores every fault and stops",
                running.api
            );
            wait_for_signal().await;
            eprintln!("stampede chaos: stopping, restoring every fault");
        }
        // Whatever happened above, nothing stays injected.
        if report_restores(running.shutdown().await) {
            code
        } else {
            1
        }
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("stampede chaos: cannot start the runtime: {e}");
            255
        })
}

/// Prints each failed restore loudly; whether all succeeded.
fn report_restores(failures: Vec<stampede_chaos::AgentError>) -> bool {
    for f in &failures {
        eprintln!("stampede chaos: RESTORE FAILED: {f}");
    }
    failures.is_empty()
}

/// An agent with a proxy named `target` in front of `upstream`, on a
/// runtime of its own, for `stampede demo --example chaos`.
pub(crate) struct DemoAgent {
    rt: tokio::runtime::Runtime,
    running: RunningAgent,
}

impl DemoAgent {
    /// Starts it; the variables the example needs are in [`DemoAgent::env`].
    pub(crate) fn in_front_of(upstream: SocketAddr) -> Result<DemoAgent, String> {
        let mut cfg = ChaosConfig::default();
        cfg.proxies.insert(
            "target".into(),
            ProxySpec {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                upstream: upstream.to_string(),
            },
        );
        Self::start(&cfg)
    }

    /// Starts an agent of `cfg` (the demo's own dependencies, ...).
    pub(crate) fn start(cfg: &ChaosConfig) -> Result<DemoAgent, String> {
        let rt = runtime().map_err(|_| "cannot start the chaos agent's runtime".to_string())?;
        let running = rt.block_on(RunningAgent::start(cfg))?;
        Ok(DemoAgent { rt, running })
    }

    /// The address of its proxy `name`.
    pub(crate) fn proxy(&self, name: &str) -> Option<SocketAddr> {
        self.running.proxies.get(name).copied()
    }

    /// `CHAOS_AGENT=...` and `CHAOS_TARGET_ADDR=...`.
    pub(crate) fn env(&self) -> Vec<String> {
        self.running
            .env()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// Restores everything; false (after printing why) when a restore failed.
    pub(crate) fn stop(self) -> bool {
        let DemoAgent { rt, running } = self;
        report_restores(rt.block_on(running.shutdown()))
    }
}

/// Resolves on the first SIGINT or SIGTERM.
pub(crate) async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn encodes_names() {
        assert_eq!(encode("db"), "db");
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
