#!/usr/bin/env python3
"""Issue 14's goals for `stampede server`, measured on this machine:

1. requests/s of a run submitted through the server (child process,
   snapshots streamed, stored and fanned out) relative to the same script
   under `stampede run`, same options, same target, alternating
   run / server / run / server ... and comparing medians;
2. live-path latency: the delay from an interval's end (its snapshot's
   `end_ns`, Unix-epoch nanoseconds) to its arrival at each of 50 WebSocket
   subscribers, p50/p99 (needs `pip install websockets`; skipped without it).

Everything runs on loopback: the demo target (`stampede target`), the
server on a free port with a temp data dir. Usage:

    bench/server_vs_run.py [--stampede target/release/stampede] [--vus 10]
                           [--duration 10s] [--rounds 3]
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts", "get_check.js")
PASSWORD = "bench-password-1234"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def api(base, method, path, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=120) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def local_rps(exe, target, args):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run(
            [exe, "run", "-q", "-a", "", "--vus", str(args.vus), "--duration", args.duration,
             "-e", f"TARGET={target}", "--summary-export", f.name, SCRIPT],
            check=True, stdout=subprocess.DEVNULL, env={**os.environ, "K6_NO_USAGE_REPORT": "true"})
        return json.load(open(f.name))["metrics"]["http_reqs"]["rate"]


def server_rps(base, token, scenario, target, args):
    run = api(base, "POST", f"/api/v1/scenarios/{scenario}/start", token,
              {"vus": args.vus, "duration": args.duration, "env": {"TARGET": target}})["run_id"]
    while True:
        r = api(base, "GET", f"/api/v1/runs/{run}", token)
        if r["status"] in ("passed", "failed", "aborted", "errored"):
            break
        time.sleep(0.2)
    if r["status"] != "passed":
        raise SystemExit(f"server run {run} ended {r['status']}: {r.get('error')}")
    return run, r["summary"]["metrics"]["http_reqs"]["rate"]


ENDED = ("passed", "failed", "aborted", "errored")


async def subscriber(base, token, run, delays):
    """Subscribes to run's WebSocket until it ends; appends to delays each
    snapshot's delay in seconds: arrival minus the interval's end (snapshot
    bounds are Unix-epoch nanoseconds, the engine's clock: same machine)."""
    import websockets
    url = base.replace("http://", "ws://") + f"/api/v1/ws?run_id={run}"
    async with websockets.connect(url, additional_headers={"Authorization": "Bearer " + token},
                                  max_size=None) as ws:
        async for msg in ws:
            now = time.time()
            m = json.loads(msg)
            if m["type"] == "snapshot":
                delays.append(now - m["snapshot"]["end_ns"] / 1e9)
            if m["type"] == "state" and m["status"] in ENDED:
                return


def ws_latency(base, token, scenario, target, args, subscribers=50):
    try:
        import asyncio
        import websockets  # noqa: F401
    except ImportError:
        print("live-path latency: skipped (pip install websockets)")
        return
    import asyncio
    import websockets

    delays = []

    async def main():
        run = api(base, "POST", f"/api/v1/scenarios/{scenario}/start", token,
                  {"vus": args.vus, "duration": args.duration, "env": {"TARGET": target}})["run_id"]
        tasks = [asyncio.create_task(subscriber(base, token, run, delays)) for _ in range(subscribers)]
        await asyncio.gather(*tasks)
        return run

    run = asyncio.run(main())
    lat = sorted(delays)
    if not lat:
        print("live-path latency: no snapshots received")
        return
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(f"live-path latency, {subscribers} subscribers, {len(lat)} deliveries: "
          f"p50 {p(0.5)*1000:.0f} ms, p99 {p(0.99)*1000:.0f} ms — goal p99 <= 1000 ms: {'PASS' if p(0.99) <= 1.0 else 'FAIL'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stampede", default="target/release/stampede")
    ap.add_argument("--vus", type=int, default=10)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    exe = os.path.abspath(args.stampede)
    procs = []
    try:
        tport = free_port()
        procs.append(subprocess.Popen([exe, "target", "--listen", f"127.0.0.1:{tport}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(tport)
        target = f"http://127.0.0.1:{tport}/"
        data = tempfile.mkdtemp(prefix="stampede-bench-")
        sport = free_port()
        procs.append(subprocess.Popen(
            [exe, "server", "--listen", f"127.0.0.1:{sport}", "--data-dir", data, "--rate-limit", "0"],
            env={**os.environ, "STAMPEDE_ADMIN_PASSWORD": PASSWORD, "STAMPEDE_LOG": "warn"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(sport)
        base = f"http://127.0.0.1:{sport}"
        token = api(base, "POST", "/api/v1/auth/login", body={"username": "admin", "password": PASSWORD})["token"]
        scenario = api(base, "POST", "/api/v1/scenarios", token,
                       {"name": "bench", "script": open(SCRIPT).read()})["id"]
        local, remote = [], []
        for i in range(args.rounds):
            local.append(local_rps(exe, target, args))
            remote.append(server_rps(base, token, scenario, target, args)[1])
            print(f"round {i + 1}: run {local[-1]:.0f} req/s, server {remote[-1]:.0f} req/s")
        ratio = statistics.median(remote) / statistics.median(local)
        print(f"server / run requests/s (medians): {ratio:.3f} — goal >= 0.95: {'PASS' if ratio >= 0.95 else 'FAIL'}")
        ws_latency(base, token, scenario, target, args)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
