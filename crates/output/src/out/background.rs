//! Runs an output's work on its own thread, so that the collector's call to
//! [`Output::add_samples`](super::Output::add_samples) only copies the batch
//! into a bounded queue and never waits for a disk or a network.
//!
//! A panic on the thread is caught: the next `send` (and `finish`) returns
//! an [`OutputPanic`] error, which the engine turns into the end of the run
//! with a system error, instead of a bare "thread has stopped" at the end.
//!
//! When the queue is full (the thread cannot keep up, e.g. a slow remote
//! server), whole batches are dropped and counted rather than slowing the
//! test; [`Background::finish`] reports how many.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use stampede_metrics::{MetricDef, Registry, Sample};

use super::OutputPanic;

/// Batches queued before new ones are dropped: each is about a second of one
/// scheduler thread's samples.
const QUEUE: usize = 1024;

/// Samples queued before new batches are dropped (a few hundred MB at most).
const MAX_PENDING_SAMPLES: usize = 4_000_000;

/// The work done on the background thread.
pub(crate) trait Worker: Send + 'static {
    /// Handles a batch; `registry` defines every metric of the batch.
    fn batch(&mut self, samples: &[Sample], registry: &Registry);
    /// Called about every tick interval (see [`Background::spawn`]).
    fn tick(&mut self, _registry: &Registry) {}
    /// Called once after the last batch; the error ends up in `stop()`.
    fn finish(&mut self, registry: &Registry) -> Result<(), String>;
}

enum Msg {
    Defs(Vec<MetricDef>),
    Samples(Vec<Sample>),
}

/// A worker thread and the queue to it.
pub(crate) struct Background {
    tx: Option<SyncSender<Msg>>,
    /// Samples queued and not yet handled by the worker.
    pending: Arc<AtomicUsize>,
    handle: Option<JoinHandle<Result<(), String>>>,
    /// The panic message, once the thread panicked.
    panicked: Arc<Mutex<Option<String>>>,
    defs_sent: usize,
    dropped_batches: u64,
    dropped_samples: u64,
}

impl Background {
    /// Starts `worker` on a thread named `name`; `tick` is the interval of
    /// [`Worker::tick`] calls (none if `None`).
    pub(crate) fn spawn<W: Worker>(
        name: &str,
        mut worker: W,
        tick: Option<Duration>,
    ) -> io::Result<Background> {
        let (tx, rx) = mpsc::sync_channel::<Msg>(QUEUE);
        let pending = Arc::new(AtomicUsize::new(0));
        let done = pending.clone();
        let panicked = Arc::new(Mutex::new(None));
        let panic_slot = panicked.clone();
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let body = std::panic::AssertUnwindSafe(move || {
                    let registry = Registry::new();
                    let mut next_tick = tick.map(|t| Instant::now() + t);
                    loop {
                        let msg = match next_tick {
                            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                            Some(at) => {
                                rx.recv_timeout(at.saturating_duration_since(Instant::now()))
                            }
                        };
                        match msg {
                            Ok(Msg::Defs(defs)) => {
                                for d in defs.iter().skip(registry.len()) {
                                    // Same order as the source registry: same ids.
                                    let _ = registry.register(&d.name, d.kind, d.contains);
                                }
                            }
                            Ok(Msg::Samples(s)) => {
                                worker.batch(&s, &registry);
                                done.fetch_sub(s.len(), Ordering::Relaxed);
                            }
                            Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                        if let (Some(at), Some(t)) = (next_tick, tick) {
                            if Instant::now() >= at {
                                worker.tick(&registry);
                                next_tick = Some(Instant::now() + t);
                            }
                        }
                    }
                    worker.finish(&registry)
                });
                std::panic::catch_unwind(body).map_err(|p| {
                    let msg = panic_text(p.as_ref());
                    *panic_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg.clone());
                    msg
                })?
            })?;
        Ok(Background {
            tx: Some(tx),
            pending,
            handle: Some(handle),
            panicked,
            defs_sent: 0,
            dropped_batches: 0,
            dropped_samples: 0,
        })
    }

    /// Queues a copy of `samples`; never blocks (except, rarely, to hand
    /// over new metric definitions, which must not be lost).
    pub(crate) fn send(&mut self, samples: &[Sample], registry: &Registry) -> io::Result<()> {
        self.check()?;
        let Some(tx) = &self.tx else {
            return Err(io::Error::other("output used after stop()"));
        };
        let needed = samples
            .iter()
            .map(|s| s.metric.id.0 as usize + 1)
            .max()
            .unwrap_or(0);
        if needed > self.defs_sent {
            let defs = registry.defs();
            self.defs_sent = defs.len();
            tx.send(Msg::Defs(defs))
                .map_err(|_| io::Error::other("the output's thread has stopped"))?;
        }
        if samples.is_empty() {
            return Ok(());
        }
        let n = samples.len();
        if self.pending.load(Ordering::Relaxed) + n > MAX_PENDING_SAMPLES {
            self.dropped_batches += 1;
            self.dropped_samples += n as u64;
            return Ok(());
        }
        self.pending.fetch_add(n, Ordering::Relaxed);
        match tx.try_send(Msg::Samples(samples.to_vec())) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.pending.fetch_sub(n, Ordering::Relaxed);
                self.dropped_batches += 1;
                self.dropped_samples += n as u64;
                Ok(())
            }
            Err(TrySendError::Disconnected(_)) => {
                Err(io::Error::other("the output's thread has stopped"))
            }
        }
    }

    /// The thread's panic, as an [`OutputPanic`] error.
    fn check(&self) -> io::Result<()> {
        match &*self.panicked.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(msg) => Err(OutputPanic(msg.clone()).into_io()),
            None => Ok(()),
        }
    }

    /// Ends the queue and waits for the worker to finish.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        drop(self.tx.take());
        let Some(handle) = self.handle.take() else {
            return Ok(());
        };
        let res = handle
            .join()
            .map_err(|p| OutputPanic(panic_text(p.as_ref())).into_io())?;
        self.check()?;
        let mut msgs = Vec::new();
        if let Err(e) = res {
            msgs.push(e);
        }
        if self.dropped_batches > 0 {
            msgs.push(format!(
                "{} samples in {} batches were dropped because the output could not keep up",
                self.dropped_samples, self.dropped_batches
            ));
        }
        if msgs.is_empty() {
            Ok(())
        } else {
            Err(io::Error::other(msgs.join("; ")))
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // Let the thread end; a dropped (never stopped) output loses its work.
        drop(self.tx.take());
    }
}

