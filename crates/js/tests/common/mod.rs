//! Runs scripts in a real VU coroutine and exposes what they recorded.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use stampede_js::coro::{Coro, InterruptSignal};
use stampede_js::log::Logger;
use stampede_js::{Emitter, Program, ScriptError, TestEnv, Vu, VuConfig};
use stampede_metrics::{Aggregate, Registry, Sink, Store, TagSet};

/// A script written to a temporary directory with its companion files.
pub struct Script {
    pub dir: tempfile::TempDir,
    pub path: std::path::PathBuf,
}

impl Script {
    pub fn new(source: &str) -> Self {
        Self::with_files(source, &[])
    }

    pub fn with_files(source: &str, files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("script.js");
        std::fs::write(&path, source).unwrap();
        for (name, content) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        Self { dir, path }
    }
}

/// What a run left behind.
pub struct Outcome<R> {
    pub result: R,
    pub logs: Vec<String>,
    pub store: Store,
    pub registry: Arc<Registry>,
}

impl<R> Outcome<R> {
    /// The merged aggregate of a metric, optionally filtered by tags.
    pub fn agg(&self, metric: &str, tags: &[(&str, &str)]) -> Option<Aggregate> {
        let m = self.registry.lookup(metric)?;
        self.store
            .get(m.id, &TagSet::from_pairs(tags.iter().copied()))
    }

    pub fn count(&self, metric: &str, tags: &[(&str, &str)]) -> u64 {
        self.agg(metric, tags).map(|a| a.samples()).unwrap_or(0)
    }

    pub fn logged(&self, needle: &str) -> bool {
        self.logs.iter().any(|l| l.contains(needle))
    }
}

pub fn local<F: Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, f)
}

/// Creates a VU for `script` inside a coroutine and hands it to `f`.
pub fn with_vu<R: 'static>(
    script: &Path,
    env: BTreeMap<String, String>,
    tweak: impl FnOnce(&mut TestEnv),
    f: impl FnOnce(Result<&mut Vu, ScriptError>) -> R + 'static,
) -> Outcome<R> {
    let logger = Arc::new(Logger::capturing());
    let program = Program::load(script).unwrap();
    let mut test = TestEnv::probe(program, env, logger.clone());
    tweak(&mut test);
    let registry = test.registry.clone();
    let test = Arc::new(test);
    let sink = Rc::new(RefCell::new(Sink::new()));
    let signal = InterruptSignal::new();
    let cfg = VuConfig {
        id: 1,
        id_in_test: 1,
        emitter: Emitter::new(sink.clone(), None),
        interrupt: signal.clone(),
    };
    let result = local(async move {
        let co = Coro::new(stampede_js::VU_STACK_SIZE, move || {
            match Vu::new(test, cfg) {
                Ok(mut vu) => f(Ok(&mut vu)),
                Err(e) => f(Err(e)),
            }
        })
        .unwrap();
        co.run(signal).await
    });
    let mut store = Store::new();
    store.apply(&sink.borrow_mut().take(0, 1));
    Outcome {
        result,
        logs: logger.captured(),
        store,
        registry,
    }
}

/// Runs `n` iterations of the default function.
pub fn iterate(source: &str, n: u64) -> Outcome<Vec<stampede_js::IterationOutcome>> {
    let s = Script::new(source);
    iterate_script(&s, n)
}

pub fn iterate_script(s: &Script, n: u64) -> Outcome<Vec<stampede_js::IterationOutcome>> {
    with_vu(
        &s.path,
        BTreeMap::new(),
        |_| {},
        move |vu| {
            let vu = vu.expect("init succeeds");
            (0..n)
                .map(|i| {
                    vu.run_iteration(
                        stampede_js::IterationRequest {
                            exec: "default",
                            iteration_in_scenario: i,
                            iteration_in_instance: i,
                            iteration_in_test: i,
                        },
                        None,
                    )
                })
                .collect()
        },
    )
}
