//! The live progress view: k6's "running (...)" line and one bar per
//! scenario, redrawn in place on a terminal, printed as plain blocks
//! otherwise.

use std::time::Duration;

use stampede_engine::ProgressView;

/// Totals for the "running" line.
pub struct Totals {
    /// Time since the test started.
    pub elapsed: Duration,
    /// VUs running iterations.
    pub active_vus: u64,
    /// VUs initialized.
    pub max_vus: u64,
    /// Iterations completed.
    pub completed: u64,
    /// Iterations interrupted.
    pub interrupted: u64,
}

/// `00m01.0s`, as k6 prints run time.
pub fn clock(d: Duration) -> String {
    let tenths = d.as_millis() / 100;
    let (mins, rest) = (tenths / 600, tenths % 600);
    let hours = mins / 60;
    if hours > 0 {
        format!("{hours}h{:02}m{:02}.{}s", mins % 60, rest / 10, rest % 10)
    } else {
        format!("{mins:02}m{:02}.{}s", rest / 10, rest % 10)
    }
}

/// `1.0s`, `1m5.0s`: elapsed time next to a time-based scenario's duration.
fn short(d: Duration) -> String {
    let tenths = d.as_millis() / 100;
    let secs = tenths / 10;
    if secs >= 60 {
        format!("{}m{}.{}s", secs / 60, secs % 60, tenths % 10)
    } else {
        format!("{secs}.{}s", tenths % 10)
    }
}

/// `01.0s`: run time of tests shorter than a minute.
fn seconds(d: Duration) -> String {
    let tenths = d.as_millis() / 100;
    format!("{:02}.{}s", tenths / 10, tenths % 10)
}

/// The "running" line; `long` tests (a minute or more) show minutes too.
pub fn running_line(t: &Totals, long: bool) -> String {
    let width = t.max_vus.to_string().len();
    let time = if long {
        clock(t.elapsed)
    } else {
        seconds(t.elapsed)
    };
    format!(
        "running ({time}), {:0width$}/{:0width$} VUs, {} complete and {} interrupted iterations",
        t.active_vus, t.max_vus, t.completed, t.interrupted,
    )
}

struct Columns {
    name: String,
    done: bool,
    percent: f64,
    vus: String,
    time: String,
    right: String,
}

fn columns(v: &ProgressView) -> Columns {
    let iteration_based = matches!(
        v.executor.as_str(),
        "shared-iterations" | "per-vu-iterations"
    );
    let fixed_vus = matches!(
        v.executor.as_str(),
        "shared-iterations" | "per-vu-iterations" | "constant-vus"
    );
    let vus = if fixed_vus {
        format!("{} VUs", v.max_vus)
    } else {
        format!("{}/{} VUs", v.active_vus, v.max_vus)
    };
    let total = v
        .duration
        .map(stampede_config::format_duration)
        .unwrap_or_else(|| "-".into());
    let time = if iteration_based {
        format!("{}/{}", clock(v.elapsed), total)
    } else if v.finished {
        total
    } else {
        format!("{}/{}", short(v.elapsed), total)
    };
    let right = match v.executor.as_str() {
        "shared-iterations" => format!(
            "{}/{} shared iters",
            v.completed + v.interrupted,
            v.total_iterations.unwrap_or(0)
        ),
        "per-vu-iterations" => {
            let total = v.total_iterations.unwrap_or(0);
            let per = total.checked_div(v.max_vus).unwrap_or(0);
            format!(
                "{}/{} iters, {} per VU",
                v.completed + v.interrupted,
                total,
                per
            )
        }
        "constant-arrival-rate" | "ramping-arrival-rate" => {
            let secs = v.elapsed.as_secs_f64();
            let rate = if secs > 0.0 {
                (v.completed + v.interrupted) as f64 / secs
            } else {
                0.0
            };
            format!("{rate:.2} iters/s")
        }
        _ => String::new(),
    };
    Columns {
        name: v.name.clone(),
        done: v.finished,
        percent: v.fraction * 100.0,
        vus,
        time,
        right,
    }
}

/// One line per scenario, columns aligned. With `bar_width`, a bar is drawn
/// (terminals); without, just the percentage (k6's non-terminal view).
pub fn scenario_lines(views: &[ProgressView], bar_width: Option<usize>) -> Vec<String> {
    let cols: Vec<Columns> = views.iter().map(columns).collect();
    let name_w = cols
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let vus_w = cols.iter().map(|c| c.vus.len()).max().unwrap_or(0);
    let time_w = cols.iter().map(|c| c.time.len()).max().unwrap_or(0);
    cols.iter()
        .map(|c| {
            let mark = if c.done { "✓" } else { " " };
            let bar = match bar_width {
                Some(w) => {
                    let filled = ((c.percent / 100.0) * w as f64).round() as usize;
                    let filled = filled.min(w);
                    let mut s = "=".repeat(filled);
                    if filled < w {
                        s.push('>');
                        s.push_str(&"-".repeat(w - filled - 1));
                    }
                    format!("[{s}]")
                }
                None => format!("[ {:>3}% ]", c.percent.floor() as u64),
            };
            let line = format!(
                "{:<name_w$} {mark} {bar} {:<vus_w$}  {:<time_w$}  {}",
                c.name, c.vus, c.time, c.right
            );
            line.trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, executor: &str) -> ProgressView {
        ProgressView {
            name: name.into(),
            executor: executor.into(),
            elapsed: Duration::from_millis(1000),
            duration: Some(Duration::from_secs(3)),
            active_vus: 2,
            max_vus: 4,
            completed: 6,
            interrupted: 0,
            total_iterations: None,
            started: true,
            finished: false,
            fraction: 1.0 / 3.0,
        }
    }

    #[test]
    fn clocks_like_k6() {
        assert_eq!(clock(Duration::from_millis(400)), "00m00.4s");
        assert_eq!(clock(Duration::from_millis(61_500)), "01m01.5s");
        assert_eq!(short(Duration::from_millis(1000)), "1.0s");
    }

    #[test]
    fn running_line_pads_vus() {
        let t = Totals {
            elapsed: Duration::from_secs(1),
            active_vus: 7,
            max_vus: 13,
            completed: 24,
            interrupted: 0,
        };
        assert_eq!(
            running_line(&t, true),
            "running (00m01.0s), 07/13 VUs, 24 complete and 0 interrupted iterations"
        );
        let one = Totals {
            active_vus: 1,
            max_vus: 1,
            ..t
        };
        assert_eq!(
            running_line(&one, false),
            "running (01.0s), 1/1 VUs, 24 complete and 0 interrupted iterations"
        );
    }

    #[test]
    fn aligns_scenarios_like_k6() {
        let mut d = view("d", "per-vu-iterations");
        d.max_vus = 2;
        d.total_iterations = Some(6);
        d.finished = true;
        d.fraction = 1.0;
        d.duration = Some(Duration::from_secs(600));
        d.elapsed = Duration::from_millis(900);
        let lines = scenario_lines(&[view("b", "ramping-vus"), d], None);
        assert_eq!(lines[0], "b      [  33% ] 2/4 VUs  1.0s/3s");
        assert_eq!(
            lines[1],
            "d    ✓ [ 100% ] 2 VUs    00m00.9s/10m0s  6/6 iters, 3 per VU"
        );
    }
}
