//! `stampede __segment` (hidden): the child process of the in-process
//! transport. It reads one [`SegmentJob`] line from stdin, runs it with
//! `stampede-cluster`'s runner and writes events as JSON lines to stdout.
//! Later stdin lines are controls (JSON lines: stop, start, summary data);
//! when stdin closes (the server
//! aborted the run or died, even by `kill -9`) the process ends at once.

use std::io::{BufRead, Write};
use std::sync::Arc;

use stampede_cluster::protocol::{Control, SegmentEvent, SegmentJob};
use stampede_cluster::runner::{bad_job, run_segment, RunnerHooks, Summarizer};
use stampede_engine::{Loaded, RunReport, SummaryDataFn};
use stampede_js::log::Logger;

use crate::summary::SummarySetup;

impl Summarizer for SummarySetup {
    fn data_fn(&self) -> SummaryDataFn {
        SummarySetup::data_fn(self)
    }

    fn render(&self, report: &RunReport) -> (String, serde_json::Value) {
        self.rendered(report)
    }
}

fn emit(ev: &SegmentEvent) {
    let mut out = std::io::stdout().lock();
    // A closed stdout means the server is gone; stdin's EOF ends us.
    let _ = writeln!(out, "{}", ev.to_line());
    let _ = out.flush();
}

/// Runs the command; returns the exit code.
pub fn run() -> i32 {
    let stdin = std::io::stdin();
    let mut first = String::new();
    if stdin.lock().read_line(&mut first).unwrap_or(0) == 0 {
        return 255;
    }
    let job: SegmentJob = match serde_json::from_str(first.trim_end()) {
        Ok(j) => j,
        Err(e) => {
            emit(&bad_job(&e));
            return 255;
        }
    };
    // Under the server's --run-memory-limit: report the cap, then end.
    stampede_cluster::memory::watch_limit(|message| {
        emit(&SegmentEvent::Failed {
            exit_code: 255,
            message,
        });
        std::process::exit(255);
    });
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match Control::from_line(&line) {
                Ok(c) => {
                    let _ = tx.send(c);
                }
                Err(e) => eprintln!("ignoring a control line: {e}"),
            }
        }
        let _ = tx.send(Control::Abort);
    });
    let hooks = RunnerHooks {
        text_summary: Some(crate::summary::text_summary_fn()),
        summarizer: Box::new(|loaded: &Loaded| {
            Box::new(SummarySetup::new(loaded, true, false)) as Box<dyn Summarizer>
        }),
        logger: Arc::new(Logger::stderr()),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("stampede-segment")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            emit(&SegmentEvent::Failed {
                exit_code: 255,
                message: format!("cannot start the runtime: {e}"),
            });
            return 255;
        }
    };
    let code = rt.block_on(run_segment(job, hooks, rx, emit));
    // An abort leaves VUs running: end the process without waiting.
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}
