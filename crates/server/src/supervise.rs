//! Seeing one run through: its segments, started together, merged and
//! judged by the controller.
//!
//! A run of `workers: N` becomes N k6 execution segments (`i/N:(i+1)/N` of
//! the sequence `0,1/N,…,1`; one segment is the whole test). Each is handed
//! to the [`Transport`] gated: it initializes its VUs, reports `Ready` and
//! waits; once every segment is ready they all get the same start instant,
//! so intervals (numbered by the second of the test they close) line up.
//! Segments run without thresholds of their own: the controller merges
//! their intervals exactly ([`IntervalMerger`]), stores and publishes each
//! merged interval once, evaluates the thresholds on the merged data every
//! 2 s ([`Judge`]; an `abortOnFail` breach stops every segment), and at the
//! end computes the summary, the export and the exit code over the whole
//! run. `handleSummary` needs the script's JS runtime: segment 0 runs it,
//! on the merged data the controller sends it.
//!
//! `setup()` runs once, as in k6's cloud: the lead segment (0) runs it
//! before it reports `Ready`, and its data goes to every segment with the
//! common start; `teardown()` and `handleSummary()` run in the lead only.
//!
//! A segment whose worker was lost is resumed by another worker, or the
//! run goes on without it and ends *degraded*: the gaps (segment, worker,
//! from/to second of the run) are kept in the summary document
//! (`faults`, `degraded`), the result's error and its summary text. Each
//! is recorded in the store as soon as it is known ([`RunFaults`]), so a
//! leader that takes the run over (several servers) starts from them and
//! the result lists every fault, whichever leader saw it.
//!
//! A segment that fails or vanishes aborts the others and ends the run
//! `errored` with its message; a transport that never closes a stream after
//! an abort is given up on after a grace period, so a run never hangs.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stampede_cluster::protocol::{Gap, Share, SummarySettings};
use stampede_cluster::{Control, Progress, SegmentEvent, SegmentJob};
use stampede_metrics::Store;
use stampede_store::{Run, RunEnd, RunFault, RunStatus};
use tokio::sync::mpsc;

use crate::merge::{Added, IntervalMerger, INTERVAL};
use crate::orchestrator::{status_for_exit, Orchestrator, SUMMARY_TEXT_KEY};
use crate::verdict::{exit_code, Judge};

/// The most segments one run may be split into.
pub const MAX_WORKERS: u32 = 64;

/// Between the last `Ready` and the common start, for the `Start` to reach
/// every segment.
const START_MARGIN: Duration = Duration::from_millis(200);

/// How long a merged interval waits for a slow segment before it is stored
/// with what arrived (and upserted when the rest comes).
const MERGE_TIMEOUT: Duration = Duration::from_secs(3);

/// Thresholds are evaluated on the merged data this often (k6: 2 s).
const THRESHOLD_INTERVAL: Duration = Duration::from_secs(2);

/// After an abort or a failure, how long the segments have to go away.
const GIVE_UP_AFTER: Duration = Duration::from_secs(15);

/// `i/n` as a k6 ratio.
fn ratio(i: usize, n: usize) -> String {
    match i {
        0 => "0".into(),
        _ if i == n => "1".into(),
        _ => format!("{i}/{n}"),
    }
}

/// The jobs of a run split into `n` segments.
pub fn segment_jobs(job: &SegmentJob, n: usize, handle_summary: bool) -> Vec<SegmentJob> {
    let sequence = (n > 1).then(|| (0..=n).map(|i| ratio(i, n)).collect::<Vec<_>>().join(","));
    (0..n)
        .map(|i| {
            let mut j = job.clone();
            j.segment = (n > 1).then(|| format!("{}:{}", ratio(i, n), ratio(i + 1, n)));
            j.sequence = sequence.clone();
            j.start_gate = true;
            j.summary_gate = i == 0 && handle_summary;
            j.share = Some(Share { lead: i == 0 });
            j.validate_only = false;
            j
        })
        .collect()
}

/// How one segment ended.
struct Ended {
    exit_code: i32,
    error: Option<String>,
    summary_text: String,
    handle_summary: bool,
}

