//! The host's CPU and memory use, for a worker's heartbeat (what an
//! autoscaler or an operator looks at). Read from Linux's `/proc`; on other
//! systems, or when `/proc` cannot be read, the figures are zero.

/// Samples `/proc/stat` so successive calls give the CPU busy share since
/// the previous call.
#[derive(Default)]
pub struct CpuSampler {
    last: Option<(u64, u64)>,
}

impl CpuSampler {
    /// Busy percent since the last call (0 on the first).
    pub fn sample(&mut self) -> f64 {
        let Some(now) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| parse_stat(&s))
        else {
            return 0.0;
        };
        let pct = match self.last {
            Some((busy0, total0)) if now.1 > total0 => {
                (now.0.saturating_sub(busy0)) as f64 * 100.0 / (now.1 - total0) as f64
            }
            _ => 0.0,
        };
        self.last = Some(now);
        pct
    }
}

/// `(busy, total)` jiffies from `/proc/stat`'s `cpu` line.
fn parse_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 4 {
        return None;
    }
    let total: u64 = v.iter().sum();
    // idle + iowait are not busy.
    let idle = v[3] + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Host memory in use (total minus available), in bytes.
pub fn memory_used() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| parse_meminfo(&s))
        .unwrap_or(0)
}

/// Host memory in all, in bytes (0 when unknown).
pub fn memory_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| meminfo_field(&s, "MemTotal:"))
        .map_or(0, |kb| kb * 1024)
}

fn meminfo_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok()
}

fn parse_meminfo(text: &str) -> Option<u64> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()
    };
    let total = field("MemTotal:")?;
    let avail = field("MemAvailable:")?;
    Some(total.saturating_sub(avail) * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let stat = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(parse_stat(stat), Some((200, 1000)));
        assert_eq!(parse_stat("intr 1 2"), None);
        let mem = "MemTotal:       1000 kB\nMemFree: 10 kB\nMemAvailable:    400 kB\n";
        assert_eq!(parse_meminfo(mem), Some(600 * 1024));
        assert_eq!(parse_meminfo("MemTotal: 5 kB\n"), None);
        assert_eq!(meminfo_field(mem, "MemTotal:"), Some(1000));
        assert!(memory_total() > 0, "this host has /proc/meminfo");
    }
}
