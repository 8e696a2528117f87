"""Issue 14's goals for `stampede server`, in the same harness and run.

S1. server_throughput: requests/s of `get_check.js` submitted through the
    server (a child `stampede __segment` process, snapshots streamed,
    merged, stored and fanned out) against the same script under
    `stampede run`, same options and target, alternating run / server for
    a few rounds and comparing medians. The server (and so its segment
    children) is pinned to the generators' CPU, like `stampede run`.
S2. server_live: 50 WebSocket subscribers of a live run; the delay from
    each interval's end (its snapshot's `end_ns`, Unix-epoch ns, same
    clock) to its arrival at each subscriber, p99.
S3. server_storage: the stored metrics of a 1-hour run against 20
    endpoints, replayed through the store's real write path and rollup
    (`crates/store/examples/size.rs`), the SQLite files measured.

The HTTP and WebSocket helpers are bench/server_vs_run.py's (the
stand-alone version of S1 and S2); everything runs on loopback.
"""

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import types

import goals
import procs
import tools
from goals import Goal, _add_cost, _grace, _problems

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import server_vs_run as svr  # noqa: E402

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PARAMS = {
    "full": {
        "server_throughput": {"vus": 50, "duration": 10, "rounds": 3, "min_ratio": 0.95},
        "server_live": {"vus": 10, "duration": 30, "subscribers": 50, "max_p99_s": 1.0},
        "server_storage": {"seconds": 3600, "rps": 1000, "max_mb": 50},
    },
    "quick": {
        "server_throughput": {"vus": 10, "duration": 3, "rounds": 1, "min_ratio": 0.95},
        "server_live": {"vus": 2, "duration": 5, "subscribers": 5, "max_p99_s": 1.0},
        "server_storage": {"seconds": 120, "rps": 200, "max_mb": 50},
    },
}


class Server:
    """`stampede server` on a free loopback port with a temporary data dir,
    pinned to the generators' CPU (its segment children inherit it)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.data = tempfile.mkdtemp(prefix="server-", dir=ctx.workdir)
        self.port = svr.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def __enter__(self):
        exe = self.ctx.tools["stampede"].path
        self.proc = procs.start(
            self.ctx.registry,
            [exe, "server", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data,
             "--rate-limit", "0"],
            cpu=procs.GENERATOR_CPU,
            env={"STAMPEDE_ADMIN_PASSWORD": svr.PASSWORD, "STAMPEDE_LOG": "warn"},
            stderr=os.path.join(self.ctx.workdir, "server.stderr"),
            nofile=self.ctx.nofile)
        svr.wait_port(self.port)
        self.token = svr.api(self.base, "POST", "/api/v1/auth/login",
                             body={"username": "admin", "password": svr.PASSWORD})["token"]
        self.scenario = svr.api(self.base, "POST", "/api/v1/scenarios", self.token,
                                {"name": "bench", "script": open(tools.script("get_check.js")).read()})["id"]
        return self

    def __exit__(self, *exc):
        if self.proc:
            procs._stop(self.proc.pid, 10)
            self.ctx.registry.discard(self.proc.pid)


def _args(vus, duration):
    """The options server_vs_run's helpers read."""
    return types.SimpleNamespace(vus=vus, duration=f"{duration}s")


def server_throughput(ctx, p):
    vus, d, rounds = p["vus"], p["duration"], p["rounds"]
    goal = Goal("server_throughput", "S1. Server vs run",
                f"a run submitted through the server >= {p['min_ratio']:.0%} of `stampede run`'s "
                f"requests/s (get_check.js, {vus} VUs, {d} s, median of {rounds} rounds each)",
                [("rps", "requests/s", "{:,.0f}"), ("reqs", "requests", "{:,.0f}"),
                 ("failed", "failed", "{:,.0f}"), ("cpu_s", "CPU s", "{:.2f}"),
                 ("rss_mib", "peak RSS MiB", "{:.1f}")])
    if "stampede" not in ctx.tools:
        return goal
    url = ctx.target.url
    local, remote = [], []
    with Server(ctx) as srv:
        for i in range(rounds):
            run = _add_cost(tools.k6_like(
                ctx, ctx.tools["stampede"], "get_check.js", name=f"server-base-{i}",
                args=["--vus", str(vus), "--duration", f"{d}s"], env_vars={"TARGET": url},
                timeout=_grace(d), nofile=ctx.nofile))
            goal.rows.append((f"stampede run #{i + 1}", run))
            if not run.ok:
                break
            local.append(run.figures["rps"])
            try:
                run_id, rps = svr.server_rps(srv.base, srv.token, srv.scenario, url, _args(vus, d))
            except (SystemExit, OSError) as e:
                goal.verdict, goal.measured = "ERROR", f"server run: {e}"
                return goal
            remote.append(rps)
            r = svr.api(srv.base, "GET", f"/api/v1/runs/{run_id}", srv.token)
            figures = tools.summary_figures(r["summary"])
            goal.rows.append((f"server run #{i + 1} (run {run_id})",
                              tools.Run(tool="stampede", proc=None, figures=figures)))
    if _problems(goal):
        return goal
    ratio = statistics.median(remote) / statistics.median(local)
    goal.measured = f"{ratio:.3f}x (medians {statistics.median(remote):,.0f} / {statistics.median(local):,.0f} req/s)"
    goal.verdict = "PASS" if ratio >= p["min_ratio"] else "FAIL"
    goal.notes.append("The server rows have no process figures: the run is a child of the server.")
    return goal


