//! `stampede demo`: starts the built-in target on a free loopback port and
//! runs one of the examples against it (a short flash sale by default),
//! then checks the target's own account of the sale.

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
    // The demo's chaos agent has one proxy, in front of the target: the
    // faults on the target's own database and cache need them running.
    if args.example == "chaos" {
        let deps = args
            .env
            .iter()
            .find_map(|e| e.strip_prefix("FAULT="))
            .filter(|f| matches!(*f, "database" | "cache"));
        if let Some(fault) = deps {
            eprintln!(
                "FAULT={fault} breaks the target's real {fault}, which the demo does not run: \
                 start them with `stampede chaos serve examples/chaos-deps.yaml` and \
                 `stampede target --database 127.0.0.1:16379 --cache 127.0.0.1:16380`, \
                 then `stampede run` examples/chaos.js (see docs/chaos.md)"
            );
            return stampede_engine::ExitCode::BadInput.code();
        }
    }
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
    let cfg = DemoConfig {
        addr: "127.0.0.1:0".parse().expect("a valid address"),
        ..DemoConfig::default()
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
