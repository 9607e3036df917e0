"""Tests of the benchmark manifest (benchmarks/manifest/*.toml, read by benchmarks/workloads.py) and of
its check against the benchmarks (benchmarks/check_manifest.py).

    python3 -m unittest discover -s tests/report -v        (CTest: report.generator)

Nothing here needs the benchmarks built: the manifest is read and checked against the Python peers'
list (benchmarks/python_peers.py --benchmark_list_tests), the benchmark names written literally in
the sources (all of the GPU binary's), and stand-in programs that list benchmarks as Google Benchmark
binaries do.  The full check against the built binaries is the CTest benchmarks.manifest of a build
with the benchmarks (ctest --test-dir build/bench -L manifest; the bench workflow runs it), not
here: binaries left in a build directory by an older checkout would fail it for no fault of this one.
Standard library only; Python 3.11 or later (tomllib).
"""
import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BENCH = os.path.join(ROOT, "benchmarks")
CHECK = os.path.join(BENCH, "check_manifest.py")
PEERS = os.path.join(BENCH, "python_peers.py")

sys.dont_write_bytecode = True
sys.path.insert(0, BENCH)
import claims  # noqa: E402
import workloads  # noqa: E402


def read(path):
    with open(path) as f:
        return f.read()


def run_check(*args):
    return subprocess.run([sys.executable, CHECK, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


class RealManifest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workloads = workloads.load()
        cls.by_name = {w.name: w for w in cls.workloads}

    def test_every_claim_comes_from_the_manifest(self):
        ids = [c.id for c in claims.CLAIMS]
        self.assertEqual(ids, sorted(ids, key=claims._claim_key))
        self.assertEqual(len(ids), len(set(ids)))
        for claim in claims.CLAIMS:
            for comp in claim.comparisons:
                self.assertIn(comp.workload, self.by_name)
                self.assertEqual(self.by_name[comp.workload].claim["id"], claim.id)

    def test_every_theme_source_has_its_manifest_file(self):
        """benchmarks/bench_<theme>.cpp builds trident_bench_<theme> (benchmarks/CMakeLists.txt), described
        by manifest/<theme>.toml; every binary the manifest names is built by some CMakeLists.txt."""
        themes = {os.path.basename(p)[len("bench_"):-len(".cpp")] for p in glob.glob(os.path.join(BENCH, "bench_*.cpp"))}
        self.assertTrue(themes)
        binaries = {w.theme: w.binary for w in self.workloads}
        for theme in sorted(themes):
            self.assertEqual(binaries.get(theme), f"trident_bench_{theme}",
                             f"benchmarks/bench_{theme}.cpp: benchmarks/manifest/{theme}.toml should say "
                             f'binary = "trident_bench_{theme}"')
        cmake = "".join(read(p) for p in glob.glob(os.path.join(BENCH, "**", "CMakeLists.txt"), recursive=True))
        for binary in workloads.binaries(self.workloads):
            theme = binary[len("trident_bench_"):]
            self.assertTrue(theme in themes or f"add_executable({binary} " in cmake,
                            f"the manifest names {binary}, which no benchmarks/**/CMakeLists.txt builds")

    def test_literal_benchmark_names_in_the_sources_have_entries(self):
        """The names written out in the sources (->Name("w/impl"), BENCHMARK_CAPTURE(w, impl, ...)): every
        one of the GPU binary's, which cannot list its benchmarks without a GPU."""
        found = {}
        for path in glob.glob(os.path.join(BENCH, "**", "*.c[pu]*"), recursive=True):
            text = read(path)
            for w in re.findall(r'->Name\("([A-Za-z0-9_]+)/', text) + re.findall(r"BENCHMARK_CAPTURE\((\w+),", text):
                found.setdefault(w, os.path.relpath(path, ROOT))
        self.assertIn("gpu_pipeline", found)  # the patterns still match the sources
        for w, path in sorted(found.items()):
            self.assertTrue(w in self.by_name, f"{path} names a benchmark of workload {w}, which has no manifest entry")
        gpu = [w.name for w in self.workloads if w.binary == "trident_bench_gpu"]
        self.assertTrue(gpu)
        for w in gpu:
            self.assertTrue(w in found, f"benchmarks/manifest/gpu.toml: [{w}] is named in no benchmarks/gpu source")

    def test_python_peers_match(self):
        """python_peers.py lists exactly the Python rows the claims read (and each has an entry)."""
        proc = run_check(PEERS)
        self.assertEqual(proc.returncode, 0, proc.stderr + proc.stdout)
        self.assertIn("matches the 4 benchmarks of 1 program(s): python_peers", proc.stdout)
        listed = subprocess.run([sys.executable, PEERS, "--benchmark_list_tests=true"], capture_output=True,
                                text=True, timeout=60, check=True).stdout.split()
        read = sorted({f"{c.workload}/{i}" for claim in claims.CLAIMS for c in claim.comparisons
                       for i in claims.implementations(c) if i in claims.PYTHON_PEERS})
        self.assertEqual(sorted(listed), read)


STAND_IN = """#!/bin/sh
for a in "$@"; do
  [ "$a" = --benchmark_list_tests=true ] && { cat <<'EOF'
%s
EOF
  exit 0; }
done
exit 3
"""

DEMO = """
binary = "trident_bench_demo"
summary_order = 1

[alpha]
description = "a sweep"
targets = [
  { check = "not_slower_than", other = "tbb", arg = 1000 },
]

[beta]
description = "a claim's workload"
[beta.claim]
id = "1"
title = "Demo"
lecture = "a claim"
short = "demo"
rows = [
  { peers = ["omp"], gpu = ["trident_gpu"] },
]
"""

PLANNED = """
[gamma.claim]
id = "2"
title = "Later"
lecture = "a planned claim"
short = "later"
rows = [
  { gpu = ["trident_gpu"] },
]
"""

LISTED = ["alpha/seq_loop/1000/real_time", "alpha/trident_par/1000/real_time", "alpha/tbb/1000/real_time",
          "beta/seq_loop/real_time", "beta/trident_par/real_time", "beta/omp/real_time"]


class CheckAgainstStandIns(unittest.TestCase):
    """check_manifest.py on a small manifest and stand-in programs: it passes when they match and names
    the entry to fix for each kind of mismatch."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="trident-manifest-")
        self.manifest = os.path.join(self.tmp, "manifest")
        os.mkdir(self.manifest)
        self.write("demo.toml", DEMO)
        self.write("planned.toml", PLANNED)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        with open(os.path.join(self.manifest, name), "w") as f:
            f.write(textwrap.dedent(text))

    def program(self, name, lines):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(STAND_IN % "\n".join(lines))
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path

    def check(self, *programs):
        return run_check("--manifest", self.manifest, *programs)

    def test_matching_lists_pass(self):
        proc = self.check(self.program("trident_bench_demo", LISTED))
        self.assertEqual(proc.returncode, 0, proc.stderr + proc.stdout)
        self.assertIn("matches the 6 benchmarks of 1 program(s)", proc.stdout)
        self.assertIn("gpu rows (beta/trident_gpu) not checked", proc.stdout)

    def test_a_benchmark_without_an_entry_fails(self):
        proc = self.check(self.program("trident_bench_demo", LISTED + ["delta/trident_par/real_time"]))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("trident_bench_demo lists delta/trident_par/real_time, but no benchmarks/manifest/*.toml has "
                      "a [delta] entry", proc.stderr)

    def test_an_entry_its_binary_does_not_list_fails(self):
        proc = self.check(self.program("trident_bench_demo", LISTED[:3]))
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(proc.stderr, r"demo\.toml: \[beta\] is not listed by trident_bench_demo")

    def test_a_target_reading_a_missing_row_fails(self):
        lines = [n.replace("alpha/tbb/1000/", "alpha/tbb/1000000/") for n in LISTED]
        proc = self.check(self.program("trident_bench_demo", lines))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("[alpha] target not_slower_than reads alpha/tbb/1000, which no program lists", proc.stderr)

    def test_a_claim_reading_a_missing_row_fails(self):
        proc = self.check(self.program("trident_bench_demo", [n for n in LISTED if "omp" not in n]))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("[beta] claim reads beta/omp, which no program lists", proc.stderr)

    def test_a_planned_workload_that_is_listed_fails(self):
        proc = self.check(self.program("trident_bench_demo", LISTED + ["gamma/trident_gpu"]))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("but [gamma] is planned", proc.stderr)

    def test_gpu_rows_are_checked_once_a_gpu_program_lists_one(self):
        demo = self.program("trident_bench_demo", LISTED)
        no_gpu = self.program("trident_bench_gpu", ["trident_bench_gpu: no GPU (no CUDA device): nothing to run"])
        proc = self.check(demo, no_gpu)
        self.assertEqual(proc.returncode, 0, proc.stderr + proc.stdout)
        self.assertIn("trident_bench_gpu lists no benchmarks", proc.stdout)
        # A target comparing two GPU rows waits for them as the claim does (lecture.toml's gemm).
        self.write("demo.toml", DEMO.replace('description = "a claim\'s workload"',
                                             'description = "a claim\'s workload"\ntargets = [{ check = '
                                             '"not_slower_than", impl = "trident_gpu", other = "omp" }]'))
        proc = self.check(demo, no_gpu)
        self.assertEqual(proc.returncode, 0, proc.stderr + proc.stdout)
        self.write("demo.toml", DEMO)
        gpu = self.program("trident_bench_gpu", ["beta/trident_gpu/manual_time"])
        self.assertEqual(self.check(demo, gpu).returncode, 0)
        self.write("demo.toml", DEMO.replace('gpu = ["trident_gpu"]', 'gpu = ["trident_gpu", "cublas"]'))
        proc = self.check(demo, gpu)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("[beta] claim reads beta/cublas", proc.stderr)

    def test_a_program_that_cannot_list_fails(self):
        proc = self.check(os.path.join(self.tmp, "trident_bench_missing"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("cannot run it", proc.stderr)


class MalformedManifest(unittest.TestCase):
    """A manifest that does not say what the README says is an error naming the file and the key."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="trident-manifest-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def load(self, **files):
        for name, text in files.items():
            with open(os.path.join(self.tmp, name + ".toml"), "w") as f:
                f.write(textwrap.dedent(text))
        with self.assertRaises(workloads.ManifestError) as cm:
            workloads.load(self.tmp)
        return str(cm.exception)

    def test_unknown_key(self):
        msg = self.load(demo='binary = "b"\n[alpha]\ndescription = "d"\ndescripton = "typo"\n')
        self.assertIn("demo.toml: [alpha]: unknown key(s) descripton", msg)

    def test_unknown_check(self):
        msg = self.load(demo='binary = "b"\n[alpha]\ndescription = "d"\ntargets = [{ check = "faster" }]\n')
        self.assertIn("[alpha] targets[0]: unknown check 'faster'", msg)

    def test_check_arguments(self):
        msg = self.load(demo='binary = "b"\n[alpha]\ndescription = "d"\ntargets = [{ check = "not_slower_than", othr = "tbb" }]\n')
        self.assertIn("[alpha] targets[0]: not_slower_than(other,", msg)

    def test_claim_without_its_text(self):
        msg = self.load(demo='binary = "b"\n[alpha]\ndescription = "d"\n[alpha.claim]\nid = "3"\nrows = [{}]\n')
        self.assertIn("no entry gives claim 3's title", msg)

    def test_claim_text_twice(self):
        claim = '[{w}]\ndescription = "d"\n[{w}.claim]\nid = "3"\ntitle = "t"\nlecture = "l"\nshort = "s"\nrows = [{{}}]\n'
        msg = self.load(demo='binary = "b"\n' + claim.format(w="alpha") + claim.format(w="beta"))
        self.assertIn("claim 3's text is also in [alpha.claim]", msg)

    def test_workload_in_two_files(self):
        msg = self.load(one='binary = "b"\n[alpha]\ndescription = "d"\n', two='binary = "c"\n[alpha]\ndescription = "d"\n')
        self.assertIn("[alpha]: also in", msg)

    def test_workload_without_description(self):
        msg = self.load(demo='binary = "b"\n[alpha]\ntargets = []\n')
        self.assertIn("demo.toml: [alpha]: `description` (one line: what the workload computes) is required", msg)

    def test_planned_workload_without_claim(self):
        msg = self.load(planned='[alpha]\ndescription = "d"\n')
        self.assertIn("a workload without a binary (planned) has a claim and no targets", msg)


if __name__ == "__main__":
    unittest.main()
