//! The collector: merges the threads' snapshots into the run's store,
//! evaluates thresholds while the test runs, samples the VU gauges and feeds
//! the streaming outputs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stampede_js::log::{Level, Logger};
use stampede_js::now_ns;
use stampede_metrics::thresholds::Thresholds;
use stampede_metrics::{Builtin, Registry, Snapshot, Store, TagSet};
use stampede_output::{Output, OutputPanic};
use tokio::sync::{mpsc, oneshot};

use crate::control::{StopReason, Stopper};
use crate::main_sink::MainSink;
use crate::pool::Pool;
use crate::stats::RunStats;
use crate::worker::Flushed;

/// How often the collector looks at the clock for its periodic work.
const GAUGE_TICK: Duration = Duration::from_millis(100);

/// How often thresholds are evaluated during the run (k6: every 2s).
const THRESHOLD_INTERVAL: Duration = Duration::from_secs(2);

/// Messages to the collector besides flushed data.
pub(crate) enum CollectorMsg {
    Data(Flushed),
    /// Replies once everything sent before it has been merged.
    Barrier(oneshot::Sender<()>),
}

/// State the collector shares with the end of the run.
pub(crate) struct Collected {
    pub store: Store,
    pub thresholds: Thresholds,
    pub outputs: Vec<Box<dyn Output>>,
    /// First output error, reported once at the end.
    pub output_error: Option<String>,
}

pub(crate) struct Collector {
    pub shared: Arc<Mutex<Collected>>,
    /// Receives every interval's merged snapshot, when someone listens.
    pub snapshots: Option<mpsc::UnboundedSender<Snapshot>>,
    pub registry: Arc<Registry>,
    pub stopper: Arc<Stopper>,
    pub stats: Arc<RunStats>,
    pub pool: Arc<Pool>,
    pub sink: Arc<Mutex<MainSink>>,
    pub logger: Arc<Logger>,
    pub tags: TagSet,
    /// Warns when the generator's own CPU is saturated.
    pub cpu: crate::selfcheck::CpuWatch,
}

impl Collector {
    /// Merges data until every sender is gone.
    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<CollectorMsg>) {
        let mut gauges = tokio::time::interval(GAUGE_TICK);
        gauges.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_eval = Instant::now();
        let mut next_sample = Duration::from_secs(1);
        let mut interval = Snapshot::new(now_ns(), now_ns());
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(CollectorMsg::Data(d)) => self.absorb(d, &mut interval),
                    Some(CollectorMsg::Barrier(reply)) => {
                        self.flush_own_sink(&mut interval);
                        self.publish(&mut interval);
                        let _ = reply.send(());
                    }
                    None => break,
                },
                _ = gauges.tick() => {
                    // As k6: every second of the test proper, the first one
                    // a second after the start.
                    let elapsed = self.stats.elapsed();
                    if elapsed < next_sample {
                        continue;
                    }
                    while next_sample <= elapsed {
                        next_sample += Duration::from_secs(1);
                    }
                    self.sample_vus();
                    self.cpu.tick(&self.logger);
                    self.flush_own_sink(&mut interval);
                    self.publish(&mut interval);
                    if last_eval.elapsed() >= THRESHOLD_INTERVAL {
                        last_eval = Instant::now();
                        self.evaluate();
                    }
                }
            }
        }
        self.flush_own_sink(&mut interval);
        self.publish(&mut interval);
    }

    /// Sends the interval's merged snapshot to the listener and starts a
    /// new interval.
    fn publish(&self, interval: &mut Snapshot) {
        let now = now_ns();
        let next = Snapshot::new(now, now);
        let mut done = std::mem::replace(interval, next);
        if done.entries.is_empty() {
            return;
        }
        done.end_ns = done.end_ns.max(now);
        if let Some(tx) = &self.snapshots {
            let _ = tx.send(done);
        }
    }

    fn absorb(&self, data: Flushed, interval: &mut Snapshot) {
        let mut c = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        match data {
            Flushed::Snapshot(s) => {
                c.store.apply(&s);
                if self.snapshots.is_some() {
                    interval.merge(&s);
                }
            }
            Flushed::Samples(samples) => {
                let mut err = None;
                for o in c.outputs.iter_mut() {
                    if let Err(e) = o.add_samples(&samples, &self.registry) {
                        // A panic on an output's thread is a Stampede bug:
                        // the run ends now, as for a VU thread's panic.
                        if let Some(p) = OutputPanic::of(&e) {
                            self.stopper.stop(StopReason::Fatal(format!(
                                "internal error: output {} panicked: {}",
                                o.description(),
                                p.0
                            )));
                        }
                        err.get_or_insert_with(|| format!("{}: {e}", o.description()));
                    }
                }
                if let Some(e) = err {
                    if c.output_error.is_none() {
                        self.logger
                            .log(Level::Error, &format!("output failed: {e}"), &[]);
                        c.output_error = Some(e);
                    }
                }
            }
        }
    }

    /// `vus` and `vus_max`, as k6 samples them every second.
    pub fn sample_vus(&self) {
        let now = now_ns();
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        sink.add(
            Builtin::Vus.metric(),
            &self.tags,
            self.stats.active_vus() as f64,
            now,
        );
        sink.add(
            Builtin::VusMax.metric(),
            &self.tags,
            self.pool.created() as f64,
            now,
        );
    }

    /// Merges what executors and the gauges recorded, and hands its raw
    /// samples to the outputs.
    pub fn flush_own_sink(&self, interval: &mut Snapshot) {
        let Some((snap, samples)) = self
            .sink
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(interval.start_ns, now_ns())
        else {
            return;
        };
        if !samples.is_empty() {
            self.absorb(Flushed::Samples(samples), interval);
        }
        self.absorb(Flushed::Snapshot(snap), interval);
    }

    fn evaluate(&self) {
        let elapsed = self.stats.elapsed();
        let mut c = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let Collected {
            store, thresholds, ..
        } = &mut *c;
        if thresholds.is_empty() {
            return;
        }
        let eval = thresholds.evaluate_running(store, elapsed);
        self.stats.set_tainted(!eval.all_ok);
        if eval.abort && !self.stopper.is_stopped() {
            self.logger.log(Level::Error, &eval.abort_message(), &[]);
            self.stopper.stop(StopReason::ThresholdAbort);
        }
    }
}
