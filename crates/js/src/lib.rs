//! The embedded JavaScript runtime: VU coroutines, the module loader and
//! k6's module surface.
//!
//! A [`Program`] is the script and the files it loads, read once. A
//! [`TestEnv`] is what all VUs of a test share (registry, options, control).
//! Each [`Vu`] owns a QuickJS context (the VUs of a test on one thread share
//! a runtime) and must live inside a [`coro::Coro`]:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use stampede_js::{coro::{Coro, InterruptSignal}, Program, TestEnv, Vu, VuConfig, Emitter, log::Logger};
//! # async fn demo() {
//! let program = Program::load("script.js".as_ref()).unwrap();
//! let test = Arc::new(TestEnv::probe(program, Default::default(), Arc::new(Logger::stderr())));
//! let signal = InterruptSignal::new();
//! let cfg = VuConfig { id: 0, id_in_test: 0, emitter: Emitter::detached(), interrupt: signal.clone() };
//! let co = Coro::new(stampede_js::VU_STACK_SIZE, move || Vu::new(test, cfg).map(|vu| vu.options())).unwrap();
//! let options = co.run(signal).await;
//! # }
//! ```

mod archive;
mod bytes;
mod commonjs;
pub mod coro;
mod error;
mod host;
mod intrinsics;
mod loader;
pub mod log;
pub mod modules;
mod ops;
mod program;
pub mod remote;
mod shared;
mod stack;
mod state;
mod typescript;
mod value;
mod vu;

pub use archive::{Archive, ArchiveMetadata};
pub use error::ScriptError;
pub use host::{
    now_ns, Emitter, ExecutionInfo, NoExecution, ScenarioInfo, TestControl, TestEnv, TextSummaryFn,
};
pub use program::{FileData, Program};
pub use state::Phase;
pub use vu::{IterationOutcome, IterationRequest, SummaryOutputs, Vu, VuConfig, VU_STACK_SIZE};