/// What the controller knows of each segment.
#[derive(Default)]
struct Seg {
    ready: bool,
    /// All intervals are in: it finished or waits for summary data.
    data_done: bool,
    duration_s: f64,
    setup_data: Option<Value>,
    ended: Option<Ended>,
    gone: bool,
    progress: Progress,
}

fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The sum of the segments' live totals.
fn total_progress(segs: &[Seg]) -> Progress {
    let mut p = Progress::default();
    for s in segs {
        p.elapsed_s = p.elapsed_s.max(s.progress.elapsed_s);
        p.active_vus += s.progress.active_vus;
        p.max_vus += s.progress.max_vus;
        p.completed += s.progress.completed;
        p.interrupted += s.progress.interrupted;
        for sc in &s.progress.scenarios {
            match p.scenarios.iter_mut().find(|x| x.name == sc.name) {
                // Segments of one scenario: their sums; as far along as
                // the slowest, over when all are.
                Some(x) => {
                    x.fraction = x.fraction.min(sc.fraction);
                    x.elapsed_s = x.elapsed_s.max(sc.elapsed_s);
                    x.active_vus += sc.active_vus;
                    x.max_vus += sc.max_vus;
                    x.completed += sc.completed;
                    x.interrupted += sc.interrupted;
                    x.finished &= sc.finished;
                }
                None => p.scenarios.push(sc.clone()),
            }
        }
    }
    p
}

/// The faults of a run, one per loss — (segment, lost worker, first missed
/// second) — merged as more is learned of each: who resumed it, and at
/// which second (the first interval the segment reports from the loss on).
struct RunFaults {
    list: Vec<Gap>,
    /// Each segment's name, as gaps carry it.
    names: Vec<Option<String>>,
}

impl RunFaults {
    fn new(n: usize) -> Self {
        let names = (0..n)
            .map(|i| (n > 1).then(|| format!("{}:{}", ratio(i, n), ratio(i + 1, n))))
            .collect();
        Self {
            list: Vec::new(),
            names,
        }
    }

    /// Adds `g` or completes the same loss with it: the gap as it is now,
    /// if that changed anything.
    fn note(&mut self, g: Gap) -> Option<Gap> {
        let same = |x: &Gap| x.segment == g.segment && x.worker == g.worker && x.from_s == g.from_s;
        match self.list.iter_mut().find(|x| same(x)) {
            Some(x) => {
                let merged = Gap {
                    to_s: g.to_s.or(x.to_s),
                    resumed_by: g.resumed_by.or_else(|| x.resumed_by.clone()),
                    ..g
                };
                let changed = merged != *x;
                *x = merged;
                changed.then(|| x.clone())
            }
            None => {
                self.list.push(g.clone());
                Some(g)
            }
        }
    }

    /// Segment `seg` reported interval `index`: the resumed gaps it closes.
    fn interval(&mut self, seg: usize, index: u64) -> Vec<Gap> {
        let name = &self.names[seg];
        self.list
            .iter_mut()
            .filter(|g| {
                g.segment == *name
                    && g.resumed_by.is_some()
                    && g.to_s.is_none()
                    && index >= g.from_s
            })
            .map(|g| {
                g.to_s = Some(index);
                g.clone()
            })
            .collect()
    }
}

/// A gap as the store keeps it.
fn to_stored(g: &Gap) -> RunFault {
    RunFault {
        segment: g.segment.clone().unwrap_or_default(),
        worker: g.worker.clone(),
        from_s: i64::try_from(g.from_s).unwrap_or(i64::MAX),
        to_s: g.to_s.map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
        resumed_by: g.resumed_by.clone(),
    }
}

/// A stored fault as a gap.
fn from_stored(f: RunFault) -> Gap {
    Gap {
        segment: (!f.segment.is_empty()).then_some(f.segment),
        worker: f.worker,
        from_s: f.from_s.max(0) as u64,
        to_s: f.to_s.map(|t| t.max(0) as u64),
        resumed_by: f.resumed_by,
    }
}

/// A run in flight and everything the controller keeps of it.
pub(crate) struct Supervision<'a> {
    pub orch: &'a Orchestrator,
    pub run: Run,
    pub controls: Vec<mpsc::UnboundedSender<Control>>,
    pub settings: SummarySettings,
    /// The common start of a run taken over from a previous leader.
    pub start_at_ms: Option<u64>,
}

