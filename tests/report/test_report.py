"""Tests of benchmarks/report.py (the lecture-claims report) and benchmarks/python_peers.py.

    python3 -m unittest discover -s tests/report -v        (CTest: report.generator)

The report runs on the hand-made Google Benchmark JSON in fixture/: lecture_batches, lecture_pipeline and
gemm as run-suite.sh writes them (median/mean/stddev/cv aggregates, a "threads" counter beside Google
Benchmark's own), io_tasks as plain repetitions; one label (lecture_batches/trident_par); no row of
cpu_bound_loop, monte_carlo, image_filter or lecture_pipeline_train_replicated; no GPU; a quiet
loadavg.txt as run-suite.sh writes it; a model_timeline.json as trident_bench_model writes it (two devices, planned
and measured).  RowsThatCannotBeTrusted edits copies of it (a high cv, a speedup
above the ideal, explain's busy-machine counters, a busy load, no load recorded).  Standard library
only; the plot checks are skipped (and say so) when matplotlib cannot be imported.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BENCH = os.path.join(ROOT, "benchmarks")
REPORT = os.path.join(BENCH, "report.py")
PEERS = os.path.join(BENCH, "python_peers.py")
FIXTURE = os.path.join(HERE, "fixture")
PLOTS = ["speedup_vs_workers.png", "pipeline_utilisation.png", "claims_measured_vs_ideal.png",
         "model_timeline.png"]  # the last from fixture/model_timeline.json (write_timeline_trace's format)

sys.dont_write_bytecode = True
sys.path.insert(0, BENCH)
import claims  # noqa: E402

LABEL = ("trident::par ran the 1000 batches as 16 chunks on 2 threads: the ideal on 2 cores is 2x, "
         "and 3.8% was lost to the last chunk's imbalance")


def have_matplotlib():
    return importlib.util.find_spec("matplotlib") is not None


def run(args, env=None, timeout=120):
    return subprocess.run([sys.executable] + args, capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=ROOT)


def claims_rows(md):
    """The claims table of report.md: a list of cell lists (header and separator left out)."""
    lines = md.split("## Claims", 1)[1].split("\n\n", 2)[1].splitlines()
    return [[c.strip() for c in line.strip().strip("|").split(" | ")] for line in lines[2:]]


def row_of(rows, workload, caption=""):
    for cells in rows:
        if cells[2] == workload or cells[2].startswith(workload + ";") or cells[2].startswith(f"{workload} ("):
            if caption in cells[2]:
                return cells
    raise AssertionError(f"no claims row for {workload} {caption}")


HEADER = ["claim", "lecture's figure", "workload", "sequential", "parallel", "measured speedup", "ideal here",
          "efficiency", "GPU", "why"]
COL = {name: i for i, name in enumerate(HEADER)}


class ReportOnFixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="trident-report-")
        cls.dir = os.path.join(cls.tmp, "results")
        shutil.copytree(FIXTURE, cls.dir)
        cls.proc = run([REPORT, cls.dir])
        with open(os.path.join(cls.dir, "report.md")) as f:
            cls.md = f.read()
        cls.rows = claims_rows(cls.md)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_exit_status_and_report_written(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr + self.proc.stdout)
        self.assertTrue(self.md.startswith("# trident: the lecture's claims, measured"))

    def test_header_carries_the_machine(self):
        for text in ("Fixture CPU 9000", "cores: 2", "g++ 12.2.0", "f1x7ure", "2026-01-02T03:04:05+00:00",
                     "GPU: no GPU", "MPI: none", "trident_bench_lecture.json", "trident_bench_tasks.json"):
            self.assertIn(text, self.md)

    def test_every_claim_has_a_row(self):
        ids = [cells[COL["claim"]].split(".")[0] for cells in self.rows]
        expected = [claim.id for claim in claims.CLAIMS for _ in claim.comparisons]
        self.assertEqual(ids, expected)
        for cells in self.rows:
            self.assertEqual(len(cells), len(HEADER), cells)

    def test_numbers_carried_through(self):
        batches = row_of(self.rows, "lecture_batches")
        # medians (not the means: 1.010 s, 530 ms), 1000 / 520 = 1.923x, ideal 2 from the counter, 96.2%
        self.assertEqual(batches[COL["sequential"]], "1.000 s")
        self.assertEqual(batches[COL["parallel"]], "520.00 ms")
        self.assertEqual(batches[COL["measured speedup"]], "1.92x")
        self.assertEqual(batches[COL["ideal here"]], "2.00x")
        self.assertEqual(batches[COL["efficiency"]], "96.2%")
        self.assertIn("1 unit = 1.00 ms", batches[COL["workload"]])
        # the ideal from the pipeline's model_seconds (0.24 / 0.12), 240 / 125 = 1.92x, 96.0%
        pipeline = row_of(self.rows, "lecture_pipeline", "every stage")
        self.assertEqual(pipeline[COL["measured speedup"]:COL["GPU"]], ["1.92x", "2.00x", "96.0%"])
        # plain repetitions: the median one (161 ms, 40.25 ms); the ideal from ideal_units 8 / 2
        io = row_of(self.rows, "io_tasks")
        self.assertEqual(io[COL["sequential"]:COL["GPU"]], ["161.00 ms", "40.25 ms", "4.00x", "4.00x", "100.0%"])
        self.assertIn("1 unit = 20.00 ms", io[COL["workload"]])
        gemm = row_of(self.rows, "gemm")
        self.assertEqual(gemm[COL["sequential"]], "800.00 ms, 2.5 GFLOP/s")
        self.assertEqual(gemm[COL["parallel"]], "400.00 ms, 5.0 GFLOP/s")

    def test_why_is_the_label_verbatim(self):
        self.assertEqual(row_of(self.rows, "lecture_batches")[COL["why"]], LABEL)
        self.assertEqual(row_of(self.rows, "lecture_pipeline", "every stage")[COL["why"]], "no explanation recorded")

    def test_missing_claims_are_shown_not_dropped(self):
        for workload in ("monte_carlo", "image_filter", "lecture_pipeline_train_replicated"):
            cells = row_of(self.rows, workload)
            self.assertEqual(cells[COL["sequential"]], "not run", workload)
            self.assertEqual(cells[COL["measured speedup"]], "-", workload)
        for cells in self.rows:
            if cells[COL["workload"]].startswith("cpu_bound_loop"):
                self.assertEqual(cells[COL["parallel"]], "not run")
        for claim in claims.CLAIMS:
            if not claim.built:
                cells = row_of(self.rows, claim.comparisons[0].workload)
                self.assertEqual(cells[COL["sequential"]], "not built yet")
                self.assertIn("not built yet", self.md.split(f"## Claim {claim.id}:", 1)[1].lower())

    def test_gpu_column(self):
        self.assertEqual(row_of(self.rows, "gemm")[COL["GPU"]], "no GPU")
        self.assertEqual(row_of(self.rows, "monte_carlo")[COL["GPU"]], "no GPU")
        self.assertEqual(row_of(self.rows, "io_tasks")[COL["GPU"]], "n/a")

    def test_missing_gpu_rows_say_no_gpu(self):
        section = self.md.split("## Claim 5:", 1)[1].split("## Claim 6:", 1)[0]
        self.assertIn("| cublas | no GPU |", section)
        self.assertIn("| trident_gpu | no GPU |", section)

    def test_sweep_rows_listed_under_their_implementation(self):
        section = self.md.split("## Claim 1:", 1)[1].split("## Claim 2:", 1)[0]
        lines = [line for line in section.splitlines() if line.startswith("| trident_par")]
        self.assertEqual([line.split(" | ")[0] for line in lines],
                         ["| trident_par", "| trident_par (1)", "| trident_par (2)"])

    def test_claim_sections_list_peers(self):
        section = self.md.split("## Claim 1:", 1)[1].split("## Claim 2:", 1)[0]
        self.assertIn("| tbb | 510.00 ms | 1.0% | 1.96x vs seq_loop | 2 |", section)
        self.assertIn("| omp | not run |", section)

    def test_terminal_table(self):
        out = self.proc.stdout
        self.assertIn("claim  lecture's figure", out)
        self.assertIn("1.92x", out)
        self.assertIn("96.2%", out)
        self.assertIn("not built yet", out)
        self.assertIn("why: trident::par ran the 1000 batches", out)
        self.assertIn("report: written to", out)
        table = out.split("report:", 1)[0]
        self.assertLessEqual(max(len(line) for line in table.splitlines()), 120)

    def test_plots(self):
        if not have_matplotlib():
            self.skipTest(f"matplotlib cannot be imported by {sys.executable}: plots not checked")
        for name in PLOTS:
            path = os.path.join(self.dir, name)
            self.assertTrue(os.path.exists(path), name)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", name)
            self.assertIn(f"]({name})", self.md)


class ReportEdges(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="trident-report-")
        self.dir = os.path.join(self.tmp, "results")
        shutil.copytree(FIXTURE, self.dir)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_no_plots(self):
        proc = run([REPORT, self.dir, "--no-plots"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertFalse(any(os.path.exists(os.path.join(self.dir, p)) for p in PLOTS))
        with open(os.path.join(self.dir, "report.md")) as f:
            self.assertIn("plots not drawn (--no-plots)", f.read())

    def test_without_matplotlib(self):
        # A matplotlib that fails to import, first on the path: the report says so and exits 0;
        # with --require-plots it still writes report.md and exits 1.
        fake = os.path.join(self.tmp, "fake")
        os.makedirs(os.path.join(fake, "matplotlib"))
        with open(os.path.join(fake, "matplotlib", "__init__.py"), "w") as f:
            f.write("raise ImportError('no matplotlib in this test')\n")
        env = dict(os.environ, PYTHONPATH=fake)
        proc = run([REPORT, self.dir], env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("matplotlib cannot be imported", proc.stdout)
        with open(os.path.join(self.dir, "report.md")) as f:
            self.assertIn("matplotlib cannot be imported", f.read())
        self.assertFalse(any(os.path.exists(os.path.join(self.dir, p)) for p in PLOTS))
        os.remove(os.path.join(self.dir, "report.md"))
        proc = run([REPORT, self.dir, "--require-plots"], env=env)
        self.assertEqual(proc.returncode, 1)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "report.md")))

    def test_no_results_is_an_error(self):
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        proc = run([REPORT, empty])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no benchmark results", proc.stderr)
        self.assertNotEqual(run([REPORT, os.path.join(self.tmp, "missing")]).returncode, 0)

    def test_failed_benchmark_is_an_error(self):
        path = os.path.join(self.dir, "trident_bench_tasks.json")
        with open(path) as f:
            data = json.load(f)
        for b in data["benchmarks"]:
            if b["run_name"].startswith("io_tasks/trident_blocking_pool"):
                b.update(error_occurred=True, error_message="a task's result differs")
        with open(path, "w") as f:
            json.dump(data, f)
        proc = run([REPORT, self.dir, "--no-plots"])
        self.assertEqual(proc.returncode, 1)
        self.assertIn("FAILED io_tasks/trident_blocking_pool", proc.stdout)
        with open(os.path.join(self.dir, "report.md")) as f:
            md = f.read()
        io = row_of(claims_rows(md), "io_tasks")
        self.assertEqual(io[COL["parallel"]], "FAILED")
        self.assertIn("a task's result differs", io[COL["why"]])


class PythonPeers(unittest.TestCase):
    def numpy_rows(self, python, env=None):
        tmp = tempfile.mkdtemp(prefix="trident-numpy-")
        try:
            out = os.path.join(tmp, "python_peers.json")
            proc = subprocess.run([python, PEERS, "--quick", "--threads", "2", "--out", out], capture_output=True,
                                  text=True, timeout=120, env=env, cwd=ROOT)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(out) as f:
                rows = [b for b in json.load(f)["benchmarks"] if b["run_name"] == "gemm/python_numpy"]
            return rows, proc.stderr
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_numpy_gemm_row(self):
        """np.dot on claim 5's matrices: a median with GFLOP/s, the BLAS named in the label."""
        python = next((p for p in (sys.executable, "/usr/bin/python3")
                       if subprocess.run([p, "-c", "import numpy"], capture_output=True).returncode == 0), None)
        if python is None:
            self.skipTest("NumPy is not installed for any Python here (Debian: python3-numpy)")
        rows, _ = self.numpy_rows(python)
        median = [b for b in rows if b.get("aggregate_name") == "median"]
        self.assertEqual(len(median), 1, rows)
        self.assertGreater(median[0]["GFLOP/s"], 0)
        self.assertEqual(median[0]["threads"], 2.0)
        self.assertEqual(median[0]["n"], 512.0)
        self.assertIn("np.dot on 512 x 512 doubles", median[0]["label"])
        self.assertIn("BLAS: ", median[0]["label"])

    def test_numpy_missing_leaves_the_row_out(self):
        """Without NumPy (an import that fails), the loop's rows still come and the gemm row is left out."""
        tmp = tempfile.mkdtemp(prefix="trident-no-numpy-")
        try:
            os.makedirs(os.path.join(tmp, "numpy"))
            with open(os.path.join(tmp, "numpy", "__init__.py"), "w") as f:
                f.write("raise ImportError('no NumPy in this test')\n")
            rows, err = self.numpy_rows(sys.executable, dict(os.environ, PYTHONPATH=tmp))
            self.assertEqual(rows, [])
            self.assertIn("NumPy is not installed", err)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_json_shape_and_report(self):
        tmp = tempfile.mkdtemp(prefix="trident-peers-")
        try:
            out = os.path.join(tmp, "python_peers.json")
            proc = run([PEERS, "--quick", "--threads", "2", "--out", out], timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(out) as f:
                data = json.load(f)
            self.assertEqual(set(data), {"context", "benchmarks"})
            self.assertEqual(data["context"]["python_version"].split(".")[0], "3")
            # The lecture's loop; the NumPy gemm row comes only where NumPy is installed (its own test below).
            loop = [b for b in data["benchmarks"] if b["run_name"].startswith("cpu_bound_loop/")]
            medians = {b["run_name"]: b for b in loop if b.get("aggregate_name") == "median"}
            names = [f"cpu_bound_loop/{n}" for n in ("python_sequential", "python_threads", "python_processes")]
            self.assertEqual(sorted(medians), sorted(names))
            for name in names:
                b = medians[name]
                self.assertEqual(b["run_type"], "aggregate")
                self.assertEqual(b["time_unit"], "ms")
                self.assertGreater(b["real_time"], 0)
                self.assertIsInstance(b["threads"], float)
                self.assertTrue(b["label"].startswith("Python 3."), b["label"])
                self.assertIn(b["label"].split(":")[0].split(", ", 1)[1], ("GIL", "free-threaded (no GIL)"))
            self.assertEqual(medians["cpu_bound_loop/python_threads"]["threads"], 2.0)
            self.assertEqual(medians["cpu_bound_loop/python_sequential"]["threads"], 1.0)
            iterations = [b for b in loop if b["run_type"] == "iteration"]
            self.assertEqual(len(iterations), 3)

            proc = run([REPORT, tmp, "--no-plots"])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(os.path.join(tmp, "report.md")) as f:
                rows = claims_rows(f.read())
            threads = row_of(rows, "cpu_bound_loop", "thread pool")
            seq_ms = medians["cpu_bound_loop/python_sequential"]["real_time"]
            thr_ms = medians["cpu_bound_loop/python_threads"]["real_time"]
            self.assertEqual(threads[COL["measured speedup"]], f"{seq_ms / thr_ms:.2f}x")
            self.assertEqual(threads[COL["why"]], medians["cpu_bound_loop/python_threads"]["label"])
            self.assertEqual(row_of(rows, "cpu_bound_loop", "C++")[COL["sequential"]], "not run")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class Registry(unittest.TestCase):
    def test_claims(self):
        ids = [c.id for c in claims.CLAIMS]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(ids, ["1", "2", "3", "4", "5", "6", "7a", "7b"])
        self.assertTrue(all(c.built for c in claims.CLAIMS[:6]))
        self.assertFalse(claims.CLAIMS[6].built)  # 7a: planned
        self.assertTrue(claims.CLAIMS[7].built)   # 7b: benchmarks/bench_model.cpp
        for name in ("lecture_batches", "lecture_pipeline", "lecture_pipeline_train_replicated", "io_tasks",
                     "cpu_bound_loop", "gemm", "monte_carlo", "image_filter", "model_pipeline_p2",
                     "model_pipeline_p4"):
            self.assertIn(name, claims.workloads())



def edit_fixture(directory, workload_impl, aggregate, **fields):
    """Sets fields of the rows of workload/impl (aggregate: "median", "cv", ... or None for every row) in
    the lecture fixture copied to directory."""
    path = os.path.join(directory, "trident_bench_lecture.json")
    with open(path) as f:
        data = json.load(f)
    for b in data["benchmarks"]:
        if b["run_name"] == workload_impl + "/real_time" and aggregate in (None, b.get("aggregate_name")):
            b.update(fields)
    with open(path, "w") as f:
        json.dump(data, f)


class RowsThatCannotBeTrusted(unittest.TestCase):
    """A row whose repetitions vary, whose speedup exceeds the ideal, on which explain found other
    processes, or measured while the load was above the cores says it cannot be trusted, with the
    reason, instead of its explanation; the load is recorded in the header."""

    def report(self, edit=None, load=None):
        tmp = tempfile.mkdtemp(prefix="trident-report-trust-")
        self.addCleanup(shutil.rmtree, tmp, True)
        directory = os.path.join(tmp, "results")
        shutil.copytree(FIXTURE, directory)
        if edit:
            edit(directory)
        if load is not None:
            with open(os.path.join(directory, "loadavg.txt"), "w") as f:
                f.write(load)
        proc = run([REPORT, directory, "--no-plots"])
        self.assertEqual(proc.returncode, 0, proc.stderr + proc.stdout)
        with open(os.path.join(directory, "report.md")) as f:
            md = f.read()
        return md, claims_rows(md), proc.stdout

    def test_the_fixture_is_trusted_and_its_load_recorded(self):
        md, rows, _ = self.report()
        self.assertIn("- load average (1 min) at the start -> end of each binary, on 2 cores: "
                      "trident_bench_lecture 0.50 -> 1.90; trident_bench_tasks 1.85 -> 1.10", md)
        self.assertNotIn("cannot be trusted:", md.split("## Claims", 1)[1].split("Measured speedup =", 1)[0])
        self.assertEqual(row_of(rows, "lecture_batches")[COL["why"]], LABEL)

    def test_high_cv(self):
        md, rows, out = self.report(lambda d: edit_fixture(d, "lecture_batches/trident_par", "cv", real_time=0.12))
        self.assertEqual(row_of(rows, "lecture_batches")[COL["why"]],
                         "cannot be trusted: trident_par's repetitions vary (cv 12.0%)")
        self.assertIn("why: cannot be trusted: trident_par's repetitions vary (cv 12.0%)", out)
        section = md.split("## Claim 1:", 1)[1].split("## Claim 2:", 1)[0]
        self.assertIn("| 12.0% | 1.92x vs seq_loop | 2 | 2.00x | 96.2% | cannot be trusted: trident_par's repetitions "
                      "vary (cv 12.0%) |", section)
        self.assertNotIn(LABEL, section.split("Rows of", 1)[0])

    def test_speedup_above_the_ideal(self):
        # 1000 / 400 = 2.50x against an ideal of 2: 25% above
        md, rows, _ = self.report(lambda d: edit_fixture(d, "lecture_batches/trident_par", "median", real_time=400.0))
        why = row_of(rows, "lecture_batches")[COL["why"]]
        self.assertTrue(why.startswith("cannot be trusted: speedup 2.50x above the ideal 2.00x"), why)
        # 2% above the ideal is within the noise: trusted
        md, rows, _ = self.report(lambda d: edit_fixture(d, "lecture_batches/trident_par", "median", real_time=490.0))
        self.assertEqual(row_of(rows, "lecture_batches")[COL["why"]], LABEL)

    def test_other_processes_found_by_explain(self):
        md, rows, _ = self.report(lambda d: edit_fixture(d, "lecture_batches/trident_par", None,
                                                         explain_other_processes=0.35,
                                                         explain_sequential_off_cpu=0.02))
        self.assertEqual(row_of(rows, "lecture_batches")[COL["why"]],
                         "cannot be trusted: other processes took 35% of trident_par's workers' time")
        md, rows, _ = self.report(lambda d: edit_fixture(d, "lecture_batches/trident_par", None,
                                                         explain_other_processes=0.03,
                                                         explain_sequential_off_cpu=0.25))
        self.assertEqual(row_of(rows, "lecture_batches")[COL["why"]],
                         "cannot be trusted: other processes took 25% of the sequential reference's time")

    def test_busy_machine_by_load(self):
        load = ("trident_bench_lecture start 4.10 3.00 2.00 5/200 1\ntrident_bench_lecture end 3.90 3.50 2.50 6/200 2\n"
                "trident_bench_tasks start 0.20 0.20 0.20 1/200 3\ntrident_bench_tasks end 0.90 0.30 0.20 1/200 4\n")
        md, rows, _ = self.report(load=load)
        self.assertIn("trident_bench_lecture 4.10 -> 3.90; trident_bench_tasks 0.20 -> 0.90", md)
        self.assertIn("- the machine was busy: load above 2.5 at the start and end of trident_bench_lecture", md)
        self.assertEqual(row_of(rows, "lecture_batches")[COL["why"]],
                         "cannot be trusted: the machine was busy during trident_bench_lecture (load average above "
                         "the cores)")
        self.assertFalse(row_of(rows, "io_tasks")[COL["why"]].startswith("cannot be trusted"))  # trident_bench_tasks

    def test_load_not_recorded(self):
        def strip(directory):
            os.remove(os.path.join(directory, "loadavg.txt"))
            for name in ("trident_bench_lecture.json", "trident_bench_tasks.json"):
                path = os.path.join(directory, name)
                with open(path) as f:
                    data = json.load(f)
                data["context"].pop("load_avg", None)
                with open(path, "w") as f:
                    json.dump(data, f)
        md, _, _ = self.report(strip)
        self.assertIn("- load: not recorded", md)
        # Older runs: the start from Google Benchmark's context, the end not recorded.
        md, _, _ = self.report(lambda d: os.remove(os.path.join(d, "loadavg.txt")))
        self.assertIn("trident_bench_lecture 0.50 -> not recorded", md)


if __name__ == "__main__":
    unittest.main()
