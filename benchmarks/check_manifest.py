#!/usr/bin/env python3
"""Checks the benchmark manifest (benchmarks/manifest/*.toml) against the benchmarks themselves.

    python3 benchmarks/check_manifest.py [--manifest DIR] PROGRAM...

PROGRAM is a benchmark binary (trident_bench_*) or a Python script that answers
--benchmark_list_tests=true the same way (benchmarks/python_peers.py).  Each one is asked for the
names of its benchmarks ("<workload>/<implementation>[/<arg>...]"), and the check fails (exit 1),
naming the file and the entry to fix, when

- a listed benchmark's workload has no entry in the manifest, or is a planned one (planned.toml);
- a workload of a manifest file that names a PROGRAM as its `binary` is not listed by it;
- a target or a claim row names an implementation (or an argument) that no PROGRAM lists.

A program that lists nothing (trident_bench_gpu on a machine without a GPU) is reported and its
workloads left unchecked, as are the rows of a claim's `gpu` lists (and the targets that read
them) until some program lists one of them.  Run by CTest in a build with the benchmarks (benchmarks.manifest) and, for the Python peers,
by tests/report/test_manifest.py.  Standard library only.
"""
import argparse
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets as target_checks  # noqa: E402
import workloads as manifest  # noqa: E402

# Name parts Google Benchmark appends that are not arguments (as benchmarks/report.py).
NAME_SUFFIXES = ("real_time", "process_time", "manual_time")
NAME_PREFIXES = ("min_time:", "min_warmup_time:", "repeats:", "iterations:")


def parse(name):
    """'overhead/tbb/1000/real_time' -> ('overhead', 'tbb', '1000')."""
    parts = [p for p in name.split("/") if p and p not in NAME_SUFFIXES and not p.startswith(NAME_PREFIXES)]
    return (parts[0], parts[1] if len(parts) > 1 else "-", "/".join(parts[2:]) or None)


def program_name(path):
    return os.path.splitext(os.path.basename(path))[0]


def list_benchmarks(path):
    """The benchmark names a program lists: [name].  Raises RuntimeError when it cannot be run."""
    cmd = [sys.executable, path] if path.endswith(".py") else [path]
    try:
        proc = subprocess.run(cmd + ["--benchmark_list_tests=true"], capture_output=True, text=True, timeout=120)
    except OSError as e:
        raise RuntimeError(f"{path}: cannot run it: {e}") from e
    if proc.returncode != 0:
        raise RuntimeError(f"{path} --benchmark_list_tests=true exited with {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout).strip()[:500]}")
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    # trident_bench_gpu on a machine without a GPU prints "trident_bench_gpu: no GPU (...)" and exits 0.
    if len(lines) == 1 and lines[0].startswith(program_name(path) + ": no GPU"):
        return []
    return lines


def claim_references(w):
    """The rows a workload's claim reads: [(workload, implementation, is_gpu)]."""
    out = []
    for row in (w.claim or {}).get("rows", []):
        out.append((row.get("sequential_from", w.name), row.get("sequential", "seq_loop"), False))
        out.append((w.name, row.get("parallel", "trident_par"), False))
        out += [(w.name, i, False) for i in row.get("peers", [])]
        out += [(w.name, i, False) for i in row.get("baselines", {}).values()]
        out += [(w.name, i, True) for i in row.get("gpu", [])]
    return out


def check(workloads, listed):
    """listed: {program name: [benchmark names]}.  Returns (errors, notes): lists of sentences."""
    errors, notes = [], []
    by_name = {w.name: w for w in workloads}
    rel = lambda w: os.path.relpath(w.path)
    rows = set()  # (workload, impl, arg) of every listed benchmark
    for prog, names in listed.items():
        if not names:
            owned = [w.name for w in workloads if w.binary == prog]
            notes.append(f"{prog} lists no benchmarks (a GPU binary without a GPU?): "
                         f"{len(owned)} workload(s) of the manifest not checked against it")
            continue
        unknown = {}  # workload -> its listed names, for the workloads without a (built) entry
        for name in names:
            w, impl, arg = parse(name)
            rows.add((w, impl, arg))
            if w not in by_name or not by_name[w].built:
                unknown.setdefault(w, []).append(name)
        for w, ns in unknown.items():
            listing = f"{prog} lists {ns[0]}" + (f" (and {len(ns) - 1} more of {w})" if len(ns) > 1 else "")
            if w not in by_name:
                errors.append(f"{listing}, but no benchmarks/manifest/*.toml has a [{w}] entry: add one to the theme "
                              f"file of {prog} (benchmarks/README.md)")
            else:
                errors.append(f"{listing}, but [{w}] is planned ({rel(by_name[w])}, no binary): move the entry to "
                              f"the theme file of {prog}")
    listed_workloads = {r[0] for r in rows}
    for w in workloads:
        if w.binary in listed and listed[w.binary] and w.name not in listed_workloads:
            errors.append(f"{rel(w)}: [{w.name}] is not listed by {w.binary} (renamed or removed? the entry names "
                          f"the workload as its benchmarks do)")
    gpu_impls = {(w.name, i) for w in workloads if w.built for (_, i, g) in claim_references(w) if g}
    gpu_checked = any((r[0], r[1]) in gpu_impls for r in rows)
    for w in workloads:
        if not w.built or w.binary not in listed or not listed[w.binary]:
            continue
        # A target on a claim's GPU row (gemm: trident_gemm_gpu against cublas) waits for the GPU rows too.
        refs = [(f"target {t.check}", r) for t in w.targets for r in target_checks.references(w.name, t)
                if gpu_checked or (r[0], r[1]) not in gpu_impls]
        refs += [("claim", (rw, i, None)) for rw, i, g in claim_references(w) if not g or gpu_checked]
        for what, (rw, impl, arg) in refs:
            found = any(r[0] == rw and (impl is None or r[1] == impl) and (arg is None or r[2] == str(arg))
                        for r in rows)
            if not found:
                row = rw + (f"/{impl}" if impl else "") + (f"/{arg}" if arg is not None else "")
                errors.append(f"{rel(w)}: [{w.name}] {what} reads {row}, which no program lists "
                              f"({', '.join(sorted(listed))})")
    if not gpu_checked and gpu_impls:
        notes.append("no program listed a GPU row: the claims' gpu rows ("
                     + ", ".join(sorted(f"{w}/{i}" for w, i in gpu_impls)) + ") not checked")
    return errors, notes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default=manifest.MANIFEST_DIR, help="the manifest directory")
    parser.add_argument("programs", nargs="+", help="benchmark binaries, or benchmarks/python_peers.py")
    args = parser.parse_args(argv)
    try:
        workloads = manifest.load(args.manifest)
        listed = {program_name(p): list_benchmarks(p) for p in args.programs}
    except (manifest.ManifestError, RuntimeError) as e:
        print(f"check_manifest: {e}", file=sys.stderr)
        return 1
    errors, notes = check(workloads, listed)
    for n in notes:
        print(f"check_manifest: note: {n}")
    for e in errors:
        print(f"check_manifest: {e}", file=sys.stderr)
    count = sum(len(v) for v in listed.values())
    if errors:
        print(f"check_manifest: {len(errors)} mismatch(es) between {os.path.relpath(args.manifest)} and the "
              f"{count} benchmarks of {len(listed)} program(s)", file=sys.stderr)
        return 1
    print(f"check_manifest: {os.path.relpath(args.manifest)} matches the {count} benchmarks of {len(listed)} "
          f"program(s): {', '.join(listed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
