"""Running each generator and reading its own report.

wrk: its text output. oha: its JSON output. k6 and stampede: the
`--summary-export` JSON (k6's format, which stampede writes too).
"""

import json
import os
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field

import procs

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")


@dataclass
class Tool:
    name: str  # "k6", "stampede", "wrk", "oha"
    path: str
    version: str = ""
    args: list = field(default_factory=list)  # flags that differ between versions


@dataclass
class Run:
    """One generator run: its cost (procs.Result) and the figures it reported."""

    tool: str
    proc: procs.Result
    figures: dict = field(default_factory=dict)
    problem: str = ""  # why the figures are missing or suspect, if they are

    @property
    def ok(self):
        return not self.problem


def script(name):
    return os.path.join(SCRIPTS, name)


def measure(ctx, cmd, **kw):
    """procs.measure, plus the target's CPU time during the run."""
    before = ctx.target.cpu_s()
    res = procs.measure(ctx.registry, cmd, workdir=ctx.workdir, **kw)
    res.target_cpu_s = ctx.target.cpu_s() - before
    return res


# --- k6 and stampede ------------------------------------------------------

def k6_like(ctx, tool, script_name, *, name, args=(), env_vars=None, timeout,
            nofile=None, env=None, rss_limit_kib=None):
    """`TOOL run --quiet --summary-export F ARGS -e K=V SCRIPT`, pinned."""
    export = os.path.join(ctx.workdir, f"{name}.summary.json")
    cmd = [tool.path, "run", "--quiet", "--summary-export", export, *args]
    for key, value in (env_vars or {}).items():
        cmd += ["-e", f"{key}={value}"]
    cmd.append(script(script_name))
    res = measure(ctx, cmd, name=name, timeout=timeout, env=env, nofile=nofile,
                  rss_limit_kib=rss_limit_kib)
    run = Run(tool=tool.name, proc=res)
    try:
        with open(export) as f:
            run.figures = summary_figures(json.load(f))
    except (OSError, ValueError) as e:
        run.problem = f"no summary export ({e.__class__.__name__}); exit {res.exit_code}"
    if res.rss_limited:
        run.problem = f"stopped after {res.wall_s:.0f} s: RSS passed {res.peak_rss_kib / 1024:,.0f} MiB"
    elif res.timed_out:
        run.problem = f"timed out after {timeout:.0f} s"
    elif res.exit_code not in (0, 99):  # 99: thresholds failed, still measured
        run.problem = run.problem or f"exit code {res.exit_code}"
    if run.problem:
        run.problem += _tail(res.stderr)
    return run


def summary_figures(data):
    """The figures the goals use, from a k6 `--summary-export` document."""
    m = data.get("metrics", {})

    def get(metric, key, default=0.0):
        return float(m.get(metric, {}).get(key, default) or 0.0)

    fig = {
        "reqs": get("http_reqs", "count"),
        "rps": get("http_reqs", "rate"),
        "iterations": get("iterations", "count"),
        "iter_rate": get("iterations", "rate"),
        "dropped": get("dropped_iterations", "count"),
        # k6 exports a Rate as passes (non-zero samples) and fails; for
        # http_req_failed a "pass" is a failed request.
        "failed": get("http_req_failed", "passes"),
        "checks_failed": get("checks", "fails"),
    }
    dur = m.get("http_req_duration", {})
    fig["p50_ms"] = float(dur.get("med", dur.get("p(50)", 0.0)) or 0.0)
    fig["p99_ms"] = float(dur.get("p(99)", 0.0) or 0.0)
    fig["avg_ms"] = float(dur.get("avg", 0.0) or 0.0)
    fig["max_ms"] = float(dur.get("max", 0.0) or 0.0)
    return fig


# --- wrk ------------------------------------------------------------------

