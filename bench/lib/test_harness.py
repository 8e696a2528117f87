"""Unit tests of the harness's parsing and arithmetic (no process is started).

    python3 -m unittest discover -s bench/lib
"""

import json
import os
import tempfile
import unittest
from types import SimpleNamespace

import goals
import procs
import tools

WRK_OUTPUT = """\
Running 3s test @ http://127.0.0.1:37633/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   717.00us    1.79ms  24.06ms   92.64%
    Req/Sec   120.84k    43.66k  175.65k    43.33%
  Latency Distribution
     50%  170.00us
     75%  283.00us
     90%    1.91ms
     99%    8.73ms
  361097 requests in 3.01s, 62.68MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 119808.91
Transfer/sec:     20.80MB
"""

K6_EXPORT = {
    "root_group": {},
    "metrics": {
        "http_reqs": {"count": 22636, "rate": 7514.8},
        "iterations": {"count": 22630, "rate": 7512.0},
        "http_req_failed": {"passes": 3, "fails": 22633, "value": 0.0001},
        "checks": {"passes": 22636, "fails": 0, "value": 1},
        "http_req_duration": {"avg": 6.5, "min": 0.02, "med": 4.01, "max": 94.0,
                              "p(90)": 14.1, "p(95)": 20.3, "p(99)": 49.0},
    },
}


def fake_proc(stdout):
    return procs.Result(exit_code=0, wall_s=3.0, cpu_s=2.0, peak_rss_kib=1024,
                        timed_out=False, stdout=stdout, stderr=os.devnull, cmd=[])


class ParseTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.ctx = SimpleNamespace(workdir=self.dir.name, registry=None,
                                   target=SimpleNamespace(cpu_s=lambda: 0.0))

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_summary_export_figures(self):
        fig = tools.summary_figures(K6_EXPORT)
        self.assertEqual(fig["reqs"], 22636)
        self.assertEqual(fig["iterations"], 22630)
        self.assertEqual(fig["failed"], 3)  # a Rate's "passes" are the failed requests
        self.assertEqual(fig["dropped"], 0)  # absent metric
        self.assertEqual(fig["p50_ms"], 4.01)
        self.assertEqual(fig["p99_ms"], 49.0)

    def test_wrk_output(self):
        out = self.write("wrk.out", WRK_OUTPUT)
        orig = procs.measure
        procs.measure = lambda *a, **k: fake_proc(out)
        try:
            run = tools.wrk(self.ctx, tools.Tool("wrk", "wrk"), url="u", connections=50,
                            duration_s=3, timeout=10)
        finally:
            procs.measure = orig
        self.assertTrue(run.ok, run.problem)
        self.assertEqual(run.figures["rps"], 119808.91)
        self.assertEqual(run.figures["reqs"], 361097)
        self.assertAlmostEqual(run.figures["p50_ms"], 0.17)
        self.assertAlmostEqual(run.figures["p99_ms"], 8.73)
        self.assertEqual(run.figures["failed"], 7)

    def test_oha_json_ignores_deadline_aborts(self):
        doc = {"summary": {"requestsPerSec": 2000.0},
               "latencyPercentiles": {"p50": 0.0001, "p99": 0.002},
               "statusCodeDistribution": {"200": 9990, "503": 2},
               "errorDistribution": {"aborted due to deadline": 5, "connection reset": 1}}
        out = self.write("oha.out", json.dumps(doc))
        orig = procs.measure
        procs.measure = lambda *a, **k: fake_proc(out)
        try:
            run = tools.oha(self.ctx, tools.Tool("oha", "oha"), url="u", connections=50,
                            duration_s=5, timeout=10)
        finally:
            procs.measure = orig
        self.assertEqual(run.figures["reqs"], 9993)
        self.assertEqual(run.figures["failed"], 3)
        self.assertAlmostEqual(run.figures["p50_ms"], 0.1)
        self.assertAlmostEqual(run.figures["p99_ms"], 2.0)


class SizeExampleTest(unittest.TestCase):
    # crates/store/examples/size.rs's report lines.
    OUT = ("3600 intervals at 1000 requests/s, 131 series/interval, wire JSON 350.2 MB, "
           "stored blobs 50.1 MB, SQLite files 55.9 MB (3600 rows, 61.2 s to store)\n"
           "after rollup to 10 s: 360 rows, stored blobs 16.3 MB (3240 merged)\n")

    def test_size_figures(self):
        import goals_server
        fig = goals_server._size_figures(self.OUT)
        self.assertEqual(fig["live"], {"rows": 3600, "blob_mb": 50.1, "disk_mb": 55.9})
        self.assertEqual(fig["rolled_10s"], {"rows": 360, "blob_mb": 16.3})
        self.assertAlmostEqual(fig["write_s"], 61.2)
        self.assertIsNone(goals_server._size_figures("something else"))

    def test_server_group_names_its_goals(self):
        self.assertEqual(goals.GROUPS["server"],
                         ["server_throughput", "server_live", "server_storage"])


class ArithmeticTest(unittest.TestCase):
    def test_staggered_iterations(self):
        # Starts at 0 and r + 5 (always < 10): two iterations per VU.
        self.assertEqual(goals._staggered_iterations(10, 5), 2.0)
        self.assertEqual(goals._staggered_iterations(60, 5), 12.0)
        # r + 5 < 7 only when r < 2: 40% of the VUs start a second one.
        self.assertAlmostEqual(goals._staggered_iterations(7, 5), 1.4)

    def test_quick_and_full_cover_every_goal(self):
        for mode in ("quick", "full"):
            self.assertEqual(set(goals.PARAMS[mode]), set(goals.ALL))


if __name__ == "__main__":
    unittest.main()
