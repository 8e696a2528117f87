//! `stampede run --web-dashboard` (k6's `K6_WEB_DASHBOARD=true`): the run
//! view of `web/` served by the running process, with no server and no
//! login, fed by the engine's interval snapshots; and the HTML report
//! written at the end (`K6_WEB_DASHBOARD_EXPORT`).
//!
//! The pieces: [`config`] reads the settings; [`Dashboard::prepare`] binds
//! the port before the run starts (a busy port fails the run, as in k6) and
//! asks the engine for its snapshot stream; [`Dashboard::start`] serves the
//! page ([`http`]) and runs the feed, which folds each period's snapshots
//! into a [`LiveRun`] and broadcasts the new point to every open page;
//! [`Dashboard::finish`] records the outcome, writes the report, and waits
//! while a page is still open (as k6 does) so the finished run can be read
//! and exported.

pub mod config;
mod http;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use stampede_engine::{Loaded, Monitor, RunControl, RunReport, Running};
use stampede_js::log::{Level, Logger};
use stampede_metrics::Snapshot;
use stampede_web::{LiveMessage, LiveRun, RunStatus, ScenarioState};
use tokio::sync::{broadcast, mpsc, watch};

pub use config::DashboardConfig;

/// The id the dashboard's one run has in the API paths.
pub const RUN_ID: &str = "local";

/// How many messages a slow page may fall behind before its socket is
/// closed (it then reconnects and fetches what it missed).
const BACKLOG: usize = 64;

/// State the HTTP handlers and the feed share.
pub(crate) struct Shared {
    pub live: Mutex<LiveRun>,
    pub tx: broadcast::Sender<Arc<str>>,
    pub control: Mutex<Option<RunControl>>,
    /// Open WebSocket connections.
    pub clients: watch::Sender<usize>,
}

impl Shared {
    fn live(&self) -> std::sync::MutexGuard<'_, LiveRun> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `msg` to every open page.
    fn broadcast(&self, msg: &LiveMessage) {
        if let Ok(text) = serde_json::to_string(msg) {
            let _ = self.tx.send(Arc::from(text));
        }
    }
}

/// The dashboard's settings when the run asks for one (`webDashboard`,
/// `K6_WEB_DASHBOARD`, `--web-dashboard` or `--out web-dashboard`), and the
/// dashboard, bound and subscribed; `--out web-dashboard` is taken out of
/// the outputs. Errors come with the exit code to fail with.
pub fn setup(loaded: &mut Loaded, script: &str) -> Result<Option<Dashboard>, (Vec<String>, i32)> {
    let outs = &mut loaded.plan.outputs.out;
    let params: Vec<String> = outs
        .iter()
        .filter_map(|o| config::out_params(o).map(str::to_owned))
        .collect();
    outs.retain(|o| config::out_params(o).is_none());
    if !loaded.plan.outputs.web_dashboard && params.is_empty() {
        return Ok(None);
    }
    let env: Vec<(String, String)> = std::env::vars().collect();
    let cfg = DashboardConfig::resolve(&env, params.last().map(String::as_str))
        .map_err(|e| (e, stampede_engine::ExitCode::InvalidConfig.code()))?;
    Dashboard::prepare(cfg, loaded, script)
        .map(Some)
        .map_err(|e| (vec![e], stampede_engine::ExitCode::Generic.code()))
}

/// A dashboard for one `stampede run`.
pub struct Dashboard {
    cfg: DashboardConfig,
    shared: Arc<Shared>,
    listener: Option<std::net::TcpListener>,
    snapshots: Option<mpsc::UnboundedReceiver<Snapshot>>,
    feed: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
    url: Option<String>,
}

