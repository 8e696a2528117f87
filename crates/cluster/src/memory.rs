//! The memory cap of a run's segment process (`--run-memory-limit`).
//!
//! [`crate::LocalTransport`] starts each segment process with
//! `RLIMIT_DATA` set to the cap (in `pre_exec`, so only the child is
//! limited): the kernel then refuses the data segment and private writable
//! mappings beyond it, which covers the JavaScript heap, the VUs' stacks
//! and every Rust allocation, and a runaway script cannot take the machine
//! (or the server) with it. `RLIMIT_DATA` rather than `RLIMIT_AS`: address
//! space merely reserved (thread arenas, guard regions) does not count,
//! so the cap is close to what the process really uses. cgroups would be
//! exact but need a delegated hierarchy that containers rarely give.
//!
//! Hitting the cap must end the run as `errored` with that said, not as a
//! mystery crash: QuickJS answers a refused allocation with a catchable
//! "out of memory" exception and a Rust allocation failure aborts the
//! process. So the segment process watches its own data size
//! ([`watch_limit`]) and reports the cap before the limit is reached, and
//! the transport recognizes the abort of a refused allocation
//! ([`exceeded_message`]).

use std::time::Duration;

/// A memory size: bytes, or none (no cap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimit(pub Option<u64>);

/// Parses `2GiB`, `512MiB`, `1.5GB`, `1048576` (bytes) or `none`.
pub fn parse_limit(text: &str) -> Result<MemoryLimit, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("unlimited") {
        return Ok(MemoryLimit(None));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim();
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "invalid memory size {text:?}: unknown unit {unit:?} (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB or none)"
            ))
        }
    };
    let n: f64 = number.parse().map_err(|_| {
        format!("invalid memory size {text:?}: expected a number and a unit, e.g. 2GiB")
    })?;
    let bytes = n * scale as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("invalid memory size {text:?}: out of range"));
    }
    let bytes = bytes as u64;
    if bytes < MIN_LIMIT {
        return Err(format!(
            "invalid memory size {text:?}: a run needs at least {}",
            format_size(MIN_LIMIT)
        ));
    }
    Ok(MemoryLimit(Some(bytes)))
}

/// The smallest cap accepted: the runtime, the engine and one VU need it.
pub const MIN_LIMIT: u64 = 64 << 20;

/// `2 GiB`, `1.5 GiB`, `640 MiB`, `1000 B`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (name, size) in UNITS {
        if bytes >= size {
            let v = bytes as f64 / size as f64;
            let text = format!("{v:.2}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            return format!("{text} {name}");
        }
    }
    format!("{bytes} B")
}

/// The default cap: half of the machine's physical memory (none if it
/// cannot be known).
pub fn default_limit() -> Option<u64> {
    // SAFETY: sysconf only reads system constants.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && page > 0).then(|| (pages as u64).saturating_mul(page as u64) / 2)
}

/// The cap a `--run-memory-limit` flag gives: its value, else
/// [`default_limit`].
pub fn resolve(flag: Option<MemoryLimit>) -> Option<u64> {
    flag.map_or_else(default_limit, |l| l.0)
}

/// What a run that reached `limit` reports.
pub fn exceeded_message(limit: u64) -> String {
    format!(
        "the script exceeded the memory limit of {} (the server's --run-memory-limit); \
         the run's process was stopped",
        format_size(limit)
    )
}

/// Makes `cmd`'s child start with its data size capped at `limit`.
pub fn limit_child(cmd: &mut tokio::process::Command, limit: u64) {
    let rlim = libc::rlimit {
        rlim_cur: limit as libc::rlim_t,
        rlim_max: limit as libc::rlim_t,
    };
    // SAFETY: between fork and exec the closure only calls setrlimit, which
    // is async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_DATA, &rlim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// This process's data size cap, if it has one.
pub fn current_limit() -> Option<u64> {
    let mut rlim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_DATA, &mut rlim) } == 0;
    (ok && rlim.rlim_cur != libc::RLIM_INFINITY).then_some(rlim.rlim_cur)
}