impl Supervision<'_> {
    fn send_all(&self, c: &Control) {
        for tx in &self.controls {
            let _ = tx.send(c.clone());
        }
    }

    /// Runs the segments' events to the run's end state.
    pub async fn drive(
        mut self,
        mut events: mpsc::Receiver<(usize, Option<SegmentEvent>)>,
    ) -> (Run, RunStatus, RunEnd) {
        let id = self.run.id;
        let n = self.controls.len();
        let mut judge = match Judge::new(self.settings.clone()) {
            Ok(j) => j,
            Err(e) => {
                self.send_all(&Control::Abort);
                return (
                    self.run,
                    RunStatus::Errored,
                    errored(format!("invalid thresholds: {e}")),
                );
            }
        };
        let mut segs: Vec<Seg> = (0..n).map(|_| Seg::default()).collect();
        let mut merger: Option<IntervalMerger> = None;
        let mut started_at: Option<Instant> = None;
        if let Some(at) = self.start_at_ms {
            // Taken over: the segments run; their replayed events rebuild
            // the merge (each (segment, interval) once).
            let ago = Duration::from_millis(now_unix_ms().saturating_sub(at));
            started_at = Some(Instant::now().checked_sub(ago).unwrap_or_else(Instant::now));
            let mut m = IntervalMerger::new(n, at * 1_000_000, MERGE_TIMEOUT);
            self.seed(&mut m, &mut judge, at).await;
            merger = Some(m);
        }
        let mut failure: Option<(i32, String)> = None;
        let mut give_up_at: Option<Instant> = None;
        let mut final_result: Option<(
            Option<stampede_metrics::thresholds::Evaluation>,
            stampede_output::Report,
        )> = None;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut last_eval = Instant::now();
        let mut chaos: Option<Value> = None;
        let mut faults = RunFaults::new(n);
        self.load_faults(&mut faults).await;
        loop {
            tokio::select! {
                msg = events.recv() => {
                    let Some((i, ev)) = msg else { break };
                    let Some(ev) = ev else {
                        segs[i].gone = true;
                        if segs[i].ended.is_none() && failure.is_none() {
                            failure = Some((255, format!("segment {}/{n} ended without a result", i + 1)));
                            self.send_all(&Control::Abort);
                            give_up_at = Some(Instant::now() + GIVE_UP_AFTER);
                        }
                        if let Some(m) = merger.as_mut() {
                            m.segment_done(i);
                        }
                        if segs.iter().all(|s| s.gone) {
                            break;
                        }
                        continue;
                    };
                    match ev {
                        SegmentEvent::Loaded { .. } => {}
                        SegmentEvent::Started => {
                            if started_at.is_some() && failure.is_none() {
                                self.orch
                                    .transition(&mut self.run, RunStatus::Running, &RunEnd::default())
                                    .await;
                            }
                        }
                        SegmentEvent::Setup { data } => segs[i].setup_data = data,
                        SegmentEvent::Ready => {
                            segs[i].ready = true;
                            if started_at.is_none() && failure.is_none() && segs.iter().all(|s| s.ready) {
                                let at = now_unix_ms() + START_MARGIN.as_millis() as u64;
                                self.orch.record_start(id, at).await;
                                // The lead's setup() data goes to every segment.
                                let setup_data = segs[0].setup_data.clone();
                                self.send_all(&Control::Start { at_unix_ms: at, setup_data });
                                started_at = Some(Instant::now() + START_MARGIN);
                                merger = Some(IntervalMerger::new(n, at * 1_000_000, MERGE_TIMEOUT));
                            }
                        }
                        SegmentEvent::Interval { index, snapshot } => {
                            self.orch.load.observe(&snapshot);
                            for g in faults.interval(i, index) {
                                self.save_fault(&g).await;
                            }
                            let m = merger.get_or_insert_with(|| {
                                IntervalMerger::new(n, now_unix_ms() * 1_000_000, MERGE_TIMEOUT)
                            });
                            match m.add(i, index, snapshot, Instant::now()) {
                                Ok(Added::Late(part)) => judge.apply(&part),
                                Ok(_) => {}
                                Err(e) => tracing::warn!(run = %id, segment = i, error = %e, "a snapshot was refused"),
                            }
                        }
                        SegmentEvent::Progress(p) => {
                            segs[i].progress = p;
                            let total = total_progress(&segs);
                            self.orch.hub.publish(
                                Some(id),
                                json!({"type": "progress", "run_id": id, "progress": total}),
                            );
                            self.orch.set_progress(id, total);
                        }
                        SegmentEvent::SummaryWanted { duration_s, setup_data } => {
                            segs[i].data_done = true;
                            segs[i].duration_s = duration_s;
                            segs[i].setup_data = setup_data;
                            if let Some(m) = merger.as_mut() {
                                m.segment_done(i);
                            }
                        }
                        SegmentEvent::Finished { exit_code, error, summary_text, handle_summary, setup_data, duration_s, faults: lost, .. } => {
                            for g in lost {
                                self.note_fault(&mut faults, g).await;
                            }
                            let seg = &mut segs[i];
                            seg.data_done = true;
                            seg.duration_s = seg.duration_s.max(duration_s);
                            if seg.setup_data.is_none() {
                                seg.setup_data = setup_data;
                            }
                            let early = started_at.is_none() && exit_code != 0;
                            if early && failure.is_none() {
                                // It ended before the others could start: they never will.
                                let why = error.clone().unwrap_or_else(|| format!("exit code {exit_code}"));
                                failure = Some((exit_code, if n > 1 { format!("segment {}/{n}: {why}", i + 1) } else { why }));
                                self.send_all(&Control::Abort);
                                give_up_at = Some(Instant::now() + GIVE_UP_AFTER);
                            }
                            seg.ended = Some(Ended { exit_code, error, summary_text, handle_summary });
                            if let Some(m) = merger.as_mut() {
                                m.segment_done(i);
                            }
                        }
                        SegmentEvent::Fault { gap } => self.note_fault(&mut faults, gap).await,
                        SegmentEvent::Failed { exit_code, message } => {
                            segs[i].ended = Some(Ended { exit_code, error: Some(message.clone()), summary_text: String::new(), handle_summary: false });
                            if failure.is_none() {
                                let why = if n > 1 { format!("segment {}/{n}: {message}", i + 1) } else { message };
                                failure = Some((exit_code, why));
                                self.send_all(&Control::Abort);
                                give_up_at = Some(Instant::now() + GIVE_UP_AFTER);
                            }
                        }
                    }
                    // Once all data is in: the end-of-test verdict and summary.
                    if failure.is_none() && final_result.is_none() && segs.iter().all(|s| s.data_done) {
                        if let Some(m) = merger.as_mut() {
                            self.flush(m, &mut judge, Instant::now()).await;
                        }
                        let (store, reg) = match merger.as_ref() {
                            Some(m) => {
                                let mut store = Store::new();
                                for s in m.all() {
                                    store.apply(&s);
                                }
                                (store, Some(m.registry()))
                            }
                            None => (Store::new(), None),
                        };
                        let fallback = stampede_metrics::Registry::new();
                        let reg = reg.unwrap_or(&fallback);
                        let duration = segs.iter().map(|s| s.duration_s).fold(0.0, f64::max);
                        let setup_data = segs[0].setup_data.clone();
                        let (eval, report) = judge.finish(reg, &store, Duration::from_secs_f64(duration), setup_data);
                        // Every interval is stored: the chaos recovery, as
                        // `stampede run` gives it to handleSummary.
                        chaos = crate::chaos::measure(&self.orch.store, &self.run, &self.settings).await;
                        if segs[0].ended.is_none() {
                            let mut data = report.handle_summary_data();
                            if let (Some(v), Value::Object(d)) = (&chaos, &mut data) {
                                d.insert(crate::chaos::KEY.into(), v.clone());
                            }
                            let _ = self.controls[0].send(Control::Summary { data });
                        }
                        final_result = Some((eval, report));
                    }
                    if segs.iter().all(|s| s.ended.is_some()) && (final_result.is_some() || failure.is_some()) {
                        break;
                    }
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    if let Some(m) = merger.as_mut() {
                        self.flush(m, &mut judge, now).await;
                    }
                    if let (Some(start), Some(m)) = (started_at, merger.as_ref()) {
                        if now.duration_since(last_eval) >= THRESHOLD_INTERVAL && now > start {
                            last_eval = now;
                            if judge.evaluate_running(m.registry(), now - start).is_some() {
                                tracing::info!(run = %id, "a threshold with abortOnFail failed: stopping every segment");
                                self.send_all(&Control::Stop);
                            }
                        }
                    }
                    if give_up_at.is_some_and(|t| now >= t) {
                        break;
                    }
                }
            }
        }
        if let Some((code, why)) = failure {
            let end = RunEnd {
                exit_code: Some(code.into()),
                ..errored(why)
            };
            return (self.run, RunStatus::Errored, end);
        }
        let Some((eval, report)) = final_result else {
            return (
                self.run,
                RunStatus::Errored,
                errored("the segments ended without a result".into()),
            );
        };
        let codes: Vec<(i32, Option<String>)> = segs
            .iter()
            .enumerate()
            .map(|(i, s)| match s.ended.as_ref() {
                // The engine runs handleSummary in every segment; only
                // segment 0's, on the merged data, counts.
                Some(e) if i > 0 && own_summary_failed(e) => (0, None),
                Some(e) => (e.exit_code, e.error.clone()),
                None => (255, None),
            })
            .collect();
        let (code, error) = exit_code(&codes, judge.aborted.as_ref(), eval.as_ref());
        let mut text = match segs[0].ended.as_ref() {
            Some(e) if e.handle_summary => e.summary_text.clone(),
            _ => judge.text(&report),
        };
        let faults = faults.list;
        let error = with_faults(error, &faults);
        let mut summary = report.summary_export();
        if let Value::Object(m) = &mut summary {
            if !faults.is_empty() {
                for g in &faults {
                    text.push_str(&format!("\n     {}\n", g.describe()));
                }
                m.insert("degraded".into(), faults.iter().any(Gap::degrades).into());
                m.insert("faults".into(), json!(faults));
            }
            m.insert(SUMMARY_TEXT_KEY.into(), text.into());
            if let Some(v) = chaos {
                m.insert(crate::chaos::KEY.into(), v);
            }
        }
        let end = RunEnd {
            exit_code: Some(code.into()),
            error,
            summary: Some(summary),
        };
        (self.run, status_for_exit(code), end)
    }

    /// Starts from the faults recorded for the run (by a previous leader).
    async fn load_faults(&self, faults: &mut RunFaults) {
        match self.orch.store.run_faults(self.run.id).await {
            Ok(stored) => {
                for f in stored {
                    faults.note(from_stored(f));
                }
            }
            Err(e) => {
                tracing::warn!(run = %self.run.id, error = %e, "cannot read the run's faults")
            }
        }
    }

    /// Adds `g` to the run's faults and records what it changed.
    async fn note_fault(&self, faults: &mut RunFaults, g: Gap) {
        if let Some(g) = faults.note(g) {
            self.save_fault(&g).await;
        }
    }

    async fn save_fault(&self, g: &Gap) {
        if let Err(e) = self
            .orch
            .store
            .put_run_fault(self.run.id, &to_stored(g))
            .await
        {
            tracing::error!(run = %self.run.id, error = %e, "cannot record a fault of the run");
        }
    }

    /// A run taken over: the intervals a previous leader stored seed the
    /// merge (its segments' streams may have lost their older events to a
    /// Redis restart); replayed parts of them are then ignored.
    async fn seed(&self, m: &mut IntervalMerger, judge: &mut Judge, at_ms: u64) {
        let id = self.run.id;
        let stored = match self.orch.store.intervals(id, None, None).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(run = %id, error = %e, "cannot read the run's stored intervals");
                return;
            }
        };
        let now = Instant::now();
        for i in stored {
            let offset = i.start_ms - at_ms as i64;
            if i.len_ms != INTERVAL.as_millis() as i64 || offset < 0 {
                continue;
            }
            match m.seed(offset as u64 / 1000, i.snapshot, now) {
                Ok(snap) => judge.apply(&snap),
                Err(e) => tracing::warn!(run = %id, error = %e, "a stored interval is unreadable"),
            }
        }
    }

    /// Stores and publishes the merged intervals that are ready.
    async fn flush(&self, m: &mut IntervalMerger, judge: &mut Judge, now: Instant) {
        let id = self.run.id;
        for r in m.ready(now) {
            if r.first {
                judge.apply(&r.snapshot);
            }
            let wire = r.snapshot.to_wire(m.registry());
            if let Err(e) = self.orch.store.put_interval(id, INTERVAL, &wire).await {
                tracing::error!(run = %id, error = %e, "cannot store an interval");
            }
            self.orch.hub.publish(
                Some(id),
                json!({"type": "snapshot", "run_id": id, "index": r.index, "snapshot": wire}),
            );
        }
    }
}

