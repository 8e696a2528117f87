"""Starting, pinning, measuring and always stopping child processes.

Every child runs in its own session (so a Ctrl-C reaches the harness, which
then stops the children in order) and is recorded in a pid file that
`bench/run` reads to kill leftovers if the harness itself dies.
"""

import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass

GENERATOR_CPU = 1
TARGET_CPU = 0
SAMPLE_EVERY = 0.1  # seconds between /proc/PID/status samples


class Registry:
    """The children this run started, by pid (each is its own process group)."""

    def __init__(self, pidfile):
        self.pidfile = pidfile
        self.pids = set()

    def add(self, pid):
        self.pids.add(pid)
        self._write()

    def discard(self, pid):
        self.pids.discard(pid)
        self._write()

    def _write(self):
        with open(self.pidfile, "w") as f:
            f.write("".join(f"{p}\n" for p in sorted(self.pids)))

    def stop_all(self):
        """SIGTERM each process group, then SIGKILL what is left after 3 s."""
        for pid in list(self.pids):
            _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        while self.pids and time.monotonic() < deadline:
            for pid in list(self.pids):
                if _reaped(pid):
                    self.discard(pid)
            time.sleep(0.05)
        for pid in list(self.pids):
            _signal_group(pid, signal.SIGKILL)
            _reaped(pid, block=True)
            self.discard(pid)


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _reaped(pid, block=False):
    try:
        done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        return done != 0
    except ChildProcessError:
        return True


@dataclass
class Result:
    """What one finished generator run cost and how it ended."""

    exit_code: int
    wall_s: float
    cpu_s: float  # user + system, from wait4's rusage
    peak_rss_kib: int  # max of sampled VmRSS/VmHWM and rusage's ru_maxrss
    timed_out: bool
    stdout: str  # path of the captured stdout
    stderr: str
    cmd: list  # as run, taskset included
    rss_limited: bool = False  # stopped for passing its RSS limit
    machine_busy_s: float = 0.0  # busy CPU time of all CPUs during the run
    target_cpu_s: float = 0.0  # of that, the target's (filled in by the caller)

    @property
    def other_load(self):
        """Cores used by processes other than the generator and the target."""
        other = self.machine_busy_s - self.cpu_s - self.target_cpu_s
        return max(other, 0.0) / self.wall_s if self.wall_s else 0.0


def pinned(cmd, cpu):
    return ["taskset", "-c", str(cpu), *cmd]


def start(registry, cmd, *, cpu, env=None, stdout=None, stderr=None, nofile=None):
    """Start cmd pinned to cpu in its own session; return the Popen."""

    def setup():
        if nofile:
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, hard), hard))

    full_env = dict(os.environ)
    full_env["K6_NO_USAGE_REPORT"] = "true"  # always, for k6 (and stampede)
    full_env.update(env or {})
    out = open(stdout, "w") if stdout else subprocess.DEVNULL
    err = open(stderr, "w") if stderr else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(
            pinned(cmd, cpu),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=setup,
        )
    finally:
        for f in (out, err):
            if f is not subprocess.DEVNULL:
                f.close()
    registry.add(proc.pid)
    return proc


def measure(registry, cmd, *, name, workdir, timeout, env=None, nofile=None,
            rss_limit_kib=None):
    """Run a generator pinned to the generator CPU until it exits (or timeout).

    Samples VmRSS and VmHWM every 100 ms; CPU time and ru_maxrss come from
    wait4, so nothing is missed between samples. A run whose RSS passes
    rss_limit_kib (default: what the machine can spare) is stopped: others
    share this machine, and the OOM killer would pick at random.
    """
    if rss_limit_kib is None:
        rss_limit_kib = spare_memory_kib()
    stdout = os.path.join(workdir, f"{name}.out")
    stderr = os.path.join(workdir, f"{name}.err")
    busy0 = machine_busy_s()
    t0 = time.monotonic()
    proc = start(registry, cmd, cpu=GENERATOR_CPU, env=env, stdout=stdout,
                 stderr=stderr, nofile=nofile)
    peak = 0
    timed_out = rss_limited = False
    while True:
        peak = max(peak, _rss_kib(proc.pid))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        rss_limited = peak > rss_limit_kib
        timed_out = time.monotonic() - t0 > timeout
        if timed_out or rss_limited:
            # Memory would keep growing during a graceful stop: kill at once.
            status, usage = _stop(proc.pid, grace=0 if rss_limited else 5)
            break
        time.sleep(SAMPLE_EVERY)
    wall = time.monotonic() - t0
    busy = machine_busy_s() - busy0
    proc.returncode = os.waitstatus_to_exitcode(status)
    registry.discard(proc.pid)
    return Result(
        exit_code=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_kib=max(peak, usage.ru_maxrss),
        timed_out=timed_out,
        stdout=stdout,
        stderr=stderr,
        cmd=pinned(cmd, GENERATOR_CPU),
        rss_limited=rss_limited,
        machine_busy_s=busy,
    )


def _stop(pid, grace):
    """SIGTERM, up to grace seconds to exit, then SIGKILL; (status, rusage)."""
    if grace:
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                return status, usage
            time.sleep(0.05)
    _signal_group(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    return status, usage


def _rss_kib(pid):
    """max(VmRSS, VmHWM) of pid in KiB, 0 if it is gone."""
    best = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    best = max(best, int(line.split()[1]))
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return best


def run_quiet(cmd, timeout=30, env=None):
    """Run a short helper command (not measured); return (code, stdout+stderr)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=env, stdin=subprocess.DEVNULL)
        return p.returncode, (p.stdout or "") + (p.stderr or "")
    except (OSError, subprocess.TimeoutExpired) as e:
        return -1, str(e)


def spare_memory_kib():
    """MemAvailable less 2 GiB of headroom for the target and everyone else."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return max(int(line.split()[1]) - 2 * 1024 * 1024, 512 * 1024)
    except (OSError, ValueError):
        pass
    return 4 * 1024 * 1024


TICK = os.sysconf("SC_CLK_TCK")


def _cpu_times():
    """(idle, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:8]]
    idle = fields[3] + fields[4]  # idle + iowait
    return idle, sum(fields)


def machine_busy_s():
    idle, total = _cpu_times()
    return (total - idle) / TICK


def process_cpu_s(pid, with_children=True):
    """User + system seconds of pid (and its direct children, e.g. nginx's worker)."""
    pids = [pid]
    if with_children:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except (OSError, ValueError):
            pass
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            pass
    return total / TICK


def busy_share(seconds):
    """Share of all CPUs' time that was busy over the next `seconds`."""
    idle0, total0 = _cpu_times()
    time.sleep(seconds)
    idle1, total1 = _cpu_times()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_idle(max_wait_s, quiet_s=5, threshold=0.1):
    """Wait until the machine has been under `threshold` busy for quiet_s
    seconds in a row, or max_wait_s passed; return the seconds waited."""
    t0 = time.monotonic()
    quiet = 0
    while quiet < quiet_s and time.monotonic() - t0 < max_wait_s:
        quiet = quiet + 1 if busy_share(1) < threshold else 0
    return time.monotonic() - t0


def nofile_hard_limit():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]
