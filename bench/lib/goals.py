"""The six goals of issue 3: what each runs, and its verdict.

Each goal function takes the run context and returns a Goal: the absolute
figures of every tool (rows) and a verdict with the measured ratios. All
tools run one after the other against the same nginx, in the same run.
"""

import math
from dataclasses import dataclass, field

import procs
import tools

GIB = 1024 * 1024  # KiB per GiB

# Durations in seconds. Quick mode checks the harness itself, not the goals.
PARAMS = {
    "full": {
        "throughput": {"vus": 50, "duration": 10},
        "memory": {"vus": 5000, "duration": 30, "pause": 1, "baseline_duration": 5},
        "scale": {"vus": 50000, "duration": 60, "pause": 5, "max_rss_gib": 6},
        "arrival": {"rate": 20000, "duration": 20, "vus": 500},
        "overhead": {"rate": 2000, "duration": 20, "vus": 50},
        "startup": {"runs": 10, "warmup": 2},
    },
    "quick": {
        "throughput": {"vus": 50, "duration": 3},
        "memory": {"vus": 300, "duration": 5, "pause": 1, "baseline_duration": 3},
        "scale": {"vus": 2000, "duration": 10, "pause": 5, "max_rss_gib": 6},
        "arrival": {"rate": 5000, "duration": 5, "vus": 100},
        "overhead": {"rate": 2000, "duration": 5, "vus": 50},
        "startup": {"runs": 3, "warmup": 1},
    },
}


@dataclass
class Goal:
    key: str
    title: str
    criterion: str
    columns: list  # [(figure key, header, format)] of the rows table
    rows: list = field(default_factory=list)  # [(label, tools.Run)]
    verdict: str = "SKIP"  # PASS, FAIL, SKIP (no stampede) or ERROR (a run failed)
    measured: str = ""
    notes: list = field(default_factory=list)
    distorted: bool = False  # other processes took CPU time during a run


def _grace(duration):
    """Time allowed to a run past its nominal duration (init, graceful stop)."""
    return duration + 90


def _add_cost(run, count_key="reqs"):
    """CPU µs per request (or iteration) and peak RSS, from the process."""
    fig = run.figures
    fig["cpu_s"] = run.proc.cpu_s
    fig["rss_mib"] = run.proc.peak_rss_kib / 1024
    n = fig.get(count_key) or 0
    fig["cpu_us_per"] = run.proc.cpu_s * 1e6 / n if n else None
    # Below ~95% for a tool that should saturate its core, something else ran there.
    fig["cpu_share"] = run.proc.cpu_s / run.proc.wall_s if run.proc.wall_s else None
    fig["other_load"] = run.proc.other_load
    return run


def flag_contention(goal, threshold=0.1):
    """A note naming the runs during which other processes took CPU time."""
    busy = [(label, run.proc.other_load) for label, run in goal.rows
            if run.proc and run.proc.other_load > threshold]
    if busy:
        goal.distorted = True
        goal.notes.append(
            "⚠ Other processes ran during " + ", ".join(
                f"{label} ({load:.2f} cores on average)" for label, load in busy)
            + ": these figures and ratios are distorted.")


def _problems(goal):
    bad = [f"{label}: {run.problem}" for label, run in goal.rows if not run.ok]
    if bad:
        goal.verdict = "ERROR"
        goal.measured = "; ".join(bad)
    return bool(bad)


def _ratio(a, b):
    return a / b if b else float("inf")


# --- 1. Throughput ------------------------------------------------------------

def throughput(ctx, p):
    goal = Goal("throughput", "1. Throughput",
                ">= 6x k6's requests/s and >= 0.5x wrk's (same script, 50 VUs/connections)",
                [("rps", "requests/s", "{:,.0f}"), ("reqs", "requests", "{:,.0f}"),
                 ("failed", "failed", "{:,.0f}"), ("cpu_s", "CPU s", "{:.2f}"),
                 ("cpu_share", "CPU of its core", "{:.0%}"),
                 ("cpu_us_per", "CPU µs/request", "{:.1f}"), ("rss_mib", "peak RSS MiB", "{:.1f}")])
    d, vus = p["duration"], p["vus"]
    url = ctx.target.url
    goal.rows.append((f"wrk -t1 -c{vus}", _add_cost(tools.wrk(
        ctx, ctx.tools["wrk"], url=url, connections=vus, duration_s=d, timeout=_grace(d)))))
    if "oha" in ctx.tools:
        goal.rows.append((f"oha -c {vus}", _add_cost(tools.oha(
            ctx, ctx.tools["oha"], url=url, connections=vus, duration_s=d, timeout=_grace(d)))))
    else:
        goal.notes.append("oha is not installed: its row is missing.")
    for name in ("k6", "stampede"):
        if name in ctx.tools:
            goal.rows.append((f"{name} {vus} VUs", _add_cost(tools.k6_like(
                ctx, ctx.tools[name], "get_check.js", name=f"throughput-{name}",
                args=["--vus", str(vus), "--duration", f"{d}s"],
                env_vars={"TARGET": url}, timeout=_grace(d), nofile=ctx.nofile))))
    if _problems(goal) or "stampede" not in ctx.tools:
        return goal
    rps = {label.split()[0]: run.figures["rps"] for label, run in goal.rows}
    vs_k6, vs_wrk = _ratio(rps["stampede"], rps["k6"]), _ratio(rps["stampede"], rps["wrk"])
    goal.measured = f"{vs_k6:.2f}x k6, {vs_wrk:.2f}x wrk"
    goal.verdict = "PASS" if vs_k6 >= 6 and vs_wrk >= 0.5 else "FAIL"
    return goal


