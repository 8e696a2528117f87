//! Scheduler threads: each runs a current-thread Tokio runtime hosting many
//! VU coroutines, and owns the metric sink its VUs record into.
//!
//! A panic on one of these threads is a Stampede bug, never the script's: it
//! stops the run at once with [`StopReason::Fatal`] (exit code
//! `SystemError`), and the VUs it took down are marked gone so that nothing
//! waits for them.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use stampede_js::coro::{Coro, InterruptSignal, Stack};
use stampede_js::{now_ns, Emitter, ScriptError, TestEnv, VuConfig, VU_STACK_SIZE};
use stampede_metrics::{Sample, Sink, Snapshot};
use tokio::sync::{mpsc, oneshot};

use crate::collector::CollectorMsg;
use crate::control::{panic_message, StopReason, Stopper};
use crate::native::NativeProgram;
use crate::stats::RunStats;
use crate::vu_task::{native_vu_main, vu_main, VuCmd, VuHandle};

/// What the threads send to the collector.
pub(crate) enum Flushed {
    /// Aggregates of one interval of one thread.
    Snapshot(Snapshot),
    /// Raw samples, for outputs that want every point.
    Samples(Vec<Sample>),
}

enum WorkerCmd {
    SpawnVu {
        test: Arc<TestEnv>,
        native: Option<Arc<dyn NativeProgram>>,
        id: u64,
        id_in_test: u64,
        reply: oneshot::Sender<Result<VuHandle, ScriptError>>,
    },
    Flush {
        reply: oneshot::Sender<()>,
    },
    /// Tests only: runs a closure as a task beside the VUs.
    #[cfg(test)]
    Task(Box<dyn FnOnce() + Send>),
    /// Tests only: panics the thread's command loop itself.
    #[cfg(test)]
    PanicThread,
}

struct Worker {
    tx: mpsc::UnboundedSender<WorkerCmd>,
    join: Option<JoinHandle<()>>,
}

/// The scheduler threads of a run.
pub(crate) struct Workers {
    threads: Vec<Worker>,
    next: std::sync::atomic::AtomicUsize,
}

impl Workers {
    /// Starts `n` threads whose sinks flush into `out` every `interval`.
    /// `raw` makes them keep every sample as well.
    pub fn start(
        n: usize,
        out: mpsc::UnboundedSender<CollectorMsg>,
        raw: bool,
        interval: Duration,
        stats: Arc<RunStats>,
        stopper: Arc<Stopper>,
    ) -> std::io::Result<Self> {
        let mut threads = Vec::with_capacity(n);
        for i in 0..n.max(1) {
            let (tx, rx) = mpsc::unbounded_channel();
            let out = out.clone();
            let stats = stats.clone();
            let stopper = stopper.clone();
            let name = format!("stampede-vu-{i}");
            let join = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    let body = std::panic::AssertUnwindSafe(|| {
                        worker_main(rx, out, raw, interval, stats, &stopper)
                    });
                    if let Err(p) = std::panic::catch_unwind(body) {
                        stopper.stop(StopReason::Fatal(format!(
                            "internal error: thread {name} panicked: {}",
                            panic_message(p.as_ref())
                        )));
                    }
                })?;
            threads.push(Worker {
                tx,
                join: Some(join),
            });
        }
        Ok(Self {
            threads,
            next: Default::default(),
        })
    }

    /// Initializes a VU on the next thread (round robin): a native
    /// program's when one is given, else the script's.
    pub async fn spawn_vu(
        &self,
        test: Arc<TestEnv>,
        native: Option<Arc<dyn NativeProgram>>,
        id: u64,
        id_in_test: u64,
    ) -> Result<VuHandle, ScriptError> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.threads.len();
        let (reply, rx) = oneshot::channel();
        let sent = self.threads[i].tx.send(WorkerCmd::SpawnVu {
            test,
            native,
            id,
            id_in_test,
            reply,
        });
        if sent.is_err() {
            return Err(ScriptError::Exception("a scheduler thread stopped".into()));
        }
        rx.await
            .unwrap_or_else(|_| Err(ScriptError::Exception("a VU failed to start".into())))
    }

    /// Number of threads.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Makes every thread flush its sink now; returns once all did.
    pub async fn flush(&self) {
        let mut waits = Vec::new();
        for w in &self.threads {
            let (reply, rx) = oneshot::channel();
            if w.tx.send(WorkerCmd::Flush { reply }).is_ok() {
                waits.push(rx);
            }
        }
        for w in waits {
            let _ = w.await;
        }
    }

    /// Stops the threads once their VUs have ended (VUs end when their
    /// handles are dropped).
    pub fn shutdown(mut self) {
        for w in &mut self.threads {
            let (dead_tx, _) = mpsc::unbounded_channel();
            w.tx = dead_tx;
        }
        for w in &mut self.threads {
            if let Some(j) = w.join.take() {
                let _ = j.join();
            }
        }
    }
}

/// One thread's buffers.
struct ThreadSink {
    sink: Rc<RefCell<Sink>>,
    raw: Option<Rc<RefCell<Vec<Sample>>>>,
    last_flush_ns: std::cell::Cell<u64>,
}

impl ThreadSink {
    fn flush(&self, out: &mpsc::UnboundedSender<CollectorMsg>) {
        let now = now_ns();
        let start = self.last_flush_ns.replace(now);
        if let Some(raw) = &self.raw {
            let samples = std::mem::take(&mut *raw.borrow_mut());
            if !samples.is_empty() {
                let _ = out.send(CollectorMsg::Data(Flushed::Samples(samples)));
            }
        }
        let mut sink = self.sink.borrow_mut();
        if !sink.is_empty() {
            let _ = out.send(CollectorMsg::Data(Flushed::Snapshot(sink.take(start, now))));
        }
    }
}

