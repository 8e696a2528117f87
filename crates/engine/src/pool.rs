//! The VUs of a run: initialized up front (the plan's maximum) or on demand
//! (arrival-rate executors beyond their pre-allocated VUs), lent to
//! executors and returned when a scenario releases them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use stampede_js::{ScriptError, TestEnv};

use crate::native::NativeProgram;
use crate::vu_task::VuHandle;
use crate::worker::Workers;

/// Idle VUs and the means to make more.
pub(crate) struct Pool {
    idle: Mutex<Vec<VuHandle>>,
    workers: Arc<Workers>,
    test: Arc<TestEnv>,
    /// The native program whose VUs to make instead of the script's.
    native: Option<Arc<dyn NativeProgram>>,
    next_id: AtomicU64,
    /// Offset of this instance's VU ids in the whole test (`idInTest`).
    id_offset: u64,
    created: AtomicU64,
}

impl Pool {
    pub fn new(
        workers: Arc<Workers>,
        test: Arc<TestEnv>,
        native: Option<Arc<dyn NativeProgram>>,
        id_offset: u64,
    ) -> Arc<Self> {
        Arc::new(Self {
            idle: Mutex::new(Vec::new()),
            workers,
            test,
            native,
            next_id: AtomicU64::new(1),
            created: AtomicU64::new(0),
            id_offset,
        })
    }

    /// Initializes one more VU (running the script's init code).
    pub async fn create(&self) -> Result<VuHandle, ScriptError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let vu = self
            .workers
            .spawn_vu(
                self.test.clone(),
                self.native.clone(),
                id,
                id + self.id_offset,
            )
            .await?;
        self.created.fetch_add(1, Ordering::Relaxed);
        Ok(vu)
    }

    /// Initializes `n` VUs into the idle list, `parallel` at a time; calls
    /// `on_ready` after each one.
    pub async fn fill(
        self: &Arc<Self>,
        n: u64,
        on_ready: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<(), ScriptError> {
        let on_ready = Arc::new(on_ready);
        let parallel = self.workers.len().max(1) as u64 * 4;
        let mut done = 0;
        while done < n {
            let batch = (n - done).min(parallel);
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..batch {
                let pool = self.clone();
                set.spawn(async move { pool.create().await });
            }
            while let Some(r) = set.join_next().await {
                let vu = r.map_err(|e| ScriptError::Exception(e.to_string()))??;
                self.give_back(vu);
                done += 1;
                on_ready(done);
            }
        }
        Ok(())
    }

    /// Takes up to `n` idle VUs.
    pub fn take(&self, n: u64) -> Vec<VuHandle> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let keep = idle.len().saturating_sub(n as usize);
        idle.split_off(keep)
    }

    /// Returns a VU to the idle list.
    pub fn give_back(&self, vu: VuHandle) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(vu);
    }

    /// The native program, when the VUs are not the script's.
    pub fn native(&self) -> Option<Arc<dyn NativeProgram>> {
        self.native.clone()
    }

    /// VUs initialized so far (k6's `vus_max`).
    pub fn created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    /// Drops every idle VU, letting their coroutines end.
    pub fn drain(&self) -> Vec<VuHandle> {
        std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
