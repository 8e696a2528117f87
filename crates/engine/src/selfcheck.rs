//! The generator watching itself: figures from a saturated load generator are
//! not truthful (latencies include waiting for the generator), so the run
//! warns when its own CPU is saturated or file descriptors may run short.

use std::time::{Duration, Instant};

use stampede_js::log::{Level, Logger};

/// How long the CPU must stay saturated before the warning.
const SATURATED_FOR: Duration = Duration::from_secs(3);
/// Share of the scheduler threads' capacity counted as saturated.
const SATURATION: f64 = 0.95;

/// Raises the soft open-files limit to the hard one; returns the limit in
/// force afterwards.
pub(crate) fn raise_fd_limit() -> Option<u64> {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
        Some(lim.rlim_cur)
    }
}

/// The file descriptors a test may need: a connection or two per VU, plus
/// what the process itself holds.
pub(crate) fn fds_needed(max_vus: u64) -> u64 {
    max_vus.saturating_mul(2) + 256
}

/// Warns when `limit` is below what `max_vus` may need.
pub(crate) fn check_fds(logger: &Logger, limit: Option<u64>, max_vus: u64) {
    let needed = fds_needed(max_vus);
    if let Some(limit) = limit.filter(|l| *l < needed) {
        logger.log(
            Level::Warning,
            &format!(
                "the open files limit is {limit} but {max_vus} VUs may need about {needed} \
                 (connections and sockets): requests may fail with \"too many open files\"; \
                 raise the limit (ulimit -n {needed}) or split the test across instances"
            ),
            &[],
        );
    }
}

/// VU stacks per slab of stacks (one mapping and its guard page).
const STACKS_PER_SLAB: u64 = stampede_js::coro::SLAB_STACKS as u64;

/// Memory mappings a test may need: two per slab of VU stacks (the stacks
/// and a guard page), plus what the process itself maps.
pub(crate) fn maps_needed(max_vus: u64) -> u64 {
    max_vus.div_ceil(STACKS_PER_SLAB).saturating_mul(2) + 4096
}

/// The kernel's limit on memory mappings per process (`vm.max_map_count`).
pub(crate) fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Warns when the kernel's mapping limit is below what `max_vus` need: the
/// VUs past it would fail to start.
pub(crate) fn check_maps(logger: &Logger, limit: Option<u64>, max_vus: u64) {
    let needed = maps_needed(max_vus);
    if let Some(limit) = limit.filter(|l| *l < needed) {
        logger.log(
            Level::Warning,
            &format!(
                "the kernel allows {limit} memory mappings per process (vm.max_map_count) \
                 but {max_vus} VUs need about {needed} (two per {STACKS_PER_SLAB} VU \
                 stacks): VUs past about {} will fail to start; raise it (sysctl -w \
                 vm.max_map_count={needed}) or split the test across instances",
                limit.saturating_sub(4096) / 2 * STACKS_PER_SLAB
            ),
            &[],
        );
    }
}

/// Why a VU's stack could not be allocated, with the likely cause.
pub(crate) fn stack_failure(e: &std::io::Error) -> String {
    let mut msg = format!("a VU could not start: its stack could not be allocated: {e}");
    if e.raw_os_error() == Some(libc::ENOMEM) {
        if let Some(limit) = max_map_count() {
            msg.push_str(&format!(
                " (out of memory, or past the kernel's {limit} memory mappings per process: \
                 vm.max_map_count; every {STACKS_PER_SLAB} VUs take two)"
            ));
        }
    }
    msg
}

/// CPU time (user + system) this process has used.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command may contain spaces; fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no side effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// Watches the process's CPU use against the scheduler threads' capacity
/// (called about once a second) and warns once when it stays saturated.
pub(crate) struct CpuWatch {
    threads: usize,
    last: Option<(Instant, Duration)>,
    saturated_since: Option<Instant>,
    warned: bool,
}

impl CpuWatch {
    pub fn new(threads: usize) -> Self {
        Self {
            threads: threads.max(1),
            last: None,
            saturated_since: None,
            warned: false,
        }
    }