impl Dashboard {
    /// Binds the port (unless disabled) and subscribes to `loaded`'s
    /// interval snapshots.
    pub fn prepare(
        cfg: DashboardConfig,
        loaded: &mut Loaded,
        script: &str,
    ) -> Result<Self, String> {
        let listener = match cfg.bind_address() {
            Some(addr) => {
                let l = std::net::TcpListener::bind(&addr)
                    .and_then(|l| l.set_nonblocking(true).map(|()| l))
                    .map_err(|e| format!("could not start the web dashboard on {addr}: {e}"))?;
                Some(l)
            }
            None => None,
        };
        let url = listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| format!("http://{a}"));
        let (tx, rx) = mpsc::unbounded_channel();
        loaded.stream_snapshots(tx);
        let specs = crate::summary::threshold_specs(loaded);
        let live = LiveRun::new(
            RUN_ID,
            Some(script.to_owned()),
            loaded.registry(),
            specs,
            cfg.period,
        );
        let shared = Arc::new(Shared {
            live: Mutex::new(live),
            tx: broadcast::channel(BACKLOG).0,
            control: Mutex::new(None),
            clients: watch::channel(0).0,
        });
        Ok(Dashboard {
            cfg,
            shared,
            listener,
            snapshots: Some(rx),
            feed: None,
            url,
        })
    }

    /// The page's address, when the HTTP server is on.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// Serves the page and starts the feed; call inside the runtime once
    /// the run has started.
    pub fn start(&mut self, running: &Running, logger: &Arc<Logger>) {
        *self
            .shared
            .control
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((**running).clone());
        self.shared.live().set_status(RunStatus::Starting);
        if let Some(l) = self.listener.take() {
            match tokio::net::TcpListener::from_std(l) {
                Ok(listener) => {
                    let app = http::router(self.shared.clone(), self.cfg.host.clone());
                    tokio::spawn(async move {
                        let _ = axum::serve(listener, app).await;
                    });
                }
                Err(e) => logger.log(
                    Level::Error,
                    &format!("could not serve the web dashboard: {e}"),
                    &[],
                ),
            }
        }
        if self.cfg.open {
            if let Some(url) = &self.url {
                open_browser(url, logger);
            }
        }
        if let Some(rx) = self.snapshots.take() {
            let (done_tx, done_rx) = watch::channel(false);
            let feed = Feed {
                shared: self.shared.clone(),
                monitor: running.monitor(),
                period: self.cfg.period,
                pending: None,
            };
            self.feed = Some((done_tx, tokio::spawn(feed.run(rx, done_rx))));
        }
    }

    /// Records the run's outcome and writes the report if asked.
    pub async fn finish(&mut self, report: &RunReport, logger: &Arc<Logger>) {
        if let Some((done, task)) = self.feed.take() {
            let _ = done.send(true);
            let _ = task.await;
        }
        let status = final_status(report);
        let state = {
            let mut live = self.shared.live();
            live.finish(
                status,
                report.exit_code.code(),
                report.error.clone(),
                &report.thresholds,
            );
            live.state().clone()
        };
        self.shared.broadcast(&LiveMessage::Run {
            run_id: RUN_ID.into(),
            run: state,
        });
        if let Some(path) = &self.cfg.export {
            let html = stampede_output::html::render(&self.shared.live().results());
            if let Err(e) = std::fs::write(path, html) {
                logger.log(
                    Level::Error,
                    &format!("could not write the web dashboard report {path}: {e}"),
                    &[],
                );
            }
        }
    }

    /// Keeps serving while a page is open, as k6 does, so the finished run
    /// can still be read and exported.
    pub async fn linger(self, logger: &Logger) {
        let mut clients = self.shared.clients.subscribe();
        if *clients.borrow() > 0 {
            logger.log(
                Level::Info,
                "The web dashboard is open in a browser; close it to exit",
                &[],
            );
            tokio::select! {
                _ = clients.wait_for(|n| *n == 0) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    }
}

/// The run's final status from its exit code.
fn final_status(report: &RunReport) -> RunStatus {
    use stampede_engine::ExitCode as E;
    match report.exit_code {
        E::Ok => RunStatus::Passed,
        E::ThresholdsFailed | E::ThresholdsAborted | E::MarkedAsFailed => RunStatus::Failed,
        E::StoppedByApi | E::ExternalAbort | E::ScriptAborted => RunStatus::Aborted,
        _ => RunStatus::Errored,
    }
}

/// Opens `url` with the desktop's opener (`K6_WEB_DASHBOARD_OPEN`).
fn open_browser(url: &str, logger: &Logger) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        logger.log(
            Level::Warning,
            &format!("could not open the web dashboard with {opener}: {e}"),
            &[],
        );
    }
}

/// Folds the engine's interval snapshots into periods and publishes them.
struct Feed {
    shared: Arc<Shared>,
    monitor: Monitor,
    period: Duration,
    pending: Option<Snapshot>,
}

impl Feed {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Snapshot>,
        mut done: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut last_status = None;
        loop {
            tokio::select! {
                snap = rx.recv() => match snap {
                    Some(s) => self.absorb(s),
                    None => break,
                },
                _ = tick.tick() => {
                    let status = self.status();
                    if last_status != Some(status) {
                        last_status = Some(status);
                        let run = {
                            let mut live = self.shared.live();
                            live.set_status(status);
                            live.set_progress(self.progress(), self.monitor.stats().elapsed());
                            live.state().clone()
                        };
                        self.shared.broadcast(&LiveMessage::Run { run_id: RUN_ID.into(), run });
                    }
                }
                _ = done.wait_for(|d| *d) => break,
            }
        }
        // The run is over: the collector sent its last interval before the
        // report existed; take it and publish what is pending.
        while let Ok(s) = rx.try_recv() {
            self.absorb(s);
        }
        if let Some(p) = self.pending.take() {
            self.publish(p);
        }
    }

    fn absorb(&mut self, snap: Snapshot) {
        let pending = match self.pending.take() {
            Some(mut p) => {
                p.merge(&snap);
                p
            }
            None => snap,
        };
        // A period is complete once it spans it, to within a tick's jitter.
        let span = Duration::from_nanos(pending.end_ns.saturating_sub(pending.start_ns));
        if span + Duration::from_millis(150) >= self.period {
            self.publish(pending);
        } else {
            self.pending = Some(pending);
        }
    }

    fn publish(&self, snap: Snapshot) {
        let status = self.status();
        let (point, run) = {
            let mut live = self.shared.live();
            live.set_status(status);
            live.set_progress(self.progress(), self.monitor.stats().elapsed());
            let point = live.push(&snap);
            (point, live.state().clone())
        };
        self.shared.broadcast(&LiveMessage::Interval {
            run_id: RUN_ID.into(),
            point,
            run,
        });
    }

    fn status(&self) -> RunStatus {
        use stampede_engine::stats::status as s;
        let stats = self.monitor.stats();
        let stopped = self
            .shared
            .control
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|c| c.status().stopped);
        match stats.status() {
            x if x < s::RUNNING => RunStatus::Starting,
            s::RUNNING if !stopped => RunStatus::Running,
            _ => RunStatus::Finishing,
        }
    }

    fn progress(&self) -> Vec<ScenarioState> {
        self.monitor
            .progress()
            .into_iter()
            .map(|p| ScenarioState {
                name: p.name,
                executor: p.executor,
                fraction: p.fraction,
                elapsed_s: p.elapsed.as_secs_f64(),
                duration_s: p.duration.map(|d| d.as_secs_f64()),
                active_vus: p.active_vus,
                max_vus: p.max_vus,
                completed: p.completed,
                interrupted: p.interrupted,
                finished: p.finished,
            })
            .collect()
    }
}
