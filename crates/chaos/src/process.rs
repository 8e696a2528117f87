//! Process faults: pause and resume a process the user names by PID
//! (SIGSTOP/SIGCONT), kill a command this process started and start it
//! again, or run the user's own inject and restore commands (`docker pause
//! db`, `kubectl scale ...`) under a timeout.
//!
//! Each fault knows how to undo itself; the [`crate::agent::Agent`] that
//! owns them restores every injected one on the way out, and a restore
//! that fails comes back as an error for the caller to report loudly.

use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::process::{Child, Command};

/// Default time limit of a user command.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// What a process fault does, as the user declares it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ProcessSpec {
    /// SIGSTOP on inject, SIGCONT on restore.
    Pause {
        /// The process to pause (must already exist).
        pid: u32,
    },
    /// Starts `command` (through `sh -c`) now; inject kills it (SIGKILL),
    /// restore starts it again. It is stopped when the agent ends.
    Restart {
        /// The command line.
        command: String,
    },
    /// Runs `inject` on inject and `restore` on restore (through `sh -c`).
    Exec {
        /// The command that injects the fault.
        inject: String,
        /// The command that undoes it.
        restore: String,
        /// Time limit of each command in seconds (default 30).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_s: Option<f64>,
    },
}

/// Why a process fault could not be applied or undone.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// `kill(2)` failed.
    #[error("cannot send {signal} to PID {pid}: {error}")]
    Signal {
        /// The signal name.
        signal: &'static str,
        /// The process.
        pid: u32,
        /// The OS error.
        error: std::io::Error,
    },
    /// The command could not be started or waited for.
    #[error("cannot run `{command}`: {error}")]
    Spawn {
        /// The command line.
        command: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// The command exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// The end of its standard error.
        stderr: String,
    },
    /// The command ran past its time limit (it was killed).
    #[error("`{command}` did not finish within {seconds}s (killed)")]
    Timeout {
        /// The command line.
        command: String,
        /// The limit.
        seconds: f64,
    },
    /// A PID of 0 or one that does not fit `pid_t` would signal a group.
    #[error("PID {0} is not a single process")]
    BadPid(u32),
}

/// A process fault with its state.
#[derive(Debug)]
pub struct ProcessFault {
    spec: ProcessSpec,
    child: Option<Child>,
}

impl ProcessFault {
    /// Prepares the fault; a `restart` fault starts its command now.
    pub fn new(spec: ProcessSpec) -> Result<Self, ProcessError> {
        if let ProcessSpec::Pause { pid } = spec {
            if pid == 0 || pid > i32::MAX as u32 {
                return Err(ProcessError::BadPid(pid));
            }
        }
        let child = match &spec {
            ProcessSpec::Restart { command } => Some(spawn(command)?),
            _ => None,
        };
        Ok(ProcessFault { spec, child })
    }

    /// The declaration.
    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// The PID of the command a `restart` fault runs, while it runs.
    pub fn child_pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// Applies the fault.
    pub async fn inject(&mut self) -> Result<(), ProcessError> {
        match &self.spec {
            ProcessSpec::Pause { pid } => signal(*pid, libc::SIGSTOP, "SIGSTOP"),
            ProcessSpec::Restart { .. } => {
                if let Some(mut c) = self.child.take() {
                    // kill() is SIGKILL; wait() reaps it so the port frees.
                    let _ = c.kill().await;
                }
                Ok(())
            }
            ProcessSpec::Exec {
                inject, timeout_s, ..
            } => run(inject, timeout(*timeout_s)).await,
        }
    }

    /// Undoes the fault.
    pub async fn restore(&mut self) -> Result<(), ProcessError> {
        match &self.spec {
            ProcessSpec::Pause { pid } => signal(*pid, libc::SIGCONT, "SIGCONT"),
            ProcessSpec::Restart { command } => {
                let running = match self.child.as_mut() {
                    Some(c) => matches!(c.try_wait(), Ok(None)),
                    None => false,
                };
                if !running {
                    self.child = Some(spawn(command)?);
                }
                Ok(())
            }
            ProcessSpec::Exec {
                restore, timeout_s, ..
            } => run(restore, timeout(*timeout_s)).await,
        }
    }
}

