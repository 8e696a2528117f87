"""Issue 15's goals for distributed runs (`stampede server` + `stampede worker`
over Redis).

Every part runs on loopback: a `redis-server` on a free port (no
persistence), a `stampede server --redis` with a temporary data dir, and
`stampede worker`s, all started and stopped by PID by this harness (recorded
in the harness's registry like every other child). The API is driven with
urllib; the run's figures are the server's merged summary.

- dist_worker: one remote worker vs `stampede run`, same script, same VUs,
  same duration, same target, in the same bench run: requests/s >= 95%.
- dist_recovery: a worker holding a run's segment is killed with SIGKILL;
  the time until another worker holds the lease (seen in
  `GET /api/v1/workers`), over several trials: every one <= 10 s.

- dist_controller: `crates/server/examples/controller_load.rs` (release
  build) replays 100 simulated workers x 500 series per second through the
  server's merge, verdict and store path and reports its CPU time per
  simulated second: <= 25% of one core. The example links the server's
  allocator (mimalloc, crate stampede-alloc). On a shared machine one run
  varies by a few points, so the full bench runs it several times and
  judges the median (the load average at the time is reported with it).
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import goals
import procs
import tools
from goals import Goal, _add_cost, _grace, _problems, _ratio

PARAMS = {
    "full": {
        "dist_worker": {"vus": 50, "duration": 10, "min_ratio": 0.95},
        "dist_recovery": {"trials": 5, "max_s": 10.0, "run_s": 40},
        "dist_controller": {"workers": 100, "series": 500, "seconds": 30, "max_share": 0.25,
                            "trials": 3},
    },
    "quick": {
        "dist_worker": {"vus": 20, "duration": 3, "min_ratio": 0.95},
        "dist_recovery": {"trials": 1, "max_s": 10.0, "run_s": 25},
        "dist_controller": {"workers": 100, "series": 500, "seconds": 5, "max_share": 0.25,
                            "trials": 1},
    },
}

ADMIN_PASSWORD = "bench-admin-password-1"

RECOVERY_SCRIPT = """import http from 'k6/http';
export const options = { scenarios: { car: { executor: 'constant-arrival-rate',
  rate: 20, timeUnit: '1s', duration: '%ds', preAllocatedVUs: 10 } } };
