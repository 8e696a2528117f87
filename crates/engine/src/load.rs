//! Loading a test: run the script's init code once in a probe VU to read its
//! exported options, merge every options layer in k6's order, and resolve
//! the result into a validated plan with parsed thresholds.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use stampede_config::{render_errors, Options, Plan};
use stampede_js::coro::{Coro, InterruptSignal};
use stampede_js::log::Logger;
use stampede_js::{Archive, Emitter, Program, ScriptError, TestEnv, Vu, VuConfig, VU_STACK_SIZE};
use stampede_metrics::thresholds::{ThresholdSpec, Thresholds};
use stampede_metrics::Registry;

use crate::error::EngineError;
use crate::native::NativeProgram;

/// What a run starts from.
pub struct RunConfig {
    /// The script's path (relative imports and `open()` resolve against it).
    pub script: PathBuf,
    /// The script's text, when it does not come from `script` on disk.
    pub source: Option<String>,
    /// Options from the `--config` file.
    pub config_file: Options,
    /// Options from `K6_*` environment variables.
    pub env_options: Options,
    /// Options from command-line flags.
    pub cli_options: Options,
    /// The process environment, passed to `__ENV` unless
    /// `--include-system-env-vars=false`.
    pub system_env: BTreeMap<String, String>,
    /// Where logs go.
    pub logger: Arc<Logger>,
    /// Scheduler threads (default: one per core).
    pub threads: Option<usize>,
    /// The `User-Agent` when the options set none.
    pub default_user_agent: String,
    /// Renders summary data as text for the k6-summary jslib.
    pub text_summary: Option<stampede_js::TextSummaryFn>,
    /// Receives each interval's merged metrics (about one per second).
    pub snapshots: Option<tokio::sync::mpsc::UnboundedSender<stampede_metrics::Snapshot>>,
    /// The archive to run instead of `script` on disk: its modules and
    /// files, options (the script's layer) and environment.
    pub archive: Option<Arc<Archive>>,
    /// This run is one part of a distributed test: how it shares
    /// `setup()`, `teardown()` and `handleSummary()`, and where it resumes
    /// (`None`: the whole test runs here).
    pub part: Option<crate::part::Part>,
}

impl RunConfig {
    /// A configuration with only a script, k6's defaults and no environment.
    pub fn for_script(path: impl Into<PathBuf>) -> Self {
        Self {
            script: path.into(),
            source: None,
            config_file: Options::default(),
            env_options: Options::default(),
            cli_options: Options::default(),
            system_env: BTreeMap::new(),
            logger: Arc::new(Logger::stderr()),
            threads: None,
            default_user_agent: format!("stampede/{} (k6-compatible)", env!("CARGO_PKG_VERSION")),
            text_summary: None,
            snapshots: None,
            archive: None,
            part: None,
        }
    }

    /// A configuration that runs `archive` (see [`crate::build_archive`]):
    /// nothing is read from the disk or the network.
    pub fn for_archive(archive: Arc<Archive>) -> Self {
        Self {
            archive: Some(archive.clone()),
            ..Self::for_script(archive.main())
        }
    }
}

/// A script whose init code ran, with its resolved plan.
pub struct Loaded {
    /// The validated plan.
    pub plan: Plan,
    /// Parsed and validated thresholds (empty with `--no-thresholds`).
    pub thresholds: Thresholds,
    /// Functions the script exports.
    pub exports: Vec<String>,
    pub(crate) program: Arc<Program>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) config: RunConfig,
    /// The consolidated options the plan was resolved from.
    pub(crate) options: Options,
    /// The native program run instead of a script, if any.
    pub(crate) native: Option<Arc<dyn NativeProgram>>,
}

/// What the probe VU learned.
struct Probe {
    options: Option<serde_json::Value>,
    exports: Vec<String>,
}

impl Loaded {
    /// The run's metric definitions (custom metrics register here as the
    /// script creates them), to name the metrics of streamed snapshots.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Streams each interval's merged metrics to `tx` once the run starts
    /// (the same as setting [`RunConfig::snapshots`] before loading).
    pub fn stream_snapshots(
        &mut self,
        tx: tokio::sync::mpsc::UnboundedSender<stampede_metrics::Snapshot>,
    ) {
        self.config.snapshots = Some(tx);
    }