# --- 2. Memory per VU ---------------------------------------------------------------

def memory(ctx, p):
    vus, d, pause = p["vus"], p["duration"], p["pause"]
    goal = Goal("memory", "2. Memory per VU",
                f"RSS per VU <= 1/2 of k6's and >= 97% of the ideal iteration rate "
                f"({vus} VUs, GET + check + sleep({pause}))",
                [("vus", "VUs", "{:,.0f}"), ("rss_mib", "peak RSS MiB", "{:.1f}"),
                 ("kib_per_vu", "KiB/VU (minus 1-VU baseline)", "{:.1f}"),
                 ("iterations", "iterations", "{:,.0f}"), ("iter_share", "of ideal", "{:.1%}"),
                 ("failed", "failed", "{:,.0f}"), ("cpu_s", "CPU s", "{:.2f}")])
    goal.notes.append(
        f"KiB/VU = (peak RSS at {vus} VUs - peak RSS of the same script at 1 VU) / ({vus} - 1); "
        f"ideal iterations = VUs x {d} s / {pause} s.")
    ideal = vus * d / pause
    for name in ("k6", "stampede"):
        if name not in ctx.tools:
            continue
        common = dict(env_vars={"TARGET": ctx.target.url, "PAUSE": pause}, nofile=ctx.nofile)
        base = tools.k6_like(ctx, ctx.tools[name], "sleep_loop.js", name=f"memory-{name}-1vu",
                             args=["--vus", "1", "--duration", f"{p['baseline_duration']}s"],
                             timeout=_grace(p["baseline_duration"]), **common)
        run = tools.k6_like(ctx, ctx.tools[name], "sleep_loop.js", name=f"memory-{name}",
                            args=["--vus", str(vus), "--duration", f"{d}s"],
                            timeout=_grace(d), **common)
        _add_cost(base)
        _add_cost(run)
        base.figures.update(vus=1, kib_per_vu=0.0, iter_share=float("nan"))
        run.figures["vus"] = vus
        if run.ok and base.ok:
            run.figures.update(
                kib_per_vu=(run.proc.peak_rss_kib - base.proc.peak_rss_kib) / (vus - 1),
                iter_share=run.figures["iterations"] / ideal)
        goal.rows += [(f"{name} 1 VU (baseline)", base), (f"{name} {vus} VUs", run)]
    if _problems(goal) or "stampede" not in ctx.tools:
        return goal
    per_vu = {label.split()[0]: run.figures["kib_per_vu"] for label, run in goal.rows[1::2]}
    share = goal.rows[-1][1].figures["iter_share"]
    mem = _ratio(per_vu["stampede"], per_vu["k6"])
    goal.measured = f"RSS/VU {mem:.2f}x k6's, {share:.1%} of ideal iterations"
    goal.verdict = "PASS" if mem <= 0.5 and share >= 0.97 else "FAIL"
    return goal


# --- 3. Scale -------------------------------------------------------------------------

