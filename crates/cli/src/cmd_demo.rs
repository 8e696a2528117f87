//! `stampede demo`: starts the built-in target on a free loopback port and
//! runs one of the examples against it (a short flash sale by default),
//! then checks the target's own account of the sale. The chaos example
//! gets a chaos agent in front of the target, and with `FAULT=database` or
//! `FAULT=cache` the target's real dependencies too (two `redis-server`s
//! behind fault proxies, as examples/chaos-deps.yaml declares them).

use stampede_engine::ExitCode;
use std::path::Path;

use clap::Args;
use stampede_demo::{DemoConfig, DemoTarget};

use crate::cmd_run::RunArgs;
use crate::flags::OptionFlags;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/examples.rs"));
}

/// Arguments of `stampede demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The example to run (see --list).
    #[arg(long, default_value = "flash-sale")]
    pub example: String,
    /// List the examples and exit.
    #[arg(long)]
    pub list: bool,
    /// No banner and no progress updates.
    #[arg(short, long)]
    pub quiet: bool,
    /// Pass KEY=VALUE to the example's __ENV (e.g. to scale it up); repeatable.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
}

/// Names of the runnable examples (the top-level scripts).
pub fn example_names() -> Vec<&'static str> {
    embedded::FILES
        .iter()
        .filter_map(|(p, _)| p.strip_suffix(".js"))
        .filter(|p| !p.contains('/'))
        .collect()
}

/// The first comment line of an example, as its one-line description.
fn describe(source: &str) -> &str {
    source
        .lines()
        .find_map(|l| l.trim().strip_prefix("//").map(str::trim))
        .unwrap_or("")
}

/// Writes the examples into `dir` so relative imports and `open()` work.
fn materialize(dir: &Path) -> std::io::Result<()> {
    for (rel, content) in embedded::FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, content)?;
    }
    Ok(())
}

/// Runs the command; returns the exit code.
pub fn run(args: DemoArgs) -> i32 {
    let names = example_names();
    if args.list {
        for name in &names {
            let src = embedded::FILES
                .iter()
                .find(|(p, _)| *p == format!("{name}.js"))
                .map(|(_, s)| *s)
                .unwrap_or("");
            println!("{name:<20} {}", describe(src));
        }
        return stampede_engine::ExitCode::Ok.code();
    }
    if !names.contains(&args.example.as_str()) {
        eprintln!(
            "no example named \"{}\"; available: {}",
            args.example,
            names.join(", ")
        );
        return stampede_engine::ExitCode::BadInput.code();
    }
    // The faults on the target's own database and cache break real
    // dependencies: the demo starts them (as examples/chaos-deps.yaml).
    let deps = args.example == "chaos"
        && args
            .env
            .iter()
            .filter_map(|e| e.strip_prefix("FAULT="))
            .any(|f| matches!(f, "database" | "cache"));
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot create a temporary directory: {e}");
            return stampede_engine::ExitCode::SystemError.code();
        }
    };
    if let Err(e) = materialize(dir.path()) {
        eprintln!("cannot write the examples to {}: {e}", dir.path().display());
        return stampede_engine::ExitCode::SystemError.code();
    }
    let mut cfg = DemoConfig {
        addr: "127.0.0.1:0".parse().expect("a valid address"),
        ..DemoConfig::default()
    };
    let deps_agent = if deps {
        match start_dependencies() {
            Ok((agent, target)) => {
                cfg.addr = target;
                cfg.database = agent.proxy("db").map(|a| a.to_string());
                cfg.cache = agent.proxy("cache").map(|a| a.to_string());
                Some(agent)
            }
            Err(e) => {
                eprintln!("cannot start the target's database and cache: {e}");
                return stampede_engine::ExitCode::SystemError.code();
            }
        }
    } else {
        None
    };
    let target = match DemoTarget::start_in_background(cfg) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot start the demo target: {e}");
            return stampede_engine::ExitCode::SystemError.code();
        }
    };
    let url = target.url();
    if !args.quiet {
        println!(
            "Stampede demo: the built-in target listens on {url}; running examples/{}.js",
            args.example
        );
    }
    let mut env = vec![format!("BASE_URL={url}")];
    // The chaos example drives a fault proxy in front of the target.
    let chaos = match args.example.as_str() {
        "chaos" if deps_agent.is_some() => deps_agent,
        "chaos" => match crate::cmd_chaos::DemoAgent::in_front_of(target.addr()) {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("cannot start the chaos agent: {e}");
                return 1;
            }
        },
        _ => None,
    };
    env.extend(chaos.iter().flat_map(|a| a.env()));
    env.extend(args.env.iter().cloned());
    let run_args = RunArgs {
        opts: OptionFlags {
            env,
            ..OptionFlags::default()
        },
        quiet: args.quiet,
        verbose: false,
        no_color: false,
        threads: None,
        // The demo needs no control API.
        address: String::new(),
        script: dir.path().join(format!("{}.js", args.example)),
    };
    let mut code = crate::cmd_run::run(run_args);
    if chaos.is_some_and(|a| !a.stop()) && code == 0 {
        code = 1;
    }
    let verified = verify_sales(&url);
    drop(target);
    let ok = ExitCode::Ok.code();
    match (code, verified) {
        (c, Ok(())) if c == ok => ok,
        (c, Err(e)) if c == ok => {
            eprintln!("{e}");
            ExitCode::CheckFailed.code()
        }
        (code, _) => code,
    }
}