    /// Takes a reading; returns the share of capacity used since the last.
    pub fn tick(&mut self, logger: &Logger) -> Option<f64> {
        let cpu = process_cpu()?;
        self.observe(Instant::now(), cpu, logger)
    }

    /// Accounts a reading of the process's CPU time taken at `now`.
    fn observe(&mut self, now: Instant, cpu: Duration, logger: &Logger) -> Option<f64> {
        let share = self.last.map(|(t, c)| {
            let wall = now.duration_since(t).as_secs_f64() * self.threads as f64;
            if wall > 0.0 {
                cpu.saturating_sub(c).as_secs_f64() / wall
            } else {
                0.0
            }
        });
        self.last = Some((now, cpu));
        let share = share?;
        if share >= SATURATION {
            let since = *self.saturated_since.get_or_insert(now);
            if !self.warned && now.duration_since(since) >= SATURATED_FOR {
                self.warned = true;
                logger.log(
                    Level::Warning,
                    &format!(
                        "the load generator is saturated ({:.0}% of {} CPU core(s) for {}s): \
                         latencies now include waiting for the generator and rates are capped \
                         by it; use fewer VUs per instance or split the test across instances \
                         (execution segments)",
                        share * 100.0,
                        self.threads,
                        SATURATED_FOR.as_secs()
                    ),
                    &[],
                );
            }
        } else {
            self.saturated_since = None;
        }
        Some(share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_about_file_descriptors_when_short() {
        let logger = Logger::capturing();
        check_fds(&logger, Some(1024), 10);
        assert!(logger.captured().is_empty());
        check_fds(&logger, Some(1024), 5000);
        let lines = logger.captured();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("ulimit -n 10256"), "{lines:?}");
    }

    #[test]
    fn warns_about_memory_mappings_when_short() {
        let logger = Logger::capturing();
        check_maps(&logger, Some(65530), 1000);
        check_maps(&logger, Some(65530), 1_000_000);
        check_maps(&logger, None, 3_000_000);
        assert!(logger.captured().is_empty());
        check_maps(&logger, Some(65530), 3_000_000);
        let lines = logger.captured();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("VUs past about 1965888"), "{lines:?}");
        assert!(lines[0].contains("vm.max_map_count=97846"), "{lines:?}");
        assert!(max_map_count().is_some_and(|n| n > 0));
        let e = std::io::Error::from_raw_os_error(libc::ENOMEM);
        assert!(
            stack_failure(&e).contains("vm.max_map_count"),
            "{}",
            stack_failure(&e)
        );
    }

    #[test]
    fn reads_this_process_cpu_time() {
        let before = process_cpu().expect("/proc/self/stat is readable");
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(process_cpu().unwrap() >= before);
    }

    #[test]
    fn saturation_needs_a_sustained_high_share() {
        let logger = Logger::capturing();
        let mut w = CpuWatch::new(2);
        let t0 = Instant::now();
        let s = Duration::from_secs;
        assert_eq!(w.observe(t0, s(0), &logger), None);
        // Two cores fully busy for two seconds: saturated, not yet long enough.
        assert_eq!(w.observe(t0 + s(1), s(2), &logger), Some(1.0));
        assert_eq!(w.observe(t0 + s(2), s(4), &logger), Some(1.0));
        assert!(logger.captured().is_empty());
        // An idle second restarts the window.
        assert_eq!(w.observe(t0 + s(3), s(4), &logger), Some(0.0));
        for i in 4..=6 {
            w.observe(t0 + s(i), s(4 + 2 * (i - 3)), &logger);
        }
        assert!(logger.captured().is_empty(), "only 3s since the idle one");
        w.observe(t0 + s(7), s(12), &logger);
        let lines = logger.captured();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("the load generator is saturated"),
            "{lines:?}"
        );
        // Once.
        w.observe(t0 + s(8), s(14), &logger);
        assert_eq!(logger.captured().len(), 1);
    }
}
