//! Workers and how the control plane reaches them: the segment protocol
//! ([`protocol`]), the runner that executes one segment of a run
//! ([`runner`]), and the [`Transport`] seam with its in-process
//! implementation ([`LocalTransport`], one child process per segment), and
//! issue 15's Redis Streams transport ([`redis`]: the server's
//! [`RedisTransport`] and `stampede worker`'s [`Worker`]), and the chaos
//! [`relay`] that carries a pipeline agent's control calls over Redis.
//!
//! The orchestrator in `stampede-server` talks to a `Transport` only, so
//! issue 15's Redis Streams transport slots in without changing it. This
//! crate knows nothing of storage, nor of HTTP (the relay's HTTP ends are
//! `stampede-chaos`'s).

pub mod memory;
pub mod protocol;
pub mod redis;
pub mod relay;
pub mod runner;
pub mod targets;
pub mod transport;

pub use self::redis::{RedisTransport, RedisTransportConfig, Worker, WorkerConfig, WorkerExit};
pub use protocol::{Control, Progress, ScenarioProgress, SegmentEvent, SegmentJob, StaticTarget};
pub use runner::{run_segment, RunnerHooks, Summarizer};
pub use transport::{
    Fleet, FleetFuture, LocalTransport, SegmentHandle, Transport, TransportError,
    SEGMENT_SUBCOMMAND,
};