/// A free loopback port (for servers that need theirs before they start).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// The chaos agent of examples/chaos-deps.yaml on free loopback ports: the
/// target's database and cache (two `redis-server`s it starts and, for the
/// database fault, kills and restarts), the proxies `db` and `cache` the
/// target reaches them through, and `target` in front of the target; with
/// the address the target must listen on. Waits until both Redis answer.
fn start_dependencies() -> Result<(crate::cmd_chaos::DemoAgent, std::net::SocketAddr), String> {
    use stampede_chaos::{ChaosConfig, ProcessSpec, ProxySpec};
    let (db, cache, target) = (free_port()?, free_port()?, free_port()?);
    let local = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let redis = |port: u16| ProcessSpec::Restart {
        command: format!("redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no"),
    };
    let mut cfg = ChaosConfig::default();
    for (name, upstream) in [("target", target), ("db", db), ("cache", cache)] {
        cfg.proxies.insert(
            name.into(),
            ProxySpec {
                listen: local(0),
                upstream: local(upstream).to_string(),
            },
        );
    }
    cfg.processes.insert("database".into(), redis(db));
    cfg.processes.insert("cache-server".into(), redis(cache));
    let agent = crate::cmd_chaos::DemoAgent::start(&cfg).map_err(|e| {
        format!("{e} (the database and cache are `redis-server`s: is it installed?)")
    })?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    for port in [db, cache] {
        while std::net::TcpStream::connect(local(port)).is_err() {
            if std::time::Instant::now() > deadline {
                agent.stop();
                return Err(format!(
                    "redis-server did not listen on 127.0.0.1:{port} within 15 s"
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    Ok((agent, local(target)))
}

/// Asks the target about its flash sales and prints the verdict.
fn verify_sales(url: &str) -> Result<(), String> {
    let body = http_get(&format!("{url}/verify"))?;
    let json: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("bad /verify answer: {e}"))?;
    let sales = json["sales"].as_array().cloned().unwrap_or_default();
    if sales.is_empty() {
        return Ok(());
    }
    println!("Flash sale verification (from the target):");
    let mut ok = true;
    for s in &sales {
        let initial = s["initial"].as_u64().unwrap_or(0);
        let remaining = s["remaining"].as_u64().unwrap_or(0);
        let accepted = s["orders_accepted"].as_u64().unwrap_or(0);
        let oversold = s["oversold"].as_bool().unwrap_or(true);
        let consistent = accepted + remaining == initial && !oversold;
        ok &= consistent;
        println!(
            "  {}: {accepted} orders accepted for {initial} in stock, {remaining} left, {} {}",
            s["productId"].as_str().unwrap_or("?"),
            if oversold { "OVERSOLD" } else { "no oversell" },
            if consistent { "✓" } else { "✗" }
        );
    }
    if ok {
        Ok(())
    } else {
        Err("the flash sale verification failed".into())
    }
}

/// A minimal GET over a fresh connection to the loopback target.
fn http_get(url: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream =
        std::net::TcpStream::connect(host).map_err(|e| format!("cannot reach {host}: {e}"))?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut resp = String::new();
    stream
        .read_to_string(&mut resp)
        .map_err(|e| e.to_string())?;
    let (head, body) = resp
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "{url}: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    Ok(body.to_string())
}
