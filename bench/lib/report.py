"""The Markdown report: machine, tool versions, verdicts, absolute figures."""

import datetime
import math
import os
import platform
import shlex

import procs


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        with open("/proc/meminfo") as f:
            mem_gib = int(f.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "memory": f"{mem_gib:.1f} GiB",
        "open files (hard limit)": f"{procs.nofile_hard_limit():,}",
    }


def _cell(fmt, value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt.format(value)


def goal_table(goal):
    headers = ["run"] + [h for _, h, _ in goal.columns]
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "---|" + "---:|" * len(goal.columns)]
    for label, run in goal.rows:
        cells = [label] + [_cell(fmt, run.figures.get(key)) for key, _, fmt in goal.columns]
        if not run.ok:
            cells[0] += " ⚠"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _shell(cmd, ctx):
    """cmd as one line, with the long paths shortened to names a reader knows."""
    short = {t.path: t.name for t in ctx.tools.values()}
    words = []
    for w in cmd:
        w = short.get(w, w)
        w = w.replace(ctx.target.url, "$URL").replace(ctx.workdir + "/", "")
        w = w.replace(os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + "/", "bench/")
        words.append(w)
    return " ".join(shlex.quote(w) if " " in w else w for w in words)


def verdict_line(goal):
    mark = " (distorted by other processes)" if goal.distorted else ""
    return f"{goal.verdict:5} {goal.title}: {goal.measured or '-'}{mark}"


def render(ctx, goals):
    now = ctx.started
    out = [f"# Stampede benchmark, {now:%Y-%m-%d %H:%M} ({ctx.mode} mode)", ""]
    if ctx.mode == "quick":
        out += ["Quick mode: short runs and small VU counts that check the harness; "
                "the goals are only judged in full mode.", ""]
    out += ["## Machine", ""]
    out += [f"- {k}: {v}" for k, v in machine().items()]
    out.append(f"- CPUs busy in the 2 s before the start: {ctx.busy_at_start:.0%}"
               + (" (other work was running: figures are distorted)"
                  if ctx.busy_at_start > 0.1 else "")
               + f"; load average (1 min): {ctx.load_at_start:.2f}")
    out += ["", "## Tools", ""]
    for tool in ctx.tools.values():
        out.append(f"- {tool.name}: `{tool.version}` ({tool.path})")
    out.append(f"- nginx: `{ctx.nginx_version}`")
    out.append(f"- start-up timing: {'hyperfine ' + ctx.hyperfine_version if ctx.hyperfine else 'repeated timed runs'}")
    out += ["", "## Setup", "",
            f"nginx, one worker, `access_log off`, keep-alive, a {len(ctx.body)}-byte JSON body "
            f"(`{ctx.body}`), on 127.0.0.1 pinned to CPU {procs.TARGET_CPU} with taskset; "
            f"every generator pinned to CPU {procs.GENERATOR_CPU}, run one after the other. "
            "Requests/s, latencies, iterations and errors are each tool's own report "
            "(wrk's text, oha's JSON, k6/stampede `--summary-export`); peak RSS is the "
            "maximum of VmRSS/VmHWM sampled every 100 ms and wait4's ru_maxrss; CPU is "
            "user + system time from wait4. k6 runs with K6_NO_USAGE_REPORT=true.", ""]
    out += ["## Verdicts", "", "| goal | criterion | measured | result |", "|---|---|---|---|"]
    for g in goals:
        mark = " (distorted: see below)" if g.distorted else ""
        out.append(f"| {g.title} | {g.criterion} | {g.measured or '–'} | **{g.verdict}**{mark} |")
    for g in goals:
        out += ["", f"## {g.title}", "", g.criterion, "", goal_table(g)]
        if g.notes:
            out += [""] + [f"- {n}" for n in g.notes]
        bad = [(label, run.problem) for label, run in g.rows if not run.ok]
        if bad:
            out += [""] + [f"- ⚠ {label}: {problem}" for label, problem in bad]
        cmds = [(label, run.proc.cmd) for label, run in g.rows if run.proc]
        if cmds:
            out += ["", "Commands:", ""]
            out += [f"- {label}: `{_shell(cmd, ctx)}`" for label, cmd in cmds]
    out += ["", f"Raw outputs of this run: `bench/work/{os.path.basename(ctx.workdir)}/` "
            "(not kept in git).", ""]
    return "\n".join(out)


def save(text, results_dir, started, mode):
    os.makedirs(results_dir, exist_ok=True)
    suffix = "" if mode == "full" else f"-{mode}"
    dated = os.path.join(results_dir, f"{started:%Y-%m-%d-%H%M%S}{suffix}.md")
    for path in (dated, os.path.join(results_dir, "latest.md")):
        with open(path, "w") as f:
            f.write(text)
    return dated


def now():
    return datetime.datetime.now()