export default function () { http.get(__ENV.TARGET); }
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what, timeout_s, check, every=0.1):
    """Polls `check` until it returns a true value, up to `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class Cluster:
    """redis-server, `stampede server --redis` and workers, stopped on exit."""

    def __init__(self, ctx, name):
        self.ctx = ctx
        self.dir = os.path.join(ctx.workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.stampede = ctx.tools["stampede"].path
        self.procs = {}  # name -> Popen
        self.token = None
        self.url = None

    def __enter__(self):
        port = _free_port()
        self.redis = f"redis://127.0.0.1:{port}"
        self._start("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", self.dir])
        _wait("redis-server", 20, lambda: self._connects(port))
        api_port = _free_port()
        self.url = f"http://127.0.0.1:{api_port}"
        env = dict(os.environ, STAMPEDE_ADMIN_PASSWORD=ADMIN_PASSWORD, STAMPEDE_LOG="warn")
        self._start("server", [self.stampede, "server", "--listen", f"127.0.0.1:{api_port}",
                               "--data-dir", os.path.join(self.dir, "data"),
                               "--redis", self.redis], env=env)
        _wait("the server", 60, lambda: self._connects(api_port))
        _, body = self.call("POST", "/api/v1/auth/login",
                            {"username": "admin", "password": ADMIN_PASSWORD})
        self.token = body["token"]
        return self

    def __exit__(self, *exc):
        for name in reversed(list(self.procs)):
            self.stop(name)

    def _connects(self, port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    def _start(self, name, cmd, env=None, cpu=None):
        log = open(os.path.join(self.dir, f"{name}.log"), "w")
        if cpu is not None:
            cmd = procs.pinned(cmd, cpu)
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                             start_new_session=True)
        self.ctx.registry.add(p.pid)
        self.procs[name] = p
        return p

    def stop(self, name, sig=signal.SIGTERM):
        p = self.procs.pop(name, None)
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.ctx.registry.discard(p.pid)

    def worker(self, wid, capacity, cpu=None):
        return self._start(f"worker-{wid}", [self.stampede, "worker", "--redis", self.redis,
                                             "--capacity", str(capacity), "--id", wid], cpu=cpu)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)

    def workers(self):
        return self.call("GET", "/api/v1/workers")[1].get("items", [])

    def wait_workers(self, n):
        _wait(f"{n} workers", 30, lambda: len(self.workers()) >= n)

    def holders(self, run):
        prefix = f"{run}."
        return {w["id"] for w in self.workers()
                if any(str(lease).startswith(prefix) for lease in w.get("leases", []))}

    def start_run(self, name, script, body):
        _, sc = self.call("POST", "/api/v1/scenarios", {"name": name, "script": script})
        _, started = self.call("POST", f"/api/v1/scenarios/{sc['id']}/start", body)
        return started["run_id"]

    def final(self, run, timeout_s):
        def ended():
            r = self.call("GET", f"/api/v1/runs/{run}")[1]
            return r if r["status"] in ("passed", "failed", "aborted", "errored") else None
        return _wait(f"run {run} to end", timeout_s, ended, every=0.25)


def dist_worker(ctx, p):
    d, vus, need = p["duration"], p["vus"], p["min_ratio"]
    goal = Goal("dist_worker", "D1. One remote worker",
                f">= {need:.0%} of `stampede run`'s requests/s (get_check.js, {vus} VUs, {d} s)",
                [("rps", "requests/s", "{:,.0f}"), ("reqs", "requests", "{:,.0f}"),
                 ("failed", "failed", "{:,.0f}")])
    if "stampede" not in ctx.tools:
        return goal
    url = ctx.target.url
    goal.rows.append(("stampede run", _add_cost(tools.k6_like(
        ctx, ctx.tools["stampede"], "get_check.js", name="dist-local",
        args=["--vus", str(vus), "--duration", f"{d}s"], env_vars={"TARGET": url},
        timeout=_grace(d), nofile=ctx.nofile))))
    try:
        with Cluster(ctx, "dist-worker") as c:
            # The worker (and its segment's child) on the generators' CPU,
            # as `stampede run` was; the server and Redis are not pinned.
            w = c.worker("bench-1", vus, cpu=procs.GENERATOR_CPU)
            c.wait_workers(1)
            with open(tools.script("get_check.js")) as f:
                script = f.read()
            t0 = time.monotonic()
            run = c.start_run("get_check", script, {"vus": vus, "duration": f"{d}s",
                                                    "env": {"TARGET": url}})
            r = c.final(run, _grace(d))
            wall = time.monotonic() - t0
            figures = tools.summary_figures(r.get("summary") or {})
            row = tools.Run(tool="stampede", proc=None, figures=figures)
            if r["status"] != "passed":
                row.problem = f"run {r['status']}: {r.get('error')}"
            goal.rows.append((f"stampede worker (run {wall:.0f} s wall)", row))
            del w
    except (RuntimeError, OSError, KeyError, ValueError) as e:
        goal.verdict, goal.measured = "ERROR", f"the cluster failed: {e}"
        return goal
    if _problems(goal):
        return goal
    r = _ratio(goal.rows[1][1].figures["rps"], goal.rows[0][1].figures["rps"])
    goal.measured = f"{r:.1%} of stampede run"
    goal.verdict = "PASS" if r >= need else "FAIL"
    return goal


def dist_recovery(ctx, p):
    trials, limit, run_s = p["trials"], p["max_s"], p["run_s"]
    goal = Goal("dist_recovery", "D3. Worker-loss recovery",
                f"kill -9 of the worker holding a segment -> another holds its lease: "
                f"<= {limit:.0f} s in each of {trials} trials",
                [("recovery_s", "kill -> resumed s", "{:.2f}"), ("iterations", "iterations", "{:,.0f}"),
                 ("dropped", "dropped", "{:,.0f}"), ("planned", "planned", "{:,.0f}")])
    if "stampede" not in ctx.tools:
        return goal
    times = []
    try:
        with Cluster(ctx, "dist-recovery") as c:
            for t in range(trials):
                names = [f"r{t}a", f"r{t}b"]
                for n in names:
                    c.worker(n, 10)
                _wait("both workers", 30, lambda: {w["id"] for w in c.workers()} >= set(names))
                run = c.start_run(f"recovery-{t}", RECOVERY_SCRIPT % run_s,
                                  {"env": {"TARGET": ctx.target.url}})
                holder = _wait("a worker to hold the segment", 30, lambda: c.holders(run))
                time.sleep(3)  # a few intervals reported first
                victim = next(iter(holder))
                c.stop(f"worker-{victim}", signal.SIGKILL)
                killed = time.monotonic()
                spare = [n for n in names if n != victim][0]
                _wait("the spare to resume the segment", 60,
                      lambda: spare in c.holders(run), every=0.05)
                took = time.monotonic() - killed
                times.append(took)
                r = c.final(run, run_s + 60)
                figures = tools.summary_figures(r.get("summary") or {})
                figures["recovery_s"] = took
                figures["planned"] = 20 * run_s + 1
                row = tools.Run(tool="stampede", proc=None, figures=figures)
                if r["status"] != "passed":
                    row.problem = f"run {r['status']}: {r.get('error')}"
                goal.rows.append((f"trial {t + 1}", row))
                for n in names:
                    c.stop(f"worker-{n}")
    except (RuntimeError, OSError, KeyError, ValueError) as e:
        goal.verdict, goal.measured = "ERROR", f"the cluster failed: {e}"
        return goal
    if _problems(goal):
        return goal
    goal.measured = f"max {max(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s"
    goal.verdict = "PASS" if max(times) <= limit else "FAIL"
    return goal


def _controller_load(ctx):
    """The release build of the controller_load example (built if missing)."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(repo, "target", "release", "examples", "controller_load")
    log = os.path.join(ctx.workdir, "cargo-build-controller-load.log")
    with open(log, "w") as f:
        code = subprocess.run(["cargo", "build", "--release", "-p", "stampede-server",
                               "--example", "controller_load"], cwd=repo, stdout=f,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=3600).returncode
    if code != 0 or not os.access(path, os.X_OK):
        raise RuntimeError(f"cannot build the controller_load example (exit {code}), see {log}")
    return path


