//! `stampede submit script.js`: runs a script on a Stampede server instead
//! of locally. It packs the script into a k6 archive exactly as `stampede
//! archive` does (its init code runs once, locally: the entry script, local
//! and remote modules, `open()`ed files, binary ones included), uploads the
//! archive as a scenario (a new version when one of that name exists;
//! `submit archive.tar` uploads an existing archive as it is), starts a run
//! with the given options, follows it
//! with the same progress line and end-of-test summary as `stampede run`,
//! and exits with k6's exit code — so a CI job switches from local to the
//! platform by changing one word. Ctrl-C stops the run gracefully; a
//! second one aborts it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::Args;
use http::Method;
use serde_json::{json, Value};
use stampede_engine::ExitCode;
use stampede_js::log::{Level, Logger};

use crate::client::{load as credentials, runtime, Api};
use crate::cmd_archive::{archive_of, read_if_archive};
use crate::cmd_run::load;
use crate::flags::OptionFlags;
use crate::progress::{running_line, Totals};

/// Arguments of `stampede submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The server (default: the one of `stampede login`, or STAMPEDE_URL).
    #[arg(long)]
    pub server: Option<String>,
    /// Number of VUs.
    #[arg(short = 'u', long)]
    pub vus: Option<i64>,
    /// Test duration (e.g. 30s, 1m30s).
    #[arg(short = 'd', long)]
    pub duration: Option<String>,
    /// Total iterations.
    #[arg(short = 'i', long)]
    pub iterations: Option<i64>,
    /// An environment variable for `__ENV`, as KEY=VALUE; repeatable.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Split the run into this many execution segments, merged into one
    /// result by the server.
    #[arg(long)]
    pub workers: Option<u32>,
    /// The scenario's name on the server (default: the script's file name).
    #[arg(long)]
    pub name: Option<String>,
    /// No progress updates.
    #[arg(short, long)]
    pub quiet: bool,
    /// The script to run, or a k6 archive (`stampede archive`, `k6 archive`).
    pub script: PathBuf,
}

/// Runs the command; returns the exit code.
pub fn run(args: SubmitArgs) -> i32 {
    let archive = match pack(&args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match runtime().and_then(|rt| rt.block_on(submit(&args, &archive))) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("submit failed: {e}");
            // k6 cloud's "could not start": a generic failure.
            255
        }
    }
}

/// The k6 archive to upload: the file itself when it is one, else the
/// script packed as `stampede archive` packs it. A script that does not
/// load fails here, with `stampede run`'s message and exit code.
fn pack(args: &SubmitArgs) -> Result<Vec<u8>, i32> {
    let logger = Arc::new(Logger::stderr());
    let failed = |message: String| {
        logger.log(Level::Error, &message, &[]);
        ExitCode::ScriptException.code()
    };
    match read_if_archive(&args.script) {
        Ok(Some(_)) => {
            return std::fs::read(&args.script)
                .map_err(|e| failed(format!("cannot read {}: {e}", args.script.display())))
        }
        Ok(None) => {}
        Err(e) => return Err(failed(e)),
    }
    // The init code sees the run's `-e` pairs (it may open files they
    // name); their values travel with the start request, not the archive.
    let flags = OptionFlags {
        env: args.env.clone(),
        ..OptionFlags::default()
    };
    let loaded = load(&flags, &args.script, logger.clone(), None)?;
    let mut archive = archive_of(&loaded, &args.script).map_err(failed)?;
    archive.metadata.env.clear();
    Ok(archive.to_tar())
}

fn start_body(args: &SubmitArgs) -> Result<Value, String> {
    let mut env = BTreeMap::new();
    for pair in &args.env {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("invalid --env {pair:?}: expected KEY=VALUE"))?;
        env.insert(k.to_string(), v.to_string());
    }
    let mut body = json!({});
    if let Some(v) = args.vus {
        body["vus"] = v.into();
    }
    if let Some(d) = &args.duration {
        body["duration"] = d.clone().into();
    }
    if let Some(i) = args.iterations {
        body["iterations"] = i.into();
    }
    if !env.is_empty() {
        body["env"] = json!(env);
    }
    if let Some(w) = args.workers {
        body["workers"] = w.into();
    }
    Ok(body)
}

