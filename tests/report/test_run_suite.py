"""Tests of benchmarks/run-suite.sh's exit status (what `scripts/trident bench` passes on).

    python3 -m unittest discover -s tests/report -v        (CTest: report.generator)

The suite runs every trident_bench_* executable of a build directory.  Here the build directory
holds stand-ins written as shell scripts: one that behaves like a Google Benchmark binary (lists
one benchmark, prints its row, writes a JSON file to --benchmark_out) and one that crashes with
SIGSEGV after starting its benchmark.  Standard library only; needs bash.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUN_SUITE = os.path.join(ROOT, "benchmarks", "run-suite.sh")

RESULT = {
    "context": {"date": "2026-11-24T00:00:00+00:00", "num_cpus": 2, "cores": "2", "tbb_max_concurrency": "2"},
    "benchmarks": [{"name": "work/seq_loop/real_time", "run_name": "work/seq_loop/real_time",
                    "run_type": "iteration", "repetitions": 1, "repetition_index": 0, "threads": 1,
                    "iterations": 10, "real_time": 1.5, "cpu_time": 1.5, "time_unit": "ms"}],
}

GOOD = """#!/bin/sh
out=""
for a in "$@"; do
  case $a in
    --benchmark_list_tests=true) echo work/seq_loop; exit 0 ;;
    --benchmark_out=*) out=${a#--benchmark_out=} ;;
  esac
done
echo "work/seq_loop/real_time       1.50 ms         1.50 ms           10"
cat > "$out" <<'JSON'
%s
JSON
""" % json.dumps(RESULT)

CRASHING = """#!/bin/sh
for a in "$@"; do
  case $a in --benchmark_list_tests=true) echo crash/now; exit 0 ;; esac
done
echo "starting crash/now"
kill -SEGV $$
"""


# Three benchmarks of about 2 s each, for the progress line's estimate of the time left.
SLOW = """#!/bin/sh
out=""
for a in "$@"; do
  case $a in
    --benchmark_list_tests=true) printf 'slow/a\\nslow/b\\nslow/c\\n'; exit 0 ;;
    --benchmark_out=*) out=${a#--benchmark_out=} ;;
  esac
done
for b in a b c; do
  sleep 2
  echo "slow/$b/real_time       2000 ms         1.00 ms           1"
done
cat > "$out" <<'JSON'
%s
JSON
""" % json.dumps(RESULT)

PROGRESS = re.compile(r"^\[(\d+)/(\d+) benchmarks, (\d+)m(\d\d)s(?:, ETA (\d+)m(\d\d)s)?\] (\S+): (.*)$")


def write_executable(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@unittest.skipUnless(shutil.which("bash"), "run-suite.sh needs bash")
class RunSuiteExitStatus(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="trident-run-suite-")
        self.build = os.path.join(self.tmp, "build")
        self.out = os.path.join(self.tmp, "out")
        os.makedirs(self.build)
        write_executable(os.path.join(self.build, "trident_bench_good"), GOOD)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_suite(self):
        return subprocess.run(["bash", RUN_SUITE, self.build, self.out], capture_output=True, text=True,
                              timeout=120, cwd=ROOT)

    def test_all_benchmarks_pass(self):
        proc = self.run_suite()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("== trident_bench_good: done", proc.stdout)
        with open(os.path.join(self.out, "trident_bench_good.json")) as f:
            self.assertEqual(json.load(f)["benchmarks"][0]["real_time"], 1.5)
        self.assertTrue(os.path.isfile(os.path.join(self.out, "summary.md")))

    def test_a_crashing_benchmark_fails_the_suite_and_the_rest_is_kept(self):
        write_executable(os.path.join(self.build, "trident_bench_crash"), CRASHING)
        proc = self.run_suite()
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        # The crash is named, with its exit status (128 + SIGSEGV) and log; the good binary still ran.
        self.assertIn("== trident_bench_crash: FAILED (exit 139)", proc.stdout)
        self.assertIn("starting crash/now", proc.stdout)
        self.assertIn("== trident_bench_good: done", proc.stdout)
        self.assertTrue(os.path.isfile(os.path.join(self.out, "trident_bench_good.json")))
        self.assertTrue(os.path.isfile(os.path.join(self.out, "trident_bench_crash.log")))

    def test_progress_lines_estimate_the_time_left(self):
        os.remove(os.path.join(self.build, "trident_bench_good"))
        write_executable(os.path.join(self.build, "trident_bench_slow"), SLOW)
        proc = self.run_suite()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        lines = [m for m in map(PROGRESS.match, proc.stdout.splitlines()) if m]
        # Not a terminal: one line at the start and one per finished benchmark.
        self.assertEqual([(int(m[1]), int(m[2]), m[8]) for m in lines],
                         [(0, 3, "starting"), (1, 3, "slow/a"), (2, 3, "slow/b"), (3, 3, "slow/c")], proc.stdout)
        for m in lines:
            done, total, elapsed = int(m[1]), int(m[2]), int(m[3]) * 60 + int(m[4])
            if 0 < done < total:
                # The mean time per finished benchmark x the benchmarks left, from the line's own figures.
                self.assertIsNotNone(m[5], m[0])
                self.assertEqual(int(m[5]) * 60 + int(m[6]), elapsed * (total - done) // done, m[0])
            else:
                self.assertIsNone(m[5], m[0])  # nothing finished yet to estimate from, or nothing left
        # Each benchmark takes about 2 s: after the first, about 4 s are left.
        first = lines[1]
        self.assertGreaterEqual(int(first[5]) * 60 + int(first[6]), 2, first[0])

    def test_no_benchmarks_is_a_usage_error(self):
        os.remove(os.path.join(self.build, "trident_bench_good"))
        proc = self.run_suite()
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("no trident_bench_* binaries", proc.stderr)


if __name__ == "__main__":
    unittest.main()
