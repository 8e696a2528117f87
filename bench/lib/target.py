"""The target: one nginx worker on 127.0.0.1, pinned to the target CPU."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import procs

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BODY = '{"ok":true,"service":"demo"}'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx in the foreground (`daemon off`) in a temporary prefix directory."""

    def __init__(self, registry, workdir):
        self.registry = registry
        self.workdir = workdir
        self.dir = tempfile.mkdtemp(prefix="stampede-bench-nginx-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = None
        # nginx cannot raise its own limit past the hard one; keep headroom
        # for its log files and listening socket.
        hard = procs.nofile_hard_limit()
        self.nofile = min(hard, 1_048_576)
        self.connections = max(1024, self.nofile - 64)

    def start(self):
        with open(os.path.join(BENCH_DIR, "nginx.conf")) as f:
            conf = f.read()
        for key, value in {
            "DIR": self.dir,
            "PORT": self.port,
            "NOFILE": self.nofile,
            "CONNECTIONS": self.connections,
        }.items():
            conf = conf.replace(f"@{key}@", str(value))
        os.makedirs(os.path.join(self.dir, "tmp"))
        conf_path = os.path.join(self.dir, "nginx.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        cmd = ["nginx", "-p", self.dir, "-e", os.path.join(self.dir, "error.log"),
               "-c", conf_path, "-g", "daemon off;"]
        self.proc = procs.start(self.registry, cmd, cpu=procs.TARGET_CPU,
                                stdout=os.path.join(self.workdir, "nginx.out"),
                                stderr=os.path.join(self.workdir, "nginx.err"),
                                nofile=self.nofile)
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                    reply = s.recv(4096).decode("latin-1")
                if reply.startswith("HTTP/1.1 200") and reply.endswith(BODY):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"nginx did not answer on {self.url}: {self.error_log()}")

    def cpu_s(self):
        """CPU seconds used so far by nginx's master and worker."""
        return procs.process_cpu_s(self.proc.pid) if self.proc else 0.0

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        try:  # keep the error log of the run beside the other outputs
            shutil.copy(os.path.join(self.dir, "error.log"),
                        os.path.join(self.workdir, "nginx-error.log"))
        except OSError:
            pass
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # nginx: fast shutdown, workers included
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # master and worker
                self.proc.wait()
        if self.proc:
            self.registry.discard(self.proc.pid)
        shutil.rmtree(self.dir, ignore_errors=True)
