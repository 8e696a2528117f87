//! `stampede pipeline run FILE`: runs a pipeline of gated stages (see the
//! `stampede-pipeline` crate and `docs/pipelines.md`), prints each stage
//! as it starts and ends and the decision tree at the end, writes the
//! JSON, JUnit and HTML reports, and exits 0 only when every required
//! gate passed (1 otherwise, 2 for an invalid file, 105 when interrupted).
//!
//! `stampede pipeline check FILE` only validates.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Subcommand};
use stampede_pipeline::process::ProcessExecutor;
use stampede_pipeline::{report, run, Event, Outcome, Pipeline, RunOptions};

/// Arguments of `stampede pipeline`.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    #[command(subcommand)]
    command: PipelineCommand,
}

#[derive(Debug, Subcommand)]
enum PipelineCommand {
    /// Run a pipeline file.
    Run(RunArgs),
    /// Validate a pipeline file without running it.
    Check {
        /// The pipeline file (YAML).
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// An environment variable for every stage (`-e SCALE=1`), over the file's.
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// Run this optional stage too (repeatable).
    #[arg(long)]
    include: Vec<String>,
    /// Where the reports, each stage's results, run report and log go.
    #[arg(long, default_value = "pipeline-report")]
    report_dir: PathBuf,
    /// The pipeline file (YAML).
    file: PathBuf,
}

/// Runs the command; returns the exit code.
pub fn run_command(args: PipelineArgs) -> i32 {
    match args.command {
        PipelineCommand::Check { file } => match Pipeline::load(&file) {
            Ok(p) => {
                println!("{}: {} stages, valid", file.display(), p.spec.stages.len());
                0
            }
            Err(e) => {
                eprintln!("{e}");
                2
            }
        },
        PipelineCommand::Run(a) => run_pipeline(a),
    }
}

fn run_pipeline(a: RunArgs) -> i32 {
    let pipeline = match Pipeline::load(&a.file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let mut env = Vec::new();
    for kv in &a.env {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => env.push((k.to_string(), v.to_string())),
            _ => {
                eprintln!("stampede pipeline: -e {kv:?} is not NAME=VALUE");
                return 2;
            }
        }
    }
    for name in &a.include {
        if pipeline.spec.stages.get(name).is_none() {
            eprintln!("stampede pipeline: --include {name:?}: no such stage");
            return 2;
        }
    }
    if let Err(e) = std::fs::create_dir_all(&a.report_dir) {
        eprintln!(
            "stampede pipeline: cannot create {}: {e}",
            a.report_dir.display()
        );
        return 2;
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("stampede pipeline: cannot find the stampede binary: {e}");
            return 255;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stampede pipeline: cannot start the runtime: {e}");
            return 255;
        }
    };
    println!(
        "pipeline {} ({} stages), reports in {}",
        pipeline.name,
        pipeline.spec.stages.len(),
        a.report_dir.display()
    );
    let t0 = Instant::now();
    let report = rt.block_on(async {
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            crate::cmd_chaos::wait_for_signal().await;
            eprintln!("stampede pipeline: interrupted; stopping the running stages (their faults are restored)");
            let _ = stop_tx.send(true);
            // Keep the sender so receivers do not see it closed.
            std::future::pending::<()>().await;
        });
        let on_event = Arc::new(move |e: &Event| {
            let at = t0.elapsed().as_secs_f64();
            let line = match e {
                Event::Started { name } => format!("[{at:6.1}s] ▶ {name} started"),
                Event::Progress { running } => {
                    let list: Vec<String> = running
                        .iter()
                        .map(|(n, secs)| format!("{n} {secs:.0}s"))
                        .collect();
                    format!("[{at:6.1}s]   running: {}", list.join(", "))
                }
                Event::Ended(s) => match s.outcome {
                    Outcome::Passed => format!("[{at:6.1}s] ✓ {} passed ({:.1}s)", s.name, s.duration_s),
                    Outcome::Failed => {
                        let failed: Vec<&str> = s
                            .checks
                            .iter()
                            .filter(|c| !c.ok)
                            .map(|c| c.name.as_str())
                            .collect();
                        format!(
                            "[{at:6.1}s] ✗ {} failed ({:.1}s): {}",
                            s.name,
                            s.duration_s,
                            failed.join(", ")
                        )
                    }
                    Outcome::Skipped => format!(
                        "[{at:6.1}s] - {} skipped: {}",
                        s.name,
                        s.skipped_because.as_deref().unwrap_or("")
                    ),
                },
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        });
        run(
            &pipeline,
            RunOptions {
                executor: Arc::new(ProcessExecutor {
                    exe,
                    // As `Pipeline::load` resolved them.
                    dir: a
                        .file
                        .parent()
                        .unwrap_or(std::path::Path::new("."))
                        .to_path_buf(),
                    out_dir: a.report_dir.clone(),
                }),
                env,
                include: a.include.clone(),
                on_event,
                stop,
            },
        )
        .await
    });
    println!();
    print!("{}", report::text(&report));
    let files = [
        ("pipeline.json", report::json(&report)),
        ("pipeline.junit.xml", report::junit(&report)),
        ("pipeline.html", report::html(&report)),
    ];
    for (name, content) in files {
        let path = a.report_dir.join(name);
        if let Err(e) = std::fs::write(&path, content) {
            eprintln!("stampede pipeline: cannot write {}: {e}", path.display());
            return 255;
        }
    }
    println!(
        "\nreports: {}",
        a.report_dir.join("pipeline.html").display()
    );
    report.exit_code()
}
