//! Tasks and their progress: queued, then processing from 0 to 100 %,
//! then completed (or failed), advanced by one timer task per task. Each
//! task publishes its state on a `watch` channel, so any number of
//! WebSocket subscribers follow it without a per-subscriber cost to the
//! task, and a slow subscriber skips intermediate states instead of
//! queueing them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use serde_json::{json as json_value, Value};
use tokio::sync::watch;

use crate::demo::api::{now_rfc3339, uuid_v4};

/// Tasks kept; the oldest are forgotten beyond this.
pub(crate) const MAX_TASKS: usize = 100_000;
/// Progress updates while processing (every 10 %).
const STEPS: u8 = 10;

/// What a task does, which sets how long it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub(crate) enum Kind {
    #[serde(rename = "generate-pdf")]
    GeneratePdf,
    #[serde(rename = "compress-video")]
    CompressVideo,
    #[serde(rename = "resize-image")]
    ResizeImage,
}

impl Kind {
    pub(crate) const NAMES: &'static str = "generate-pdf, compress-video, resize-image";

    pub(crate) fn parse(name: &str) -> Option<Kind> {
        match name {
            "generate-pdf" => Some(Kind::GeneratePdf),
            "compress-video" => Some(Kind::CompressVideo),
            "resize-image" => Some(Kind::ResizeImage),
            _ => None,
        }
    }

    fn duration(self, base: Duration) -> Duration {
        match self {
            Kind::GeneratePdf => base,
            Kind::CompressVideo => base * 2,
            Kind::ResizeImage => base / 2,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Kind::GeneratePdf => "pdf",
            Kind::CompressVideo => "mp4",
            Kind::ResizeImage => "png",
        }
    }
}

/// Where a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Queued,
    Processing,
    Completed,
    Failed,
}

impl Status {
    pub(crate) fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Failed)
    }
}

/// A task's state at one moment.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Progress {
    pub(crate) status: Status,
    pub(crate) progress: u8,
    #[serde(rename = "updatedAt")]
    pub(crate) updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<Arc<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<&'static str>,
}

impl Progress {
    fn new(status: Status, progress: u8) -> Progress {
        Progress {
            status,
            progress,
            updated_at: now_rfc3339(),
            result: None,
            error: None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) owner: String,
    pub(crate) kind: Kind,
    pub(crate) payload: Value,
    pub(crate) created_at: String,
    pub(crate) state: watch::Sender<Progress>,
}

/// A task as `POST /tasks` and `GET /tasks/{id}` show it.
#[derive(Serialize)]
pub(crate) struct TaskView<'a> {
    #[serde(rename = "taskId")]
    task_id: &'a str,
    id: &'a str,
    #[serde(rename = "type")]
    kind: Kind,
    payload: &'a Value,
    #[serde(rename = "createdAt")]
    created_at: &'a str,
    #[serde(flatten)]
    progress: Progress,
}

impl Task {
    pub(crate) fn view(&self) -> TaskView<'_> {
        TaskView {
            task_id: &self.id,
            id: &self.id,
            kind: self.kind,
            payload: &self.payload,
            created_at: &self.created_at,
            progress: self.state.borrow().clone(),
        }
    }

    fn set(&self, progress: Progress) {
        self.state.send_replace(progress);
    }
}

#[derive(Debug)]
pub(crate) struct Tasks {
    base_duration: Duration,
    failure_rate: f64,
    inner: RwLock<Inner>,
    pub(crate) created: AtomicU64,
    pub(crate) completed: AtomicU64,
    pub(crate) failed: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, Arc<Task>>,
    order: VecDeque<String>,
}

impl Tasks {
    pub(crate) fn new(base_duration: Duration, failure_rate: f64) -> Tasks {
        Tasks {
            base_duration,
            failure_rate: failure_rate.clamp(0.0, 1.0),
            inner: RwLock::default(),
            created: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// Stores a new queued task and starts its timer on the current
    /// runtime. A payload with `"fail": true` fails half-way.
    pub(crate) fn create(self: &Arc<Self>, owner: &str, kind: Kind, payload: Value) -> Arc<Task> {
        let fail = payload.get("fail") == Some(&Value::Bool(true))
            || (self.failure_rate > 0.0 && rand::rng().random_bool(self.failure_rate));
        let (state, _) = watch::channel(Progress::new(Status::Queued, 0));
        let task = Arc::new(Task {
            id: uuid_v4(),
            owner: owner.to_string(),
            kind,
            payload,
            created_at: now_rfc3339(),
            state,
        });
        {
            let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
            inner.by_id.insert(task.id.clone(), task.clone());
            inner.order.push_back(task.id.clone());
            while inner.order.len() > MAX_TASKS {
                if let Some(old) = inner.order.pop_front() {
                    inner.by_id.remove(&old);
                }
            }
        }
        self.created.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(self.clone().advance(task.clone(), fail));
        task
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Task>> {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .get(id)
            .cloned()
    }

    /// Moves `task` through its states: a fifth of its time queued, the
    /// rest processing in [`STEPS`] steps.
    async fn advance(self: Arc<Self>, task: Arc<Task>, fail: bool) {
        let total = task.kind.duration(self.base_duration);
        tokio::time::sleep(total / 5).await;
        let step = total * 4 / 5 / u32::from(STEPS);
        for i in 0..=STEPS {
            let progress = i * (100 / STEPS);
            if fail && progress >= 50 {
                let mut p = Progress::new(Status::Failed, progress);
                p.error = Some("processing failed");
                task.set(p);
                self.failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            task.set(Progress::new(Status::Processing, progress));
            tokio::time::sleep(step).await;
        }
        let mut done = Progress::new(Status::Completed, 100);
        done.result = Some(Arc::new(json_value!({
            "url": format!("/files/{}.{}", task.id, task.kind.extension()),
        })));
        task.set(done);
        self.completed.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_task_runs_to_completion() {
        let tasks = Arc::new(Tasks::new(Duration::from_secs(10), 0.0));
        let task = tasks.create("user-1", Kind::GeneratePdf, Value::Null);
        let mut rx = task.state.subscribe();
        let mut seen = vec![(rx.borrow().status, rx.borrow().progress)];
        while rx.changed().await.is_ok() {
            let p = rx.borrow_and_update().clone();
            seen.push((p.status, p.progress));
            if p.status.is_final() {
                break;
            }
        }
        assert_eq!(seen.first(), Some(&(Status::Queued, 0)));
        assert_eq!(seen.last(), Some(&(Status::Completed, 100)));
        assert_eq!(seen.len(), 13, "{seen:?}");
        assert_eq!(tasks.completed.load(Ordering::Relaxed), 1);
        assert!(task.view().progress.result.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_task_stops_half_way() {
        let tasks = Arc::new(Tasks::new(Duration::from_secs(1), 0.0));
        let task = tasks.create("u", Kind::ResizeImage, json_value!({"fail": true}));
        let mut rx = task.state.subscribe();
        while !rx.borrow_and_update().status.is_final() {
            rx.changed().await.unwrap();
        }
        let last = rx.borrow().clone();
        assert_eq!((last.status, last.progress), (Status::Failed, 50));
        assert_eq!(tasks.failed.load(Ordering::Relaxed), 1);
    }
}