def dist_controller(ctx, p):
    w, n, secs, limit = p["workers"], p["series"], p["seconds"], p["max_share"]
    trials = p.get("trials", 1)
    goal = Goal("dist_controller", "D2. Controller load",
                f"merge + thresholds + store of {w} workers x {n} series per second: "
                f"<= {limit:.0%} of one core",
                [("cpu_s", "CPU s", "{:.2f}"), ("wall_s", "wall s", "{:.2f}"),
                 ("core_share", "core share", "{:.1%}")])
    try:
        path = _controller_load(ctx)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        goal.verdict, goal.measured = "ERROR", str(e)
        return goal
    shares = []
    for trial in range(trials):
        res = tools.measure(ctx, [path, str(w), str(n), str(secs)],
                            name=f"controller-load-{trial + 1}", timeout=600)
        run = tools.Run(tool="stampede-server", proc=res)
        try:
            with open(res.stdout) as f:
                run.figures = json.loads(f.read().strip().splitlines()[-1])
            shares.append(run.figures["core_share"])
        except (OSError, ValueError, IndexError, KeyError) as e:
            run.problem = f"no figures ({e.__class__.__name__}); exit {res.exit_code}"
        goal.rows.append((f"controller_load {w} {n} {secs} #{trial + 1}", run))
    if _problems(goal):
        return goal
    share = sorted(shares)[len(shares) // 2]
    load = os.getloadavg()[0]
    goal.measured = (f"{share:.1%} of one core (median of {len(shares)}: "
                     f"{', '.join(f'{s:.1%}' for s in shares)}; load {load:.1f})")
    goal.verdict = "PASS" if share <= limit else "FAIL"
    return goal


GOALS = {"dist_worker": dist_worker, "dist_controller": dist_controller,
         "dist_recovery": dist_recovery}


def register():
    """Adds these goals to goals.ALL and goals.PARAMS."""
    goals.ALL.update(GOALS)
    for mode, params in PARAMS.items():
        goals.PARAMS[mode].update(params)