def wrk(ctx, tool, *, url, connections, duration_s, timeout):
    cmd = [tool.path, "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency", url]
    res = measure(ctx, cmd, name="wrk", timeout=timeout)
    run = Run(tool="wrk", proc=res)
    text = _read(res.stdout)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    if not rps or not total:
        run.problem = "no Requests/sec in wrk output" + _tail(res.stderr)
        return run
    run.figures = {"rps": float(rps.group(1)), "reqs": float(total.group(1))}
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        mt = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if mt:
            run.figures[key] = _to_ms(float(mt.group(1)), mt.group(2))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    run.figures["failed"] = float(
        (sum(int(g) for g in errors.groups()) if errors else 0)
        + (int(non2xx.group(1)) if non2xx else 0))
    return run


def _to_ms(value, unit):
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


# --- oha ------------------------------------------------------------------

def oha(ctx, tool, *, url, connections, duration_s, timeout, qps=None, name="oha"):
    # -w: let requests in flight at the deadline finish instead of counting
    # them as "aborted due to deadline" errors.
    cmd = [tool.path, "-c", str(connections), "-z", f"{duration_s}s", "-w", "--no-tui", *tool.args]
    if qps:
        cmd += ["-q", str(qps)]
    cmd.append(url)
    res = measure(ctx, cmd, name=name, timeout=timeout)
    run = Run(tool="oha", proc=res)
    try:
        data = json.loads(_read(res.stdout))
    except ValueError:
        run.problem = "no JSON in oha output" + _tail(res.stderr)
        return run
    summary = data.get("summary", {})
    pcts = data.get("latencyPercentiles", {})
    codes = data.get("statusCodeDistribution", {})
    errors = {k: v for k, v in data.get("errorDistribution", {}).items()
              if k != "aborted due to deadline"}
    ok = sum(v for k, v in codes.items() if str(k).startswith("2"))
    run.figures = {
        "rps": float(summary.get("requestsPerSec") or 0.0),
        "reqs": float(sum(codes.values()) + sum(errors.values())),
        "p50_ms": float(pcts.get("p50") or 0.0) * 1000,
        "p99_ms": float(pcts.get("p99") or 0.0) * 1000,
        "failed": float(sum(codes.values()) - ok + sum(errors.values())),
    }
    return run


# --- start-up ---------------------------------------------------------------

def startup_times(ctx, commands, *, runs, warmup, hyperfine=None):
    """Median wall time in seconds of each command, {label: seconds}.

    With hyperfine (pinned to the generator CPU, no intermediate shell) when
    installed, else by timing repeated runs here.
    """
    if hyperfine:
        export = os.path.join(ctx.workdir, "startup.hyperfine.json")
        cmd = [hyperfine, "-N", "--warmup", str(warmup), "--runs", str(runs),
               "--export-json", export]
        labels = list(commands)
        for label in labels:
            cmd += ["--command-name", label, " ".join(commands[label])]
        timeout = 60 + runs * len(commands) * 30
        res = procs.measure(ctx.registry, cmd, name="hyperfine", workdir=ctx.workdir,
                            timeout=timeout)
        try:
            with open(export) as f:
                results = json.load(f)["results"]
            return {r["command"]: statistics.median(r["times"]) for r in results}, "hyperfine"
        except (OSError, ValueError, KeyError):
            raise RuntimeError("hyperfine failed" + _tail(res.stderr))
    # Timed here around a plain wait: procs.measure polls every 100 ms for
    # its RSS samples, which a run of a few milliseconds would wait out.
    medians = {}
    for label, command in commands.items():
        times = []
        stderr = os.path.join(ctx.workdir, f"startup-{label}.err")
        for i in range(warmup + runs):
            with open(stderr, "wb") as err:
                t0 = time.monotonic()
                res = subprocess.run(procs.pinned(command, procs.GENERATOR_CPU), cwd=ctx.workdir,
                                     stdout=subprocess.DEVNULL, stderr=err, timeout=60)
                wall = time.monotonic() - t0
            if res.returncode != 0:
                raise RuntimeError(f"{label} exited {res.returncode}" + _tail(stderr))
            if i >= warmup:
                times.append(wall)
        medians[label] = statistics.median(times)
    return medians, "repeated timed runs"


# --- helpers ----------------------------------------------------------------

def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _tail(path, lines=5):
    text = _read(path).strip().splitlines()[-lines:]
    return (": " + " | ".join(text)) if text else ""