/// The text of a panic payload (`panic!` carries a `&str` or a `String`).
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// `Output::add_samples` of an output run by a [`Background`] worker.
pub(crate) fn send_to(
    bg: &mut Option<Background>,
    what: &str,
    samples: &[Sample],
    registry: &Registry,
) -> io::Result<()> {
    match bg {
        Some(bg) => bg.send(samples, registry),
        None => Err(io::Error::other(format!(
            "{what} output used before start()"
        ))),
    }
}

/// `Output::stop` of an output run by a [`Background`] worker.
pub(crate) fn stop(bg: &mut Option<Background>) -> io::Result<()> {
    match bg.take() {
        Some(mut bg) => bg.finish(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::{MetricType, TagSet, ValueType};
    use std::sync::{Arc, Mutex};

    struct Collect(Arc<Mutex<Vec<(String, f64)>>>, Arc<Mutex<u32>>);

    impl Worker for Collect {
        fn batch(&mut self, samples: &[Sample], registry: &Registry) {
            for s in samples {
                let name = registry.def(s.metric.id).name.to_string();
                self.0.lock().unwrap().push((name, s.value));
            }
        }
        fn tick(&mut self, _: &Registry) {
            *self.1.lock().unwrap() += 1;
        }
        fn finish(&mut self, _: &Registry) -> Result<(), String> {
            Err("finished".into())
        }
    }

    #[test]
    fn batches_reach_the_thread_with_their_metrics() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let ticks = Arc::new(Mutex::new(0));
        let w = Collect(seen.clone(), ticks.clone());
        let mut bg = Background::spawn("test", w, Some(Duration::from_millis(5))).unwrap();
        let reg = Registry::new();
        let m = reg
            .register("custom_one", MetricType::Counter, ValueType::Default)
            .unwrap();
        let s = Sample {
            metric: m,
            tags: TagSet::empty(),
            value: 2.0,
            time_ns: 1,
        };
        bg.send(std::slice::from_ref(&s), &reg).unwrap();
        let m2 = reg
            .register("custom_two", MetricType::Gauge, ValueType::Default)
            .unwrap();
        bg.send(&[Sample { metric: m2, ..s }], &reg).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let err = bg.finish().unwrap_err();
        assert_eq!(err.to_string(), "finished");
        assert_eq!(
            *seen.lock().unwrap(),
            [
                ("custom_one".to_string(), 2.0),
                ("custom_two".to_string(), 2.0)
            ]
        );
        assert!(*ticks.lock().unwrap() >= 1);
        assert!(bg.send(&[], &reg).is_err());
    }

    struct Panics;

    impl Worker for Panics {
        fn batch(&mut self, samples: &[Sample], _: &Registry) {
            panic!("bad batch of {}", samples.len());
        }
        fn finish(&mut self, _: &Registry) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn a_panic_on_the_thread_is_reported_as_an_output_panic() {
        let mut bg = Background::spawn("panics", Panics, None).unwrap();
        let reg = Registry::new();
        let s = Sample {
            metric: stampede_metrics::Builtin::Iterations.metric(),
            tags: TagSet::empty(),
            value: 1.0,
            time_ns: 1,
        };
        bg.send(std::slice::from_ref(&s), &reg).unwrap();
        // Polled up to a deadline: the thread handles the batch on its own time.
        let deadline = Instant::now() + Duration::from_secs(30);
        let err = loop {
            match bg.send(&[], &reg) {
                Err(e) => break e,
                Ok(()) => assert!(Instant::now() < deadline, "the panic was never seen"),
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(
            OutputPanic::of(&err),
            Some(&OutputPanic("bad batch of 1".into())),
            "{err}"
        );
        let err = bg.finish().unwrap_err();
        assert_eq!(
            OutputPanic::of(&err).map(|p| p.0.as_str()),
            Some("bad batch of 1")
        );
        assert!(OutputPanic::of(&io::Error::other("disk full")).is_none());
    }

    struct Stuck(mpsc::Receiver<()>);

    impl Worker for Stuck {
        fn batch(&mut self, _: &[Sample], _: &Registry) {
            let _ = self.0.recv();
        }
        fn finish(&mut self, _: &Registry) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_worker_costs_dropped_batches_not_a_blocked_caller() {
        let (release, rx) = mpsc::channel();
        let mut bg = Background::spawn("stuck", Stuck(rx), None).unwrap();
        let reg = Registry::new();
        let s = Sample {
            metric: stampede_metrics::Builtin::Iterations.metric(),
            tags: TagSet::empty(),
            value: 1.0,
            time_ns: 1,
        };
        let started = std::time::Instant::now();
        for _ in 0..QUEUE + 100 {
            bg.send(std::slice::from_ref(&s), &reg).unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(release); // the worker drains the rest
        let err = bg.finish().unwrap_err().to_string();
        assert!(
            err.contains("samples in") && err.contains("were dropped"),
            "{err}"
        );
    }
}
