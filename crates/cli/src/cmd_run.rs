//! `stampede run`: load the script, show the header and live progress, run,
//! print the summary, write the outputs, exit with k6's code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use stampede_engine::{ExitCode, Loaded, Monitor, RunConfig, RunReport, Running, StopReason};
use stampede_js::log::{Level, Logger};

use crate::flags::{env_options, OptionFlags};
use crate::progress::{running_line, scenario_lines, Totals};

/// Arguments of `stampede run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub opts: OptionFlags,
    /// No banner and no progress updates.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show debug logs (`console.debug`).
    #[arg(short, long)]
    pub verbose: bool,
    /// No colors in the output.
    #[arg(long)]
    pub no_color: bool,
    /// Scheduler threads running VUs (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Address of the REST API that `stampede status`, `pause`, `resume`
    /// and `scale` talk to (k6's); empty for none.
    #[arg(short = 'a', long, default_value = crate::api::DEFAULT_ADDRESS)]
    pub address: String,
    /// The script to run (`-` reads it from standard input).
    pub script: PathBuf,
}

/// Logs every message at error level and returns the exit code.
fn fail(logger: &Logger, messages: &[String], code: i32) -> i32 {
    for m in messages {
        logger.log(Level::Error, m, &[]);
    }
    code
}

/// Loads a script with the options of the flags, the environment and the
/// `--config` file; on failure logs why and returns the exit code.
pub fn load(
    opts: &OptionFlags,
    script: &Path,
    logger: Arc<Logger>,
    threads: Option<usize>,
) -> Result<Loaded, i32> {
    let system_env: Vec<(String, String)> = std::env::vars().collect();
    let cli = opts
        .to_options()
        .map_err(|e| fail(&logger, &e, ExitCode::InvalidConfig.code()))?;
    let file = opts
        .config_file()
        .map_err(|e| fail(&logger, &e, ExitCode::InvalidConfig.code()))?;
    let env_layer =
        env_options(&system_env).map_err(|e| fail(&logger, &e, ExitCode::InvalidConfig.code()))?;
    // Before the init context runs, so its console lines go to the file too.
    if let Some(path) = cli
        .console_output
        .as_ref()
        .or(env_layer.console_output.as_ref())
    {
        logger.set_console_output(Path::new(path)).map_err(|e| {
            fail(
                &logger,
                &[format!("cannot open the console output file {path:?}: {e}")],
                ExitCode::Generic.code(),
            )
        })?;
    }
    let mut cfg = RunConfig::for_script(script);
    if script == Path::new("-") {
        let mut src = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut src) {
            return Err(fail(
                &logger,
                &[format!("cannot read the script from stdin: {e}")],
                ExitCode::ScriptException.code(),
            ));
        }
        cfg.script = std::env::current_dir().unwrap_or_default().join("stdin.js");
        cfg.source = Some(src);
    }
    match crate::cmd_archive::read_if_archive(script) {
        Ok(Some(archive)) => cfg = RunConfig::for_archive(Arc::new(archive)),
        Ok(None) => {}
        Err(e) => return Err(fail(&logger, &[e], 107)),
    }
    cfg.config_file = file;
    cfg.env_options = env_layer;
    cfg.cli_options = cli;
    cfg.system_env = system_env.into_iter().collect();
    cfg.logger = logger.clone();
    cfg.threads = threads;
    cfg.text_summary = Some(crate::summary::text_summary_fn());
    // A declarative scenario (YAML/JSON) runs natively: no script, no
    // JavaScript runtime; its errors name file:line:col. So does an
    // archive of one (`stampede archive x.yaml`), from its own files.
    let scenario = match &cfg.archive {
        Some(a) => stampede_scenario::Scenario::from_archive(a),
        None if stampede_scenario::is_scenario_path(script) => {
            Some(stampede_scenario::Scenario::load(script))
        }
        None => None,
    };
    let loaded = match scenario {
        Some(Ok(s)) => Loaded::load_native(cfg, s.program()),
        Some(Err(errors)) => {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            return Err(fail(&logger, &lines, ExitCode::InvalidConfig.code()));
        }
        None => Loaded::load(cfg),
    };
    loaded.map_err(|e| {
        let code = e.exit_code().code();
        let hint = match e.exit_code() {
            ExitCode::InvalidConfig => "invalid config",
            ExitCode::SystemError => "system error",
            _ => "script exception",
        };
        logger.log(Level::Error, &e.to_string(), &[("hint", hint)]);
        code
    })
}