fn timeout(s: Option<f64>) -> Duration {
    s.filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_COMMAND_TIMEOUT)
}

fn signal(pid: u32, sig: libc::c_int, name: &'static str) -> Result<(), ProcessError> {
    if pid == 0 || pid > i32::MAX as u32 {
        return Err(ProcessError::BadPid(pid));
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours;
    // the PID was checked to name one process (not 0 or a negative group).
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    if rc == 0 {
        Ok(())
    } else {
        Err(ProcessError::Signal {
            signal: name,
            pid,
            error: std::io::Error::last_os_error(),
        })
    }
}

fn spawn(command: &str) -> Result<Child, ProcessError> {
    Command::new("sh")
        .arg("-c")
        .arg(format!("exec {command}"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| ProcessError::Spawn {
            command: command.into(),
            error,
        })
}

async fn run(command: &str, limit: Duration) -> Result<(), ProcessError> {
    let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| ProcessError::Spawn {
            command: command.into(),
            error,
        })?;
    let out = match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(r) => r.map_err(|error| ProcessError::Spawn {
            command: command.into(),
            error,
        })?,
        // Dropping the future drops the child, which kill_on_drop kills.
        Err(_) => {
            return Err(ProcessError::Timeout {
                command: command.into(),
                seconds: limit.as_secs_f64(),
            })
        }
    };
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: String = stderr.trim().chars().rev().take(500).collect();
    Err(ProcessError::Failed {
        command: command.into(),
        status: out.status.to_string(),
        stderr: tail.chars().rev().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pid: u32) -> char {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &s[s.rfind(')').unwrap() + 2..];
        after.chars().next().unwrap()
    }

    #[tokio::test]
    async fn pause_stops_and_resumes_a_process() {
        let mut child = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let mut f = ProcessFault::new(ProcessSpec::Pause { pid }).unwrap();
        f.inject().await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while state(pid) != 'T' {
            assert!(std::time::Instant::now() < deadline, "never stopped");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        f.restore().await.unwrap();
        while state(pid) == 'T' {
            assert!(std::time::Instant::now() < deadline, "never resumed");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        child.kill().await.unwrap();
    }

    #[test]
    fn refuses_group_pids() {
        assert!(matches!(
            ProcessFault::new(ProcessSpec::Pause { pid: 0 }),
            Err(ProcessError::BadPid(0))
        ));
    }

    #[tokio::test]
    async fn restart_kills_and_starts_again() {
        let mut f = ProcessFault::new(ProcessSpec::Restart {
            command: "sleep 30".into(),
        })
        .unwrap();
        let first = f.child_pid().unwrap();
        f.inject().await.unwrap();
        assert_eq!(f.child_pid(), None);
        f.restore().await.unwrap();
        let second = f.child_pid().unwrap();
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn exec_reports_failures_and_timeouts() {
        let dir = std::env::temp_dir().join(format!("stampede-chaos-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let flag = dir.join("injected");
        let mut f = ProcessFault::new(ProcessSpec::Exec {
            inject: format!("touch {}", flag.display()),
            restore: "echo cannot restore >&2; exit 3".into(),
            timeout_s: None,
        })
        .unwrap();
        f.inject().await.unwrap();
        assert!(flag.exists());
        let e = f.restore().await.unwrap_err().to_string();
        assert!(e.contains("cannot restore") && e.contains("3"), "{e}");
        let mut slow = ProcessFault::new(ProcessSpec::Exec {
            inject: "sleep 30".into(),
            restore: "true".into(),
            timeout_s: Some(0.2),
        })
        .unwrap();
        let e = slow.inject().await.unwrap_err();
        assert!(matches!(e, ProcessError::Timeout { .. }), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
