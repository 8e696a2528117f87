//! The CLI's [`Executor`]: each stage is its own `stampede run` process,
//! with its results, HTML report and log in the report directory.
//!
//! Stages run the binary rather than the engine in-process: a stage is
//! then exactly what `stampede run` does (same flags, outputs, exit code,
//! Ctrl-C behaviour), parallel stages share no runtime or VU pool, a stage
//! that crashes or hangs cannot take the pipeline with it (a timeout kills
//! it), and its log and results stay on disk for the report.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::gate::Check;
use crate::run::{ExecFuture, Executed, Executor, StageJob};

/// Runs stages as `stampede run` child processes.
pub struct ProcessExecutor {
    /// The `stampede` binary.
    pub exe: PathBuf,
    /// The directory scripts are relative to (the pipeline file's).
    pub dir: PathBuf,
    /// Where per-stage results, reports and logs go.
    pub out_dir: PathBuf,
}

/// A file-name-safe form of a stage name.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Executor for ProcessExecutor {
    fn execute(&self, job: StageJob) -> ExecFuture {
        let run = Run {
            exe: self.exe.clone(),
            script: self.dir.join(&job.spec.script),
            out_dir: self.out_dir.clone(),
            job,
        };
        Box::pin(run.go())
    }
}

struct Run {
    exe: PathBuf,
    script: PathBuf,
    out_dir: PathBuf,
    job: StageJob,
}

impl Run {
    async fn go(self) -> Executed {
        let stem = file_stem(&self.job.name);
        let results_name = format!("{stem}.results.json");
        let html_name = format!("{stem}.html");
        let log_name = format!("{stem}.log");
        let ran = self
            .spawn_and_wait(&results_name, &html_name, &log_name)
            .await;
        let mut out = Executed {
            log: Some(log_name.clone()),
            ..Executed::default()
        };
        if self.out_dir.join(&results_name).is_file() {
            out.results_file = Some(results_name.clone());
        }
        if self.out_dir.join(&html_name).is_file() {
            out.html = Some(html_name);
        }
        out.results = Some(match ran {
            Err(check) => Err(check),
            Ok(code) => {
                out.exit_code = Some(code);
                stampede_output::results::load(&self.out_dir.join(&results_name)).map_err(|e| {
                    Check::failed(
                        "run",
                        format!("the run exited with code {code} and left no results ({e}); see {log_name}"),
                    )
                })
            }
        });
        out
    }

    /// Runs the stage's `stampede run`; its exit code, or the failed check.
    async fn spawn_and_wait(
        &self,
        results_name: &str,
        html_name: &str,
        log_name: &str,
    ) -> Result<i32, Check> {
        let log = std::fs::File::create(self.out_dir.join(log_name))
            .map_err(|e| Check::failed("run", format!("cannot create {log_name}: {e}")))?;
        let log2 = log
            .try_clone()
            .map_err(|e| Check::failed("run", format!("cannot create {log_name}: {e}")))?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg("run")
            .arg("--quiet")
            .arg("--no-color")
            .args(["--address", ""])
            .arg("--out")
            .arg(format!(
                "results={}",
                self.out_dir.join(results_name).display()
            ))
            .arg("--out")
            .arg(format!("html={}", self.out_dir.join(html_name).display()));
        for (k, v) in &self.job.env {
            cmd.arg("-e").arg(format!("{k}={v}"));
        }
        let o = &self.job.spec.options;
        if let Some(v) = o.vus {
            cmd.arg("--vus").arg(v.to_string());
        }
        if let Some(d) = &o.duration {
            cmd.arg("--duration").arg(d);
        }
        if let Some(n) = o.iterations {
            cmd.arg("--iterations").arg(n.to_string());
        }
        cmd.arg(&self.script)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            Check::failed("run", format!("cannot start {}: {e}", self.exe.display()))
        })?;
        let limit = self
            .job
            .timeout
            .unwrap_or(Duration::from_secs(365 * 24 * 3600));
        let deadline = tokio::time::Instant::now() + limit;
        let mut stop = self.job.stop.clone();
        let mut interrupted = false;
        loop {
            tokio::select! {
                status = child.wait() => {
                    let status = status.map_err(|e| Check::failed("run", format!("cannot wait for the run: {e}")))?;
                    return Ok(status.code().unwrap_or(255));
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let _ = child.kill().await;
                    return Err(Check::failed("timeout", format!("the stage ran past its timeout of {} and was stopped", self.job.spec.timeout.as_deref().unwrap_or(""))));
                }
                r = stop.changed(), if !interrupted => {
                    if r.is_ok() && *stop.borrow() {
                        interrupted = true;
                        // A graceful stop: the run still writes its results.
                        if let Some(pid) = child.id() {
                            let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status().await;
                        }
                    }
                }
            }
        }
    }
}
