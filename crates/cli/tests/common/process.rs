//! Process and port helpers for tests that start their own servers:
//! reading another process's scheduler state from `/proc` (for faults that
//! pause processes with SIGSTOP and must resume them), and picking a free
//! loopback port. One copy, shared by the CLI, chaos and pipeline tests
//! through `#[path]`.

use std::time::{Duration, Instant};

/// The process state letter of `pid` (`T` when stopped), from
/// `/proc/PID/stat`; the command name may hold spaces and parentheses,
/// so the state is the field after the last `)`.
pub fn state(pid: u32) -> char {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process exists");
    s[s.rfind(')').unwrap() + 2..].chars().next().unwrap()
}

/// Polls the process state until it is `want` (a SIGSTOP takes effect when
/// the process is next scheduled, not when kill(2) returns); the last state
/// seen after a 10 s deadline otherwise.
#[allow(dead_code)]
pub fn state_becomes(pid: u32, want: char) -> char {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = state(pid);
        if now == want || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A free loopback port (nothing listens on it when this returns).
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
