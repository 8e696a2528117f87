//! The `stampede` command-line tool: runs k6 scripts.

// The global allocator (mimalloc), shared with the benches.
use stampede_alloc as _;
mod api;
mod banner;
mod chaos_summary;
mod client;
mod cmd_archive;
mod cmd_baseline;
mod cmd_chaos;
mod cmd_compare;
mod cmd_convert;
mod cmd_demo;
mod cmd_inspect;
mod cmd_login;
mod cmd_pipeline;
mod cmd_report;
mod cmd_run;
mod cmd_runs;
mod cmd_segment;
mod cmd_server;
mod cmd_submit;
mod cmd_target;
mod cmd_worker;
mod dashboard;
mod flags;
mod progress;
mod summary;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Stampede: a load-testing tool that runs k6 scripts unchanged.
#[derive(Debug, Parser)]
#[command(name = "stampede", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a test script.
    Run(cmd_run::RunArgs),
    /// Bundle a script, its modules and files into a k6 archive (tar).
    Archive(cmd_archive::ArchiveArgs),
    /// Print the resolved options of a script as JSON (like `k6 inspect`).
    Inspect(cmd_inspect::InspectArgs),
    /// Run an example test against the built-in demo target (start here).
    Demo(cmd_demo::DemoArgs),
    /// Serve the built-in system under test (shop API, flash sale, task service).
    Target(cmd_target::TargetArgs),
    /// Write an HTML report from a results file or a k6 JSON output file.
    Report(cmd_report::ReportArgs),
    /// Compare a run's results with a baseline; exits 1 on a regression.
    Compare(cmd_compare::CompareArgs),
    /// Write a baseline (YAML) from a run's results.
    Baseline(cmd_baseline::BaselineArgs),
    /// Print the status of a running test (through its REST API).
    Status(api::ApiArgs),
    /// Pause a running test.
    Pause(api::ApiArgs),
    /// Resume a paused test.
    Resume(api::ApiArgs),
    /// Change the VUs of a running test's externally-controlled scenario.
    Scale(api::ScaleArgs),
    /// Chaos experiments: fault proxies and process faults with a control API.
    Chaos(cmd_chaos::ChaosArgs),
    /// Run a pipeline of gated test stages (smoke, load, stress, spike, chaos, soak).
    Pipeline(cmd_pipeline::PipelineArgs),
    /// Run the control plane: API, live WebSocket, storage, in-process workers.
    Server(cmd_server::ServerArgs),
    /// Sign in to a server and store an API token for `submit` and `runs`.
    Login(cmd_login::LoginArgs),
    /// Run a script on a server, follow it live, exit with k6's exit code.
    Submit(cmd_submit::SubmitArgs),
    /// List a server's runs.
    Runs(cmd_runs::RunsArgs),
    /// Run segments of a server's runs, taken from Redis (`server --redis`).
    Worker(cmd_worker::WorkerArgs),
    /// Write the k6 script equivalent to a declarative scenario (YAML/JSON).
    Convert(cmd_convert::ConvertArgs),
    /// Print the version.
    Version,
    /// Run one segment of a server's run (internal: the child process of
    /// `stampede server`'s in-process workers).
    #[command(name = "__segment", hide = true)]
    Segment,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                stampede_engine::ExitCode::BadInput
            } else {
                stampede_engine::ExitCode::Ok
            };
            let _ = e.print();
            return ExitCode::from(code.code() as u8);
        }
    };
    let code = match cli.command {
        Command::Run(args) => cmd_run::run(args),
        Command::Archive(args) => cmd_archive::run(args),
        Command::Inspect(args) => cmd_inspect::run(args),
        Command::Demo(args) => cmd_demo::run(args),
        Command::Target(args) => cmd_target::run(args),
        Command::Report(args) => cmd_report::run(args),
        Command::Compare(args) => cmd_compare::run(args),
        Command::Baseline(args) => cmd_baseline::run(args),
        Command::Status(args) => api::status(args),
        Command::Pause(args) => api::set_paused(args, true),
        Command::Resume(args) => api::set_paused(args, false),
        Command::Scale(args) => api::scale(args),
        Command::Chaos(args) => cmd_chaos::run(args),
        Command::Pipeline(args) => cmd_pipeline::run_command(args),
        Command::Segment => cmd_segment::run(),
        Command::Server(args) => cmd_server::run(args),
        Command::Login(args) => cmd_login::run(args),
        Command::Submit(args) => cmd_submit::run(args),
        Command::Runs(args) => cmd_runs::run(args),
        Command::Worker(args) => cmd_worker::run(args),
        Command::Convert(args) => cmd_convert::run(args),
        Command::Version => {
            println!(
                "stampede v{} (k6 v1.1.0 compatible, {}/{})",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH
            );
            stampede_engine::ExitCode::Ok.code()
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