/// The run's error with what happened to its workers.
fn with_faults(error: Option<String>, faults: &[Gap]) -> Option<String> {
    let notes: Vec<String> = faults.iter().map(Gap::describe).collect();
    match (error, notes.is_empty()) {
        (e, true) => e,
        (None, false) => Some(notes.join("; ")),
        (Some(e), false) => Some(format!("{e}; {}", notes.join("; "))),
    }
}

/// The segment failed only because its handleSummary (on its own, partial
/// data) threw: k6's generic exit code with handleSummary's message.
fn own_summary_failed(e: &Ended) -> bool {
    e.exit_code == 255
        && e.error
            .as_deref()
            .is_some_and(|m| m.starts_with("handleSummary"))
}

fn errored(why: String) -> RunEnd {
    RunEnd {
        exit_code: Some(255),
        error: Some(why),
        summary: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_splits_into_k6_segments() {
        let job: SegmentJob = serde_json::from_value(json!({
            "run_id": "r", "entry": "s.js", "files": {}, "overrides": {"vus": 4}
        }))
        .unwrap();
        let one = segment_jobs(&job, 1, true);
        assert_eq!(one.len(), 1);
        assert_eq!(
            (one[0].segment.as_deref(), one[0].sequence.as_deref()),
            (None, None)
        );
        assert!(one[0].start_gate && one[0].summary_gate);
        let four = segment_jobs(&job, 4, false);
        let segs: Vec<_> = four.iter().map(|j| j.segment.clone().unwrap()).collect();
        assert_eq!(segs, ["0:1/4", "1/4:2/4", "2/4:3/4", "3/4:1"]);
        assert_eq!(four[3].sequence.as_deref(), Some("0,1/4,2/4,3/4,1"));
        assert!(four.iter().all(|j| !j.summary_gate && j.start_gate));
        let leads: Vec<bool> = four
            .iter()
            .map(|j| j.share.as_ref().unwrap().lead)
            .collect();
        assert_eq!(
            leads,
            [true, false, false, false],
            "setup() runs once, in the lead"
        );
        assert_eq!(four[0].overrides["vus"], 4);
        for s in &segs {
            stampede_config::segment::ExecutionSegment::parse(s).unwrap();
        }
    }

    #[test]
    fn a_loss_is_one_fault_completed_as_it_is_learned() {
        let mut f = RunFaults::new(2);
        let lost = Gap {
            segment: Some("1/2:1".into()),
            worker: "wa".into(),
            from_s: 4,
            to_s: None,
            resumed_by: None,
        };
        assert_eq!(f.note(lost.clone()), Some(lost.clone()));
        assert_eq!(f.note(lost.clone()), None, "seen again: nothing new");
        let resumed = Gap {
            resumed_by: Some("wb".into()),
            ..lost.clone()
        };
        assert_eq!(f.note(resumed.clone()), Some(resumed.clone()));
        assert!(f.interval(0, 6).is_empty(), "another segment");
        assert!(f.interval(1, 3).is_empty(), "before the loss");
        let closed = f.interval(1, 7);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].to_s, Some(7));
        assert!(f.interval(1, 8).is_empty(), "closed once");
        // A replay that knows less erases nothing.
        assert_eq!(f.note(lost.clone()), None);
        assert_eq!(f.list.len(), 1);
        assert_eq!(f.list[0].to_s, Some(7));
        assert_eq!(f.list[0].resumed_by.as_deref(), Some("wb"));
        // As stored and back.
        assert_eq!(from_stored(to_stored(&f.list[0])), f.list[0]);
        let whole = Gap {
            segment: None,
            ..lost
        };
        assert_eq!(to_stored(&whole).segment, "");
        assert_eq!(from_stored(to_stored(&whole)), whole);
        assert_eq!(RunFaults::new(1).names, [None]);
    }
}