/// This process's data size (`VmData`: what `RLIMIT_DATA` counts).
pub fn data_size() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_data(&status)
}

fn vm_data(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmData:"))?;
    let kib: u64 = line
        .trim_start_matches("VmData:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// The data size at which a capped process reports the cap: one eighth
/// (at most 256 MiB) below it, so that the report comes before the
/// allocations the kernel refuses.
pub fn watch_threshold(limit: u64) -> u64 {
    limit - (limit / 8).min(256 << 20)
}

/// How often the data size is read.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// When this process runs under a data size cap, watches its data size
/// from a thread of its own and calls `exceeded` with
/// [`exceeded_message`] once it reaches [`watch_threshold`]. `exceeded`
/// reports and ends the process.
pub fn watch_limit(exceeded: impl FnOnce(String) + Send + 'static) {
    let Some(limit) = current_limit() else {
        return;
    };
    let threshold = watch_threshold(limit);
    let spawned = std::thread::Builder::new()
        .name("stampede-memory".into())
        .stack_size(64 * 1024)
        .spawn(move || loop {
            if data_size().is_some_and(|d| d >= threshold) {
                exceeded(exceeded_message(limit));
                return;
            }
            std::thread::sleep(WATCH_EVERY);
        });
    if let Err(e) = spawned {
        eprintln!("cannot watch the memory limit: {e}");
    }
}

/// Whether a dead segment's last stderr lines show a refused allocation
/// (Rust's allocation failure message, or QuickJS's).
pub fn looks_out_of_memory(stderr_tail: &[String]) -> bool {
    stderr_tail.iter().any(|l| {
        l.contains("memory allocation of") && l.contains("failed") || l.contains("out of memory")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        assert_eq!(parse_limit("2GiB").unwrap(), MemoryLimit(Some(2 << 30)));
        assert_eq!(
            parse_limit("512 MiB").unwrap(),
            MemoryLimit(Some(512 << 20))
        );
        assert_eq!(parse_limit("1.5g").unwrap(), MemoryLimit(Some(3 << 29)));
        assert_eq!(
            parse_limit("1GB").unwrap(),
            MemoryLimit(Some(1_000_000_000))
        );
        assert_eq!(
            parse_limit("134217728").unwrap(),
            MemoryLimit(Some(128 << 20))
        );
        assert_eq!(parse_limit("none").unwrap(), MemoryLimit(None));
        for bad in ["", "GiB", "2 parsecs", "-1GiB", "1KiB", "1e400"] {
            assert!(parse_limit(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse_limit("2 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
    }

    #[test]
    fn sizes_print_short() {
        assert_eq!(format_size(2 << 30), "2 GiB");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
        assert_eq!(format_size(640 << 20), "640 MiB");
        assert_eq!(format_size(1000), "1000 B");
        assert!(exceeded_message(2 << 30).contains("exceeded the memory limit of 2 GiB"));
    }

    #[test]
    fn the_watch_reports_before_the_kernel_refuses() {
        assert_eq!(watch_threshold(256 << 20), 224 << 20);
        assert_eq!(watch_threshold(8 << 30), (8 << 30) - (256 << 20));
    }

    #[test]
    fn vm_data_is_read_from_proc_status() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmData:\t    2048 kB\nVmStk:\t 132 kB\n";
        assert_eq!(vm_data(status), Some(2 << 20));
        assert_eq!(vm_data("Name: x\n"), None);
        assert!(data_size().is_some_and(|d| d > 0));
        assert!(default_limit().is_some_and(|l| l > 0));
        assert_eq!(resolve(Some(MemoryLimit(None))), None);
        assert_eq!(resolve(None), default_limit());
    }

    #[test]
    fn refused_allocations_are_recognized() {
        let rust = vec!["memory allocation of 1073741824 bytes failed".to_string()];
        assert!(looks_out_of_memory(&rust));
        assert!(!looks_out_of_memory(&["thread panicked".to_string()]));
    }
}