def server_live(ctx, p):
    vus, d, n = p["vus"], p["duration"], p["subscribers"]
    goal = Goal("server_live", "S2. Live path",
                f"p99 of snapshot delivery delay (interval end -> WebSocket subscriber) "
                f"<= {p['max_p99_s'] * 1000:.0f} ms with {n} subscribers",
                [("deliveries", "deliveries", "{:,.0f}"), ("p50_ms", "p50 ms", "{:.1f}"),
                 ("p99_ms", "p99 ms", "{:.1f}"), ("max_ms", "max ms", "{:.1f}")])
    if "stampede" not in ctx.tools:
        return goal
    try:
        import websockets  # noqa: F401
    except ImportError:
        goal.verdict, goal.measured = "ERROR", "needs the websockets package (pip install websockets)"
        return goal
    delays = []
    with Server(ctx) as srv:
        async def main():
            run = svr.api(srv.base, "POST", f"/api/v1/scenarios/{srv.scenario}/start", srv.token,
                          {"vus": vus, "duration": f"{d}s", "env": {"TARGET": ctx.target.url}})["run_id"]
            await asyncio.wait_for(
                asyncio.gather(*(svr.subscriber(srv.base, srv.token, run, delays) for _ in range(n))),
                timeout=_grace(d))
            return run
        try:
            run = asyncio.run(main())
        except (asyncio.TimeoutError, OSError) as e:
            goal.verdict, goal.measured = "ERROR", f"subscribers: {e!r}"
            return goal
    if not delays:
        goal.verdict, goal.measured = "ERROR", "no snapshots arrived"
        return goal
    lat = sorted(delays)
    q = lambda x: lat[min(len(lat) - 1, int(x * len(lat)))]  # noqa: E731
    figures = {"deliveries": len(lat), "p50_ms": q(0.5) * 1000, "p99_ms": q(0.99) * 1000,
               "max_ms": lat[-1] * 1000}
    goal.rows.append((f"{n} subscribers, run {run}", tools.Run(tool="stampede", proc=None, figures=figures)))
    goal.measured = f"p99 {figures['p99_ms']:.0f} ms"
    goal.verdict = "PASS" if q(0.99) <= p["max_p99_s"] else "FAIL"
    expected = n * d
    if len(lat) < 0.9 * expected:
        goal.notes.append(f"Only {len(lat)} of about {expected} deliveries arrived.")
    return goal


def _size_figures(out):
    """The figures of `crates/store/examples/size.rs`'s two report lines."""
    live = re.search(r"stored blobs ([\d.]+) MB, SQLite files ([\d.]+) MB \((\d+) rows, ([\d.]+) s", out)
    rolled = re.search(r"after rollup to 10 s: (\d+) rows, stored blobs ([\d.]+) MB", out)
    if not (live and rolled):
        return None
    return {
        "live": {"rows": int(live[3]), "blob_mb": float(live[1]), "disk_mb": float(live[2])},
        "rolled_10s": {"rows": int(rolled[1]), "blob_mb": float(rolled[2])},
        "write_s": float(live[4]),
    }


def server_storage(ctx, p):
    goal = Goal("server_storage", "S3. Stored metrics",
                f"a {p['seconds'] // 60}-minute, 20-endpoint run at {p['rps']:,} requests/s stored in "
                f"<= {p['max_mb']} MB of SQLite (1 s intervals, as stored while live)",
                [("rows", "rows", "{:,.0f}"), ("blob_mb", "snapshots MB", "{:.1f}"),
                 ("disk_mb", "SQLite files MB", "{:.1f}"), ("per_interval_kb", "KB/interval", "{:.1f}")])
    log = os.path.join(ctx.workdir, "storage-size-build.log")
    with open(log, "w") as f:
        code = subprocess.run(
            ["cargo", "build", "--release", "-p", "stampede-store", "--example", "size"],
            cwd=REPO_DIR, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            timeout=3600).returncode
    if code != 0:
        goal.verdict, goal.measured = "ERROR", f"building the size example failed, see {log}"
        return goal
    exe = os.path.join(REPO_DIR, "target", "release", "examples", "size")
    code, out = procs.run_quiet([exe, str(p["seconds"]), str(p["rps"])], timeout=3600)
    fig = _size_figures(out) if code == 0 else None
    if fig is None:
        goal.verdict, goal.measured = "ERROR", f"size example exit {code}: {out.strip()[-300:]}"
        return goal
    for stage in ("live", "rolled_10s"):
        s = fig[stage]
        figures = {"rows": s["rows"], "blob_mb": s["blob_mb"],
                   "per_interval_kb": s["blob_mb"] * 1000 / max(1, s["rows"])}
        if "disk_mb" in s:
            figures["disk_mb"] = s["disk_mb"]
        goal.rows.append((stage.replace("_", " "), tools.Run(tool="store", proc=None, figures=figures)))
    disk = fig["live"]["disk_mb"]
    goal.measured = f"{disk:.1f} MB ({fig['live']['blob_mb']:.1f} MB of snapshots; " \
                    f"{fig['rolled_10s']['blob_mb']:.1f} MB after the rollup to 10 s)"
    goal.verdict = "PASS" if disk <= p["max_mb"] else "FAIL"
    goal.notes.append(
        f"`cargo run --release -p stampede-store --example size -- {p['seconds']} {p['rps']}`: "
        f"{p['seconds']:,} one-second intervals of k6's HTTP metrics for 20 endpoints written through "
        f"Store::put_interval in {fig['write_s']:.1f} s; the file size is after a WAL checkpoint. "
        "The size grows with the request rate (histogram content).")
    return goal


GOALS = {
    "server_throughput": server_throughput,
    "server_live": server_live,
    "server_storage": server_storage,
}


def register():
    """Adds these goals to goals.ALL, goals.PARAMS and the `server` group."""
    goals.ALL.update(GOALS)
    for mode, params in PARAMS.items():
        goals.PARAMS[mode].update(params)
    goals.GROUPS["server"] = list(GOALS)