/// Creates the scenario or saves a new version of the one with this name;
/// returns its id.
async fn upload(api: &Api, name: &str, archive: &[u8]) -> Result<i64, String> {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("name", name)
        .finish();
    let found = api
        .call(
            Method::GET,
            &format!("/api/v1/scenarios?{q}&limit=500"),
            None,
        )
        .await?;
    let existing = found["items"]
        .as_array()
        .and_then(|items| items.iter().find(|s| s["name"] == name))
        .and_then(|s| s["id"].as_i64());
    let body = json!({"name": name, "archive": B64.encode(archive)});
    let saved = match existing {
        Some(id) => {
            api.call(Method::PUT, &format!("/api/v1/scenarios/{id}"), Some(&body))
                .await?
        }
        None => {
            api.call(Method::POST, "/api/v1/scenarios", Some(&body))
                .await?
        }
    };
    saved["id"]
        .as_i64()
        .ok_or_else(|| "the server sent no scenario id".into())
}

async fn submit(args: &SubmitArgs, archive: &[u8]) -> Result<i32, String> {
    let creds = credentials(args.server.as_deref())?;
    let api = Api::new(&creds.url, Some(creds.token))?;
    let file_name = args
        .script
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "script.js".into());
    let name = args.name.clone().unwrap_or(file_name);
    let scenario = upload(&api, &name, archive).await?;
    let started = api
        .call(
            Method::POST,
            &format!("/api/v1/scenarios/{scenario}/start"),
            Some(&start_body(args)?),
        )
        .await?;
    let run_id = started["run_id"]
        .as_i64()
        .ok_or("the server sent no run id")?;
    if !args.quiet {
        println!(
            "     run: {run_id} on {} (scenario {scenario} \"{name}\")\n",
            creds.url
        );
    }
    let run = follow(&api, run_id, args.quiet).await?;
    if let Some(text) = run["summary_text"].as_str() {
        print!("{text}");
        let _ = std::io::stdout().flush();
    }
    if let Some(err) = run["error"].as_str() {
        eprintln!("{err}");
    }
    Ok(run["exit_code"].as_i64().unwrap_or(255).clamp(0, 255) as i32)
}

fn is_terminal_status(s: &str) -> bool {
    matches!(s, "passed" | "failed" | "aborted" | "errored")
}

/// Polls the run once a second, printing the progress line, until it ends.
async fn follow(api: &Api, run_id: i64, quiet: bool) -> Result<Value, String> {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut interrupts = 0;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            r = tokio::signal::ctrl_c() => {
                if r.is_err() { continue; }
                interrupts += 1;
                let (path, what) = if interrupts == 1 {
                    ("stop", "Stopping the run gracefully; press Ctrl-C again to abort it")
                } else {
                    ("abort", "Aborting the run")
                };
                eprintln!("{what}");
                if let Err(e) = api.call(Method::POST, &format!("/api/v1/runs/{run_id}/{path}"), None).await {
                    eprintln!("{e}");
                }
                continue;
            }
        }
        let run = api
            .call(Method::GET, &format!("/api/v1/runs/{run_id}"), None)
            .await?;
        let status = run["status"].as_str().unwrap_or("");
        if !quiet {
            if let Some(p) = run["progress"].as_object() {
                let n = |k: &str| p.get(k).and_then(Value::as_u64).unwrap_or(0);
                let totals = Totals {
                    elapsed: Duration::from_secs_f64(
                        p.get("elapsed_s").and_then(Value::as_f64).unwrap_or(0.0),
                    ),
                    active_vus: n("active_vus"),
                    max_vus: n("max_vus"),
                    completed: n("completed"),
                    interrupted: n("interrupted"),
                };
                println!(
                    "{}",
                    running_line(&totals, totals.elapsed >= Duration::from_secs(60))
                );
            }
        }
        if is_terminal_status(status) {
            if !quiet {
                println!("\n     run {run_id}: {status}\n");
            }
            return Ok(run);
        }
    }
}