fn worker_main(
    mut rx: mpsc::UnboundedReceiver<WorkerCmd>,
    out: mpsc::UnboundedSender<CollectorMsg>,
    raw: bool,
    interval: Duration,
    stats: Arc<RunStats>,
    stopper: &Stopper,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start a scheduler thread");
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    let sink = Rc::new(ThreadSink {
        sink: Rc::new(RefCell::new(Sink::new())),
        raw: raw.then(|| Rc::new(RefCell::new(Vec::new()))),
        last_flush_ns: std::cell::Cell::new(now_ns()),
    });
    local.block_on(&rt, async move {
        let ticker_sink = sink.clone();
        let ticker_out = out.clone();
        let ticker = tokio::task::spawn_local(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                ticker_sink.flush(&ticker_out);
            }
        });
        let mut vus = tokio::task::JoinSet::new();
        let vu_failed = |e: tokio::task::JoinError| {
            if e.is_panic() {
                stopper.stop(StopReason::Fatal(format!(
                    "internal error: a VU panicked: {}",
                    panic_message(e.into_panic().as_ref())
                )));
            }
        };
        loop {
            let cmd = tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => cmd,
                    None => break,
                },
                Some(Err(e)) = vus.join_next(), if !vus.is_empty() => {
                    vu_failed(e);
                    continue;
                }
            };
            match cmd {
                WorkerCmd::SpawnVu {
                    test,
                    native,
                    id,
                    id_in_test,
                    reply,
                } => {
                    let signal = InterruptSignal::new();
                    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel::<Box<VuCmd>>();
                    let cfg = VuConfig {
                        id,
                        id_in_test,
                        emitter: Emitter::new(sink.sink.clone(), sink.raw.clone()),
                        interrupt: signal.clone(),
                    };
                    let handle = VuHandle::new(id, cmd_tx, signal.clone());
                    let gone = handle.gone_guard();
                    let stats = stats.clone();
                    if let Some(program) = native {
                        // No coroutine: a native VU is a task (see `native.rs`).
                        vus.spawn_local(async move {
                            let _gone = gone;
                            native_vu_main(program, test, cfg, cmd_rx, reply, handle, stats).await
                        });
                        continue;
                    }
                    match Stack::new(VU_STACK_SIZE) {
                        Ok(stack) => {
                            let co = Coro::on_stack(stack, move || {
                                vu_main(test, cfg, cmd_rx, reply, handle, stats)
                            });
                            vus.spawn_local(async move {
                                let _gone = gone;
                                co.run(signal).await
                            });
                        }
                        Err(e) => {
                            let why = crate::selfcheck::stack_failure(&e);
                            let _ = reply.send(Err(ScriptError::Exception(why)));
                        }
                    }
                }
                WorkerCmd::Flush { reply } => {
                    sink.flush(&out);
                    let _ = reply.send(());
                }
                #[cfg(test)]
                WorkerCmd::Task(f) => {
                    vus.spawn_local(async move { f() });
                }
                #[cfg(test)]
                WorkerCmd::PanicThread => panic!("the thread broke"),
            }
        }
        // The run is over: let VUs finish (they end when their command
        // channels close), then hand over what they recorded last.
        while let Some(r) = vus.join_next().await {
            if let Err(e) = r {
                vu_failed(e);
            }
        }
        ticker.abort();
        sink.flush(&out);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_js::log::Logger;

    fn start(stopper: &Arc<Stopper>) -> Workers {
        let (out, _) = mpsc::unbounded_channel();
        let stats = RunStats::new(Arc::new(Logger::stderr()));
        Workers::start(
            1,
            out,
            false,
            Duration::from_secs(3600),
            stats,
            stopper.clone(),
        )
        .expect("a thread starts")
    }

    async fn fatal_reason(stopper: &Stopper) -> Option<StopReason> {
        // A bound, not a timing assertion: the stop is immediate.
        let _ = tokio::time::timeout(Duration::from_secs(60), stopper.stopped()).await;
        stopper.reason()
    }

    #[tokio::test]
    async fn a_panicking_vu_task_stops_the_run_as_a_system_error() {
        let stopper = Arc::new(Stopper::default());
        let workers = start(&stopper);
        let panic = Box::new(|| panic!("cannot convert float seconds to Duration"));
        assert!(workers.threads[0].tx.send(WorkerCmd::Task(panic)).is_ok());
        assert_eq!(
            fatal_reason(&stopper).await,
            Some(StopReason::Fatal(
                "internal error: a VU panicked: cannot convert float seconds to Duration".into()
            ))
        );
        // The thread lives on and still answers.
        workers.flush().await;
        workers.shutdown();
    }

    #[tokio::test]
    async fn a_panicking_thread_stops_the_run_and_refuses_new_vus() {
        let stopper = Arc::new(Stopper::default());
        let workers = start(&stopper);
        assert!(workers.threads[0].tx.send(WorkerCmd::PanicThread).is_ok());
        assert_eq!(
            fatal_reason(&stopper).await,
            Some(StopReason::Fatal(
                "internal error: thread stampede-vu-0 panicked: the thread broke".into()
            ))
        );
        workers.shutdown();
    }
}