def scale(ctx, p):
    vus, d, pause, max_gib = p["vus"], p["duration"], p["pause"], p["max_rss_gib"]
    goal = Goal("scale", "3. Scale",
                f"{vus:,} VUs, GET + check + sleep({pause}), {d} s: no errors, "
                f"peak RSS <= {max_gib} GiB",
                [("vus", "VUs", "{:,.0f}"), ("rss_mib", "peak RSS MiB", "{:,.1f}"),
                 ("kib_per_vu", "KiB/VU", "{:.1f}"), ("reqs", "requests", "{:,.0f}"),
                 ("failed", "failed", "{:,.0f}"), ("dropped", "dropped", "{:,.0f}"),
                 ("iter_share", "of expected iterations", "{:.1%}"), ("cpu_s", "CPU s", "{:.2f}")])
    goal.notes.append(
        f"Each VU first sleeps a random part of {pause} s (STAGGER=1) so that {vus:,} VUs do not "
        f"all connect in the same millisecond. Expected iterations: a VU whose first iteration "
        f"begins with a random r < {pause} s starts iterations at 0, r+{pause}, r+{2 * pause}, ... "
        f"before {d} s, all of which complete (gracefulStop). "
        "k6 runs here only when its RSS would stay under 2 GiB (not at 50,000 VUs, "
        "where at about 195 KB/VU it would need about 10 GB).")
    env = {}
    if ctx.nofile_hard < vus + 1024:
        env["K6_NO_CONNECTION_REUSE"] = "true"
        goal.notes.append(
            f"The hard open-files limit here is {ctx.nofile_hard:,} (cannot be raised without "
            f"CAP_SYS_RESOURCE), below one keep-alive connection per VU: this run sets "
            "K6_NO_CONNECTION_REUSE=true, so a VU holds a socket only during its request.")
    # k6 only where it is affordable (quick mode), as a check of the harness.
    names = ["stampede"] + (["k6"] if vus * 200 < 2 * GIB else [])
    expected = vus * _staggered_iterations(d, pause)
    for name in names:
        if name not in ctx.tools:
            continue
        run = _add_cost(tools.k6_like(
            ctx, ctx.tools[name], "sleep_loop.js", name=f"scale-{name}",
            args=["--vus", str(vus), "--duration", f"{d}s"],
            env_vars={"TARGET": ctx.target.url, "PAUSE": pause, "STAGGER": 1},
            timeout=_grace(d) + 120, nofile=ctx.nofile, env=env,
            # Past the goal's limit the verdict is known; stop before it
            # crowds out the rest of the machine.
            rss_limit_kib=min(int(max_gib * 1.1 * GIB), procs.spare_memory_kib())))
        run.figures["vus"] = vus
        if run.ok:  # a stopped run had not started all its VUs
            run.figures.update(kib_per_vu=run.proc.peak_rss_kib / vus,
                               iter_share=run.figures["iterations"] / expected)
        goal.rows.append((f"{name} {vus:,} VUs", run))
    run = goal.rows[0][1] if goal.rows and goal.rows[0][1].tool == "stampede" else None
    if run and run.proc.rss_limited:
        goal.verdict = "FAIL"
        goal.measured = run.problem
        return goal
    if _problems(goal) or not run:
        return goal
    f = run.figures
    gib = run.proc.peak_rss_kib / GIB
    goal.measured = (f"{f['failed']:,.0f} failed, {f['dropped']:,.0f} dropped, "
                     f"peak RSS {gib:.2f} GiB")
    goal.verdict = "PASS" if f["failed"] == 0 and f["dropped"] == 0 and gib <= max_gib else "FAIL"
    return goal


def _staggered_iterations(duration, pause, steps=1000):
    """Mean iterations per VU of sleep_loop.js with STAGGER=1 (r uniform in [0, pause))."""
    total = 0
    for i in range(steps):
        r = pause * (i + 0.5) / steps
        total += 1 + max(0, math.ceil((duration - r) / pause) - 1)
    return total / steps


# --- 4. Arrival-rate accuracy -----------------------------------------------------------------

def arrival(ctx, p):
    rate, d, vus = p["rate"], p["duration"], p["vus"]
    goal = Goal("arrival", "4. Arrival-rate accuracy",
                f"constant-arrival-rate {rate:,}/s for {d} s ({vus} pre-allocated VUs): "
                "within 1% of the target, 0 dropped",
                [("iterations", "iterations", "{:,.0f}"), ("share", "of target", "{:.2%}"),
                 ("dropped", "dropped", "{:,.0f}"), ("failed", "failed", "{:,.0f}"),
                 ("p99_ms", "p99 ms", "{:.3f}"), ("cpu_s", "CPU s", "{:.2f}"),
                 ("cpu_share", "CPU of its core", "{:.0%}"), ("rss_mib", "peak RSS MiB", "{:.1f}")])
    target = rate * d
    for name in ("k6", "stampede"):
        if name in ctx.tools:
            run = _add_cost(tools.k6_like(
                ctx, ctx.tools[name], "arrival.js", name=f"arrival-{name}",
                env_vars={"TARGET": ctx.target.url, "RATE": rate, "DURATION": f"{d}s", "VUS": vus},
                timeout=_grace(d), nofile=ctx.nofile), "iterations")
            if run.ok:
                run.figures["share"] = run.figures["iterations"] / target
            goal.rows.append((name, run))
    if _problems(goal) or "stampede" not in ctx.tools:
        return goal
    f = goal.rows[-1][1].figures
    goal.measured = f"{f['share']:.2%} of target, {f['dropped']:,.0f} dropped"
    goal.verdict = "PASS" if abs(f["share"] - 1) <= 0.01 and f["dropped"] == 0 else "FAIL"
    return goal


