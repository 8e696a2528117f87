"""Entry point of the benchmark harness (started by bench/run).

    bench/run [--quick] [--only NAME[,NAME]] [--stampede PATH | --no-stampede] [--save]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field

import goals
import procs
import report
import tools
from target import BODY, Nginx

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(BENCH_DIR)


@dataclass
class Context:
    mode: str
    workdir: str
    registry: procs.Registry
    started: object
    tools: dict = field(default_factory=dict)  # name -> tools.Tool
    target: Nginx = None
    hyperfine: str = ""
    hyperfine_version: str = ""
    nginx_version: str = ""
    nofile_hard: int = 0
    nofile: int = 0  # soft open-files limit given to generators
    body: str = BODY
    load_at_start: float = 0.0  # 1-minute load average when the run began
    busy_at_start: float = 0.0  # share of all CPUs busy in the 2 s before the start


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/run",
        description="Stampede against wrk, oha and k6: the six goals of issue 3 (bench/README.md).",
        epilog="bench/run itself also takes --no-install (do not install missing peers).")
    ap.add_argument("--quick", action="store_true",
                    help="short runs, small VU counts: a smoke check of the harness")
    ap.add_argument("--only", default="", metavar="NAME[,NAME]",
                    help=f"comma-separated goals to run, of: {', '.join(goals.ALL)}; "
                         f"or a group: {', '.join(goals.GROUPS)}")
    ap.add_argument("--stampede", metavar="PATH",
                    help="stampede binary (default: cargo build --release -p stampede)")
    ap.add_argument("--no-stampede", action="store_true",
                    help="run the peers only (to check the harness)")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                    help="first wait up to SECONDS for the machine to be idle for 5 s")
    ap.add_argument("--save", action="store_true",
                    help="in quick mode, also write the report to bench/results/")
    args = ap.parse_args(argv)
    names = [g.strip() for g in args.only.split(",") if g.strip()]
    names = [x for g in names for x in goals.GROUPS.get(g, [g])]  # `server`: its goals
    args.goals = names or list(goals.ALL)
    unknown = [g for g in args.goals if g not in goals.ALL]
    if unknown:
        ap.error(f"unknown goal(s) {', '.join(unknown)}; choose from {', '.join(goals.ALL)}")
    return args


def say(msg):
    print(msg, flush=True)


# --- finding the tools ------------------------------------------------------

def find_k6():
    """The real k6 binary (not pyenv's shell shim, which would distort start-up)."""
    candidate = os.path.join(sysconfig.get_path("scripts"), "k6")
    if os.access(candidate, os.X_OK):
        return candidate
    code, out = procs.run_quiet(["pyenv", "which", "k6"])
    if code == 0 and out.strip():
        return out.strip().splitlines()[-1]
    return shutil.which("k6")


def find_oha():
    found = shutil.which("oha")
    cargo_bin = os.path.expanduser("~/.cargo/bin/oha")
    return found or (cargo_bin if os.access(cargo_bin, os.X_OK) else None)


def version_of(cmd):
    code, out = procs.run_quiet(cmd)
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    return lines[0] if lines else f"unknown (exit {code})"


def build_stampede(workdir):
    say("building stampede: cargo build --release -p stampede (log in the work dir)")
    log = os.path.join(workdir, "cargo-build.log")
    with open(log, "w") as f:
        try:
            code = subprocess.run(["cargo", "build", "--release", "-p", "stampede"], cwd=REPO_DIR,
                                  stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=3600).returncode
        except (OSError, subprocess.TimeoutExpired) as e:
            say(f"  build failed to run: {e}")
            return None
    if code != 0:
        say(f"  build failed (exit {code}), see {log}")
        return None
    return os.path.join(REPO_DIR, "target", "release", "stampede")


def find_tools(ctx, args):
    missing = []
    paths = {"k6": find_k6(), "wrk": shutil.which("wrk"), "oha": find_oha()}
    for name in ("k6", "wrk"):
        if not paths[name]:
            missing.append(name)
    if not shutil.which("nginx"):
        missing.append("nginx")
    if not shutil.which("taskset"):
        missing.append("taskset")
    if missing:
        sys.exit(f"missing: {', '.join(missing)} (bench/run installs them unless --no-install)")
    ctx.tools["k6"] = tools.Tool("k6", paths["k6"], version_of([paths["k6"], "version"]))
    ctx.tools["wrk"] = tools.Tool("wrk", paths["wrk"], version_of([paths["wrk"], "-v"]))
    if paths["oha"]:
        # oha >= 1.9 says --output-format json; older ones --json.
        _, help_text = procs.run_quiet([paths["oha"], "--help"])
        json_args = ["--output-format", "json"] if "--output-format" in help_text else ["--json"]
        ctx.tools["oha"] = tools.Tool("oha", paths["oha"], version_of([paths["oha"], "--version"]),
                                      json_args)
    ctx.nginx_version = version_of(["nginx", "-v"])
    ctx.hyperfine = shutil.which("hyperfine") or ""
    if ctx.hyperfine:
        ctx.hyperfine_version = version_of([ctx.hyperfine, "--version"])

    if args.no_stampede:
        return
    path = os.path.abspath(args.stampede) if args.stampede else build_stampede(ctx.workdir)
    if path:
        code, out = procs.run_quiet([path, "version"])
        if code == 0:
            ctx.tools["stampede"] = tools.Tool("stampede", path, out.strip().splitlines()[0])
        else:
            say(f"stampede at {path} does not run (`version` exit {code}): {out.strip()[:300]}")
    if "stampede" not in ctx.tools:
        say("continuing without stampede: its goals are reported as SKIP")


# --- running ----------------------------------------------------------------

def on_signal(signum, _frame):
    # Once: a second signal (bench/run forwards one) must not cut the cleanup.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv):
    args = parse_args(argv)
    mode = "quick" if args.quick else "full"
    started = report.now()
    workdir = os.path.join(BENCH_DIR, "work", f"{started:%Y-%m-%d-%H%M%S}-{mode}")
    os.makedirs(workdir, exist_ok=True)
    registry = procs.Registry(os.path.join(BENCH_DIR, "work", "children.pids"))
    ctx = Context(mode=mode, workdir=workdir, registry=registry, started=started)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    os.environ["K6_NO_USAGE_REPORT"] = "true"
    ctx.nofile_hard = procs.nofile_hard_limit()
    ctx.nofile = ctx.nofile_hard
    done = []
    try:
        find_tools(ctx, args)
        if args.wait_idle > 0:
            say(f"waiting up to {args.wait_idle:.0f} s for an idle machine")
            say(f"  waited {procs.wait_idle(args.wait_idle):.0f} s")
        ctx.busy_at_start = procs.busy_share(2)
        ctx.load_at_start = os.getloadavg()[0]
        if ctx.busy_at_start > 0.1:
            say(f"warning: the CPUs were {ctx.busy_at_start:.0%} busy just before the start: "
                "other work on this machine will distort the figures")
        ctx.target = Nginx(registry, workdir).start()
        say(f"{mode} run, goals: {', '.join(args.goals)}; nginx on {ctx.target.url} "
            f"(CPU {procs.TARGET_CPU}), generators on CPU {procs.GENERATOR_CPU}; "
            f"outputs in {workdir}")
        for i, key in enumerate(args.goals):
            if i:
                # Let the last goal's aftermath (the kernel freeing the scale
                # goal's GBs, closing its sockets) settle before measuring.
                waited = procs.wait_idle(30, quiet_s=3)
                if waited >= 30:
                    say("warning: the machine did not settle for 3 s within 30 s after the "
                        "last goal: the figures of the next one may be distorted")
            say(f"--- {key}")
            goal = goals.ALL[key](ctx, goals.PARAMS[mode][key])
            goals.flag_contention(goal)
            say(report.goal_table(goal))
            say(report.verdict_line(goal))
            done.append(goal)
    except KeyboardInterrupt as e:
        say(f"\ninterrupted ({e}); stopping what this run started")
        return 130
    finally:
        if ctx.target:
            ctx.target.stop()
        registry.stop_all()

    text = report.render(ctx, done)
    say("\n" + text)
    with open(os.path.join(workdir, "report.md"), "w") as f:
        f.write(text)
    if mode == "full" or args.save:
        path = report.save(text, os.path.join(BENCH_DIR, "results"), started, mode)
        say(f"written: {os.path.relpath(path, REPO_DIR)} and bench/results/latest.md")
    return 1 if any(g.verdict == "ERROR" for g in done) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