/// Runs the command; returns the exit code.
pub fn run(args: RunArgs) -> i32 {
    let logger = Arc::new(Logger::stderr());
    logger.set_verbose(args.verbose);
    let no_color = args.no_color || std::env::var_os("NO_COLOR").is_some();
    let mut loaded = match load(&args.opts, &args.script, logger.clone(), args.threads) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let script = args.script.display().to_string();
    let mut dashboard = match crate::dashboard::setup(&mut loaded, &script) {
        Ok(d) => d,
        Err((messages, code)) => return fail(&logger, &messages, code),
    };
    let outputs = match crate::summary::outputs(&loaded, &args.script.display().to_string()) {
        Ok(o) => o,
        Err(e) => return fail(&logger, &[e], ExitCode::InvalidConfig.code()),
    };
    let chaos = match crate::chaos_summary::detect(&loaded) {
        Ok(c) => c,
        Err(e) => return fail(&logger, &[e], ExitCode::InvalidConfig.code()),
    };
    let (summary_plan, out_specs) = (loaded.plan.summary.clone(), loaded.plan.outputs.out.clone());
    let stdout_tty = std::io::stdout().is_terminal();
    if !args.quiet {
        let descriptions: Vec<String> = outputs.iter().map(|o| o.description()).collect();
        let url = dashboard.as_ref().and_then(|d| d.url());
        print!(
            "{}",
            crate::banner::header(&loaded.plan, &script, url, &descriptions)
        );
        println!();
    }
    let long_test = loaded.plan.max_duration() >= Duration::from_secs(60);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("stampede-main")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                &logger,
                &[format!("cannot start the runtime: {e}")],
                ExitCode::SystemError.code(),
            )
        }
    };
    let summary = crate::summary::SummarySetup::new(&loaded, no_color, stdout_tty);
    // Scripts with `stampede/chaos` phases: recovery time in the summary.
    let (mut outputs, mut data_fn) = (outputs, summary.data_fn());
    if let Some(c) = &chaos {
        outputs.push(c.output());
        data_fn = c.wrap(data_fn);
    }
    let report = rt.block_on(async {
        let running = match loaded.start(outputs, data_fn) {
            Ok(r) => r,
            Err(e) => {
                logger.log(Level::Error, &e.to_string(), &[]);
                return Err(e.exit_code().code());
            }
        };
        watch_signals(&running, logger.clone());
        if !args.address.is_empty() {
            crate::api::serve(&args.address, (*running).clone(), logger.clone()).await;
        }
        if let Some(d) = dashboard.as_mut() {
            d.start(&running, &logger);
        }
        let view = ProgressPrinter {
            quiet: args.quiet,
            tty: stdout_tty,
            long_test,
        };
        let report = view.follow(running).await;
        if let Some(d) = dashboard.as_mut() {
            d.finish(&report, &logger).await;
        }
        Ok(report)
    });
    let report = match report {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut code = finish(&report, &summary, &logger);
    if let Some(Err(e)) = chaos.map(|c| c.finish(&report, &summary_plan, &out_specs)) {
        logger.log(Level::Error, &e, &[]);
        if code == ExitCode::Ok.code() {
            code = ExitCode::Generic.code();
        }
    }
    if let Some(d) = dashboard {
        rt.block_on(d.linger(&logger));
    }
    code
}

/// Prints the summary, writes the outputs and logs the error; returns the
/// exit code.
fn finish(report: &RunReport, summary: &crate::summary::SummarySetup, logger: &Logger) -> i32 {
    let mut code = report.exit_code.code();
    if let Err(e) = summary.emit(report) {
        logger.log(Level::Error, &e, &[]);
        if code == ExitCode::Ok.code() {
            code = ExitCode::Generic.code();
        }
    }
    if let Some(err) = &report.error {
        logger.log(Level::Error, err, &[]);
    }
    code
}

/// First SIGINT/SIGTERM stops the run gracefully (teardown and summary
/// still run); a second one exits at once with code 105.
fn watch_signals(running: &Running, logger: Arc<Logger>) {
    let stopper = running.stopper();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut count = 0;
        loop {
            tokio::select! {
                r = tokio::signal::ctrl_c() => if r.is_err() { return },
                _ = async {
                    match term.as_mut() {
                        Some(t) => { t.recv().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {}
            }
            count += 1;
            if count == 1 {
                logger.log(
                    Level::Warning,
                    "Stopping the test run gracefully; send the signal again to abort immediately",
                    &[],
                );
                stopper.stop(StopReason::Signal);
            } else {
                logger.log(Level::Error, "Aborting the test run", &[]);
                let _ = std::io::stdout().flush();
                std::process::exit(ExitCode::ExternalAbort.code());
            }
        }
    });
}

/// The live view of a run.
struct ProgressPrinter {
    quiet: bool,
    tty: bool,
    long_test: bool,
}

impl ProgressPrinter {
    fn block(&self, monitor: &Monitor) -> Vec<String> {
        let stats = monitor.stats();
        let totals = Totals {
            elapsed: stats.elapsed(),
            active_vus: stats.active_vus(),
            max_vus: stats.initialized_vus(),
            completed: stats.completed(),
            interrupted: stats.interrupted(),
        };
        let mut lines = vec![running_line(&totals, self.long_test)];
        lines.extend(scenario_lines(&monitor.progress(), self.tty.then_some(40)));
        lines
    }

    /// Draws `lines`: in place on a terminal, as a new block otherwise.
    fn draw(&self, lines: &[String], drawn: &mut usize) {
        let mut out = std::io::stdout().lock();
        if self.tty {
            if *drawn > 0 {
                let _ = write!(out, "\x1b[{}A", *drawn);
            }
            for l in lines {
                let _ = writeln!(out, "\x1b[2K{l}");
            }
            *drawn = lines.len();
        } else {
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
            let _ = writeln!(out);
        }
        let _ = out.flush();
    }

    /// Shows progress until the run ends; returns its report.
    async fn follow(&self, running: Running) -> RunReport {
        let period = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(1)
        };
        let monitor = running.monitor();
        let mut drawn = 0usize;
        let mut ticker = tokio::time::interval(period);
        ticker.tick().await;
        let finished = running.finish();
        tokio::pin!(finished);
        let report = loop {
            tokio::select! {
                r = &mut finished => break r,
                _ = ticker.tick() => {
                    if !self.quiet && monitor.stats().elapsed() > Duration::ZERO {
                        self.draw(&self.block(&monitor), &mut drawn);
                    }
                }
            }
        };
        if !self.quiet && monitor.stats().elapsed() > Duration::ZERO {
            self.draw(&self.block(&monitor), &mut drawn);
            if self.tty {
                println!();
            }
        }
        report
    }
}