# --- 5. Measurement overhead -------------------------------------------------------------------

def overhead(ctx, p):
    rate, d, vus = p["rate"], p["duration"], p["vus"]
    goal = Goal("overhead", "5. Measurement overhead",
                f"at {rate:,} requests/s, p50 and p99 http_req_duration no higher than "
                f"k6's and oha -q {rate}'s",
                [("reqs", "requests", "{:,.0f}"), ("rps", "requests/s", "{:,.0f}"),
                 ("p50_ms", "p50 ms", "{:.3f}"), ("p99_ms", "p99 ms", "{:.3f}"),
                 ("failed", "failed", "{:,.0f}"), ("cpu_s", "CPU s", "{:.2f}")])
    if "oha" in ctx.tools:
        goal.rows.append((f"oha -c {vus} -q {rate}", _add_cost(tools.oha(
            ctx, ctx.tools["oha"], url=ctx.target.url, connections=vus, duration_s=d,
            qps=rate, timeout=_grace(d), name="overhead-oha"))))
    else:
        goal.notes.append("oha is not installed: compared with k6 only.")
    for name in ("k6", "stampede"):
        if name in ctx.tools:
            goal.rows.append((f"{name} arrival {rate}/s", _add_cost(tools.k6_like(
                ctx, ctx.tools[name], "arrival.js", name=f"overhead-{name}",
                env_vars={"TARGET": ctx.target.url, "RATE": rate, "DURATION": f"{d}s", "VUS": vus},
                timeout=_grace(d), nofile=ctx.nofile))))
    if _problems(goal) or "stampede" not in ctx.tools:
        return goal
    st = goal.rows[-1][1].figures
    others = [(label.split()[0], run.figures) for label, run in goal.rows[:-1]]
    parts, ok = [], True
    for key in ("p50_ms", "p99_ms"):
        for name, f in others:
            parts.append(f"{key[:3]} {_ratio(st[key], f[key]):.2f}x {name}")
            ok = ok and st[key] <= f[key]
    goal.measured = ", ".join(parts)
    goal.verdict = "PASS" if ok else "FAIL"
    return goal


# --- 6. Start-up -------------------------------------------------------------------------------

def startup(ctx, p):
    goal = Goal("startup", "6. Start-up",
                "a 1-VU, 1-iteration run completes in <= 1/3 of k6's time",
                [("median_ms", "median wall ms", "{:.1f}")])
    commands = {}
    for name in ("k6", "stampede"):
        if name in ctx.tools:
            commands[name] = [ctx.tools[name].path, "run", "--quiet", "--vus", "1",
                              "--iterations", "1", "-e", f"TARGET={ctx.target.url}",
                              tools.script("get_check.js")]
    try:
        medians, how = tools.startup_times(ctx, commands, runs=p["runs"], warmup=p["warmup"],
                                           hyperfine=ctx.hyperfine)
    except RuntimeError as e:
        goal.verdict, goal.measured = "ERROR", str(e)
        return goal
    goal.notes.append(f"Median of {p['runs']} runs after {p['warmup']} warm-up runs, by {how}, "
                      "pinned to the generator CPU, of `TOOL run --quiet --vus 1 --iterations 1 "
                      "-e TARGET=$URL bench/scripts/get_check.js`.")
    for name, seconds in medians.items():
        run = tools.Run(tool=name, proc=None, figures={"median_ms": seconds * 1000})
        goal.rows.append((name, run))
    if "stampede" not in medians:
        return goal
    r = _ratio(medians["stampede"], medians["k6"])
    goal.measured = f"{r:.3f}x k6's time"
    goal.verdict = "PASS" if r <= 1 / 3 else "FAIL"
    return goal


ALL = {
    "throughput": throughput,
    "memory": memory,
    "scale": scale,
    "arrival": arrival,
    "overhead": overhead,
    "startup": startup,
}

# Issue 19's goals for declarative scenarios run natively (goals_native.py).
import goals_native  # noqa: E402  (needs the definitions above)

goals_native.register()

# Names `--only` expands to several goals.
GROUPS = {}

# Issue 14's goals for `stampede server` (goals_server.py).
import goals_server  # noqa: E402

goals_server.register()

# Issue 15's goals for distributed runs (goals_dist.py).
import goals_dist  # noqa: E402  (needs the definitions above)

goals_dist.register()
