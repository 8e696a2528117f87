//! `stampede submit script.js`: runs a script on a Stampede server instead
//! of locally. It packs the script into a k6 archive exactly as `stampede
//! archive` does (its init code runs once, locally: the entry script, local
//! and remote modules, `open()`ed files, binary ones included), uploads the
//! archive as a scenario (a new version when one of that name exists;
//! `submit archive.tar` uploads an existing archive as it is; a declarative
//! scenario, `x.yaml`, goes up as one with the files it reads, so the UI's
//! form edits it), starts a run with the given options, follows it
//! with the same progress line and end-of-test summary as `stampede run`,
//! and exits with k6's exit code — so a CI job switches from local to the
//! platform by changing one word. Ctrl-C stops the run gracefully; a
//! second one aborts it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
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
    let content = match content(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match runtime().and_then(|rt| rt.block_on(submit(&args, content))) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("submit failed: {e}");
            // k6 cloud's "could not start": a generic failure.
            255
        }
    }
}

/// The scenario content to upload: a declarative scenario with the files
/// it reads; else a k6 archive, the file itself when it is one, or the
/// script packed as `stampede archive` packs it. A script that does not
/// load fails here, with `stampede run`'s message and exit code.
fn content(args: &SubmitArgs) -> Result<Value, i32> {
    let logger = Arc::new(Logger::stderr());
    let failed = |message: String| {
        logger.log(Level::Error, &message, &[]);
        ExitCode::ScriptException.code()
    };
    if stampede_scenario::is_scenario_path(&args.script) {
        return declarative_content(&args.script).map_err(failed);
    }
    let archive = |bytes: &[u8]| json!({"archive": B64.encode(bytes)});
    match read_if_archive(&args.script) {
        Ok(Some(_)) => {
            return std::fs::read(&args.script)
                .map(|bytes| archive(&bytes))
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
    let mut packed = archive_of(&loaded, &args.script).map_err(failed)?;
    packed.metadata.env.clear();
    Ok(archive(&packed.to_tar()))
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
async fn upload(api: &Api, name: &str, content: Value) -> Result<i64, String> {
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
    let mut body = content;
    body["name"] = name.into();
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

async fn submit(args: &SubmitArgs, content: Value) -> Result<i32, String> {
    let creds = credentials(args.server.as_deref())?;
    let api = Api::new(&creds.url, Some(creds.token))?;
    let file_name = args
        .script
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "script.js".into());
    let name = args.name.clone().unwrap_or(file_name);
    let scenario = upload(&api, &name, content).await?;
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

/// A declarative scenario's upload: its text and the files it reads
/// (feeders, uploads), by the relative paths it names them with.
fn declarative_content(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let entry = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario.yaml".into());
    let parsed = stampede_scenario::parse_file(&text, path).map_err(|d| {
        d.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut files = BTreeMap::from([(entry.clone(), text)]);
    for rel in parsed.data_files() {
        let p = Path::new(&rel);
        if p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
            return Err(format!(
                "{}: {rel:?} is outside the scenario's directory: only files beside it or below \
                 travel to the server",
                path.display()
            ));
        }
        let data = std::fs::read(dir.join(p))
            .map_err(|e| format!("cannot read {rel} (read by {}): {e}", path.display()))?;
        match String::from_utf8(data) {
            Ok(text) => {
                files.insert(rel, text);
            }
            // `files` carries text: a binary file (an upload, a body) makes
            // it travel as the archive `stampede archive` writes.
            Err(_) => return declarative_archive(path),
        }
    }
    Ok(json!({"kind": "declarative", "files": files, "entry": entry}))
}

/// A declarative scenario's upload as a k6 archive holding it and every
/// file it reads, byte for byte.
fn declarative_archive(path: &Path) -> Result<Value, String> {
    let scenario = stampede_scenario::Scenario::load(path).map_err(|d| {
        d.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let archive = scenario.to_archive(json!({}), BTreeMap::new());
    Ok(json!({"kind": "declarative", "archive": B64.encode(archive.to_tar())}))
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