    /// Reads the script, runs its init code, merges the options and
    /// validates the plan. Invalid options fail with exit code 104, a script
    /// that cannot load or throws in its init code with 107.
    pub fn load(config: RunConfig) -> Result<Self, EngineError> {
        let program = match (&config.archive, &config.source) {
            (Some(archive), _) => archive.program(),
            (None, Some(src)) => Program::from_source(&config.script, src.clone()),
            (None, None) => Program::load(&config.script)?,
        };
        let outer = config
            .config_file
            .clone()
            .merge(config.env_options.clone())
            .merge(config.cli_options.clone());
        // Remote imports obey the network rules known before the script
        // loads (config file, environment, flags).
        program.restrict_remote_modules(module_network(&outer));
        let mut env = script_env(&outer, &config.system_env);
        if let Some(archive) = &config.archive {
            for (k, v) in &archive.metadata.env {
                env.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let registry = Arc::new(Registry::new());
        let mut probe_env = TestEnv::probe(program.clone(), env.clone(), config.logger.clone());
        probe_env.registry = registry.clone();
        let probe = run_probe(Arc::new(probe_env))?;
        Self::resolve(config, program, probe, env, registry, None)
    }

    /// Loads a native program (a test written as data) instead of a
    /// script: its options are the script layer, it exports `default`
    /// only, and no JavaScript runs, not even to probe it.
    pub fn load_native(
        config: RunConfig,
        native: Arc<dyn NativeProgram>,
    ) -> Result<Self, EngineError> {
        let outer = config
            .config_file
            .clone()
            .merge(config.env_options.clone())
            .merge(config.cli_options.clone());
        let env = script_env(&outer, &config.system_env);
        let program = Program::from_source(&config.script, String::new());
        let probe = Probe {
            options: Some(native.options()),
            exports: native.exports(),
        };
        let registry = Arc::new(Registry::new());
        Self::resolve(config, program, probe, env, registry, Some(native))
    }

    /// Merges the options layers and validates the plan and thresholds.
    fn resolve(
        config: RunConfig,
        program: Arc<Program>,
        probe: Probe,
        env: BTreeMap<String, String>,
        registry: Arc<Registry>,
        native: Option<Arc<dyn NativeProgram>>,
    ) -> Result<Self, EngineError> {
        // An archive's options are those the test had when it was made:
        // the script's and the layers given to `archive`.
        let script_options = match &config.archive {
            Some(archive) => Some(&archive.metadata.options),
            None => probe.options.as_ref(),
        };
        let script_layer = match script_options {
            Some(v) if !v.is_null() => Options::from_json(v).map_err(|e| config_error(&e))?,
            _ => Options::default(),
        };
        let (merged, warnings) = Options::consolidate(
            config.config_file.clone(),
            script_layer,
            config.env_options.clone(),
            config.cli_options.clone(),
        );
        for w in &warnings {
            config.logger.warn(w);
        }
        let plan = merged.clone().resolve().map_err(|e| config_error(&e))?;
        plan.check_exec(|f| probe.exports.iter().any(|e| e == f))
            .map_err(|e| config_error(&e))?;
        for w in &plan.warnings {
            config.logger.warn(w);
        }
        let thresholds = build_thresholds(&plan, &registry)?;
        Ok(Self {
            plan,
            thresholds,
            exports: probe.exports,
            program,
            registry,
            env,
            config,
            options: merged,
            native,
        })
    }
}

fn config_error(errors: &[stampede_config::ConfigError]) -> EngineError {
    EngineError::Config(vec![render_errors(errors)])
}

/// The `hosts`, `blacklistIPs` and `blockHostnames` of `o`, for remote
/// module fetches.
fn module_network(o: &Options) -> stampede_js::remote::ModuleNetwork {
    stampede_js::remote::ModuleNetwork {
        hosts: o
            .hosts
            .iter()
            .flatten()
            .map(|(name, a)| {
                let to = stampede_http::HostOverride {
                    ip: a.ip,
                    port: a.port,
                };
                (name.clone(), to)
            })
            .collect(),
        blacklist_ips: o
            .blacklist_ips
            .iter()
            .flatten()
            .filter_map(|n| stampede_http::IpNet::parse(&n.to_string()))
            .collect(),
        block_hostnames: o.block_hostnames.clone().unwrap_or_default(),
    }
}

/// `__ENV`: the system environment (unless disabled) and `-e` pairs.
fn script_env(outer: &Options, system: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if outer.include_system_env_vars.unwrap_or(true) {
        env.extend(system.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(e) = &outer.env {
        env.extend(e.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    env
}

fn build_thresholds(plan: &Plan, registry: &Registry) -> Result<Thresholds, EngineError> {
    if plan.summary.no_thresholds {
        return Thresholds::new(Vec::new()).map_err(|e| threshold_errors(&e));
    }
    let specs: Vec<ThresholdSpec> = plan
        .thresholds
        .iter()
        .map(|t| {
            let mut s = ThresholdSpec::new(&t.selector, &t.expr);
            s.abort_on_fail = t.abort_on_fail;
            s.delay_abort_eval = t.delay_abort_eval;
            s
        })
        .collect();
    let thresholds = Thresholds::new(specs).map_err(|e| threshold_errors(&e))?;
    let invalid = thresholds.validate(registry);
    if !invalid.is_empty() {
        return Err(threshold_errors(&invalid));
    }
    Ok(thresholds)
}

fn threshold_errors(errors: &[stampede_metrics::thresholds::ThresholdError]) -> EngineError {
    EngineError::Config(errors.iter().map(|e| e.to_string()).collect())
}

/// Runs the init code once on a thread of its own and reads the exports.
fn run_probe(test: Arc<TestEnv>) -> Result<Probe, EngineError> {
    let handle = std::thread::Builder::new()
        .name("stampede-init".into())
        .spawn(move || -> Result<Probe, ScriptError> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ScriptError::Exception(e.to_string()))?;
            let signal = InterruptSignal::new();
            let cfg = VuConfig {
                id: 0,
                id_in_test: 0,
                emitter: Emitter::detached(),
                interrupt: signal.clone(),
            };
            let co = Coro::new(VU_STACK_SIZE, move || {
                let vu = Vu::new(test, cfg)?;
                Ok(Probe {
                    options: vu.options()?,
                    exports: vu.exported_functions(),
                })
            })
            .map_err(|e| ScriptError::Exception(e.to_string()))?;
            tokio::task::LocalSet::new().block_on(&rt, co.run(signal))
        })
        .map_err(|e| EngineError::System(format!("cannot start the init thread: {e}")))?;
    handle
        .join()
        .map_err(|_| EngineError::System("the init thread panicked".into()))?
        .map_err(EngineError::Script)
}
