#!/usr/bin/env python3
"""The lecture's CPU-bound Python loop, run sequentially, on a thread pool and on a process pool.

    python3 benchmarks/python_peers.py [--out FILE] [--threads N] [--quick | --full] [--repetitions R]

The lecture times a pure-Python loop, s += sqrt(i) * sin(i), as tasks submitted to a
ThreadPoolExecutor and shows that the threads take turns under the GIL.  This script runs the same
fixed amount of that work three ways:

    cpu_bound_loop/python_sequential   the tasks one after another on the calling thread
    cpu_bound_loop/python_threads      concurrent.futures.ThreadPoolExecutor(max_workers=N)
    cpu_bound_loop/python_processes    concurrent.futures.ProcessPoolExecutor(max_workers=N)

and claim 5's matrix product the lecture's way, with NumPy:

    gemm/python_numpy                  np.dot(A, B) on the n x n doubles of benchmarks/bench_lecture.cpp's
                                       gemm rows (lecture_workloads.hpp: 512, 1024 with --full), the
                                       lecture's "C-speed matrix multiplication"; counter GFLOP/s, the
                                       label names the BLAS library NumPy loaded.  Left out (with a
                                       message) when NumPy is not installed for this Python.

N is the number of cores this process may run on, or --threads N (for NumPy: OPENBLAS_NUM_THREADS,
unless the environment sets it).  The work is 8 of the lecture's
tasks of 2,000,000 iterations (its second demo runs 4; 8 take about 1.5 s sequentially on a 2.6 GHz
core); the tasks are rounded up to a multiple of N with the total kept, --full runs 4 times as much
and --quick 1/40 of it (for tests).
The pools are created inside the timed region, as in the lecture.  Every way runs --repetitions
times (3 by default, 1 with --quick), interleaved.

Writes Google Benchmark-shaped JSON ("context" and "benchmarks": each repetition, then the median,
mean, stddev and cv aggregates, real_time in ms) to FILE (stdout without --out), so that
benchmarks/report.py reads it like the C++ suite's files.  Counters: threads and workers (the pool's
size), tasks, iterations_per_task, ideal_speedup (the tasks over the pool's rounds on the cores
here); the label says which Python ran it and that it has a GIL.  Progress goes to stderr.
Standard library only, and NumPy for the gemm row when it is installed.
"""
import argparse
import concurrent.futures
import datetime
import json
import math
import os
import platform
import socket
import statistics
import sys
import time

WORKLOAD = "cpu_bound_loop"
NAMES = ("python_sequential", "python_threads", "python_processes")  # the ways, "<WORKLOAD>/<name>"
TASKS = 8                       # the lecture's demo runs 4; 8 make the sequential run about 1.5 s
LECTURE_ITERATIONS = 2_000_000  # per task, the lecture's run_cpu_simulation(num_tasks=4, workers=4, n=2_000_000)


def cpu_task(n):
    """The lecture's CPU-bound loop (pure Python: it holds the GIL the whole time)."""
    s = 0.0
    for i in range(1, n + 1):
        s += math.sqrt(i) * math.sin(i)
    return s


def run_sequential(tasks, n, workers):
    return [cpu_task(n) for _ in range(tasks)]


def run_threads(tasks, n, workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as executor:
        return list(executor.map(cpu_task, [n] * tasks))


def run_processes(tasks, n, workers):
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as executor:
        return list(executor.map(cpu_task, [n] * tasks))


GEMM_ROW = "gemm/python_numpy"


def numpy_gemm(n, repetitions, workers):
    """Times np.dot(A, B) on claim 5's n x n doubles: a list of (real ms, cpu ms) per repetition (each
    the mean of enough calls to last about 0.2 s, after one call not timed) and the label; None when
    NumPy cannot be imported."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(workers))  # read when NumPy's BLAS loads
    try:
        import numpy as np
    except ImportError:
        print(f"python_peers: NumPy is not installed for {sys.executable}: {GEMM_ROW} left out "
              "(Debian: python3-numpy)", file=sys.stderr)
        return None
    i = np.arange(n * n, dtype=np.int64)
    a = ((i * 7919) % 1000 / 1000.0).reshape(n, n)  # lecture_workloads.hpp: gemm_a, gemm_b
    b = ((i * 104729) % 1000 / 1000.0).reshape(n, n)
    c = np.dot(a, b)
    expected = math.fsum(float(a[0, j]) * float(b[j, n - 1]) for j in range(n))
    if abs(float(c[0, n - 1]) - expected) > 1e-9 * abs(expected):
        print(f"python_peers: np.dot computed C[0, n-1] = {c[0, n - 1]}, expected {expected}", file=sys.stderr)
        return None
    t0 = time.perf_counter()
    np.dot(a, b)
    calls = max(1, int(0.2 / max(time.perf_counter() - t0, 1e-6)))
    runs = []
    for rep in range(repetitions):
        cpu0, t0 = time.process_time(), time.perf_counter()
        for _ in range(calls):
            np.dot(a, b)
        t1, cpu1 = time.perf_counter(), time.process_time()
        runs.append(((t1 - t0) * 1e3 / calls, (cpu1 - cpu0) * 1e3 / calls))
        print(f"python_peers: {GEMM_ROW}, repetition {rep + 1}/{repetitions}: {runs[-1][0]:.3f} ms a call",
              file=sys.stderr, flush=True)
    blas = "unknown"
    try:  # the BLAS library mapped into this process (Debian: the one libblas.so.3's alternative names)
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        blas = ", ".join(sorted(os.path.realpath(p) for p in paths)) or blas
    except OSError:
        pass
    label = (f"NumPy {np.__version__} np.dot on {n} x {n} doubles, OPENBLAS_NUM_THREADS="
             f"{os.environ['OPENBLAS_NUM_THREADS']}, BLAS: {blas}")
    return runs, label


def usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gil_enabled():
    check = getattr(sys, "_is_gil_enabled", None)  # Python 3.13+: False on a free-threaded build
    return True if check is None else bool(check())


def ideal_speedup(tasks, workers, cores):
    """Equal tasks on a pool of `workers` threads or processes over `cores` cores: the tasks run in
    rounds of min(workers, cores), so the best wall time is ceil(tasks / that) tasks' time."""
    lanes = max(1, min(workers, cores, tasks))
    return tasks / math.ceil(tasks / lanes)


def aggregate(entries, run_name, common):
    times = [e["real_time"] for e in entries]
    cpus = [e["cpu_time"] for e in entries]
    out = []
    stats = [("median", statistics.median), ("mean", statistics.mean),
             ("stddev", lambda v: statistics.stdev(v) if len(v) > 1 else 0.0)]
    for name, fn in stats:
        out.append(dict(common, name=f"{run_name}_{name}", run_name=run_name, run_type="aggregate",
                        aggregate_name=name, aggregate_unit="time", iterations=len(entries),
                        real_time=fn(times), cpu_time=fn(cpus)))
    mean = statistics.mean(times)
    cv = (statistics.stdev(times) / mean) if len(times) > 1 and mean > 0 else 0.0
    cpu_mean = statistics.mean(cpus)
    cpu_cv = (statistics.stdev(cpus) / cpu_mean) if len(cpus) > 1 and cpu_mean > 0 else 0.0
    out.append(dict(common, name=f"{run_name}_cv", run_name=run_name, run_type="aggregate", aggregate_name="cv",
                    aggregate_unit="percentage", iterations=len(entries), real_time=cv, cpu_time=cpu_cv))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="the JSON file to write (default: stdout)")
    parser.add_argument("--threads", type=int, default=0, help="pool size (default: the usable cores)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="1/40 of the default work, 1 repetition (tests)")
    size.add_argument("--full", action="store_true", help="4 times the default work")
    parser.add_argument("--repetitions", type=int, default=0, help="runs of each way (default 3, --quick 1)")
    parser.add_argument("--benchmark_list_tests", nargs="?", const="true", default="false",
                        choices=["true", "false"], help="print the benchmarks' names and exit, as a Google "
                                                        "Benchmark binary does (benchmarks/check_manifest.py)")
    args = parser.parse_args(argv)
    if args.benchmark_list_tests == "true":
        print("\n".join([f"{WORKLOAD}/{name}" for name in NAMES] + [GEMM_ROW]))
        return 0

    cores = usable_cores()
    workers = args.threads if args.threads > 0 else cores
    scale = 1 / 40 if args.quick else 4 if args.full else 1
    total = int(TASKS * LECTURE_ITERATIONS * scale)
    tasks = workers * math.ceil(TASKS / workers)  # a multiple of the pool's size, at least 8
    n = max(1, total // tasks)
    repetitions = args.repetitions if args.repetitions > 0 else 1 if args.quick else 3

    version = platform.python_version()
    gil = gil_enabled()
    py = f"Python {version}, GIL" if gil else f"Python {version}, free-threaded (no GIL)"
    work = f"{tasks} tasks x {n:,} iterations of the lecture's loop s += sqrt(i) * sin(i)"
    ways = [
        (NAMES[0], run_sequential, 1,
         f"{py}: {work}, one after another on the calling thread"),
        (NAMES[1], run_threads, workers,
         f"{py}: the same {tasks} tasks on ThreadPoolExecutor(max_workers={workers})"
         + ("; one thread at a time runs Python bytecode" if gil else "")),
        (NAMES[2], run_processes, workers,
         f"{py}: the same {tasks} tasks on ProcessPoolExecutor(max_workers={workers}), "
         f"an interpreter (and GIL) per process"),
    ]

    runs = {name: [] for name, *_ in ways}
    expected = None
    for rep in range(repetitions):
        for name, fn, pool, _ in ways:
            print(f"python_peers: {name} ({pool} worker{'s' if pool > 1 else ''}), repetition {rep + 1}/{repetitions}",
                  end=" ... ", file=sys.stderr, flush=True)
            cpu0, t0 = time.process_time(), time.perf_counter()
            results = fn(tasks, n, pool)
            t1, cpu1 = time.perf_counter(), time.process_time()
            print(f"{t1 - t0:.3f} s", file=sys.stderr, flush=True)
            if expected is None:
                expected = results
            elif results != expected:  # every way computes the same sums, in the same order
                print(f"python_peers: {name} computed different sums", file=sys.stderr)
                return 1
            runs[name].append(((t1 - t0) * 1e3, (cpu1 - cpu0) * 1e3))

    benchmarks = []
    for family, (name, _, pool, label) in enumerate(ways):
        run_name = f"{WORKLOAD}/{name}"
        common = {
            "family_index": family, "per_family_instance_index": 0, "repetitions": repetitions,
            "threads": float(pool),  # a float: the worker count as a counter (Google Benchmark's own is an int)
            "time_unit": "ms", "label": label,
            "workers": float(pool), "tasks": float(tasks), "iterations_per_task": float(n),
            "ideal_speedup": ideal_speedup(tasks, pool, cores),
        }
        entries = []
        for rep, (real, cpu) in enumerate(runs[name]):
            entries.append(dict(common, name=run_name, run_name=run_name, run_type="iteration",
                                repetition_index=rep, iterations=1, real_time=real, cpu_time=cpu))
        benchmarks += entries + aggregate(entries, run_name, common)

    gemm_n = 512 * (2 if args.full else 1)
    gemm = numpy_gemm(gemm_n, repetitions, workers)
    if gemm is not None:
        gemm_runs, gemm_label = gemm
        flops = 2.0 * gemm_n ** 3
        common = {
            "family_index": len(ways), "per_family_instance_index": 0, "repetitions": repetitions,
            "threads": float(workers), "time_unit": "ms", "label": gemm_label, "n": float(gemm_n),
            "ideal_speedup": float(workers),
        }
        entries = [dict(common, name=GEMM_ROW, run_name=GEMM_ROW, run_type="iteration", repetition_index=rep,
                        iterations=1, real_time=real, cpu_time=cpu, **{"GFLOP/s": flops / (real * 1e-3) * 1e-9})
                   for rep, (real, cpu) in enumerate(gemm_runs)]
        rows = aggregate(entries, GEMM_ROW, common)
        for row in rows:
            if row["aggregate_unit"] == "time" and row["real_time"] > 0:
                row["GFLOP/s"] = flops / (row["real_time"] * 1e-3) * 1e-9
        benchmarks += entries + rows

    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    context = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host_name": socket.gethostname(),
        "executable": sys.executable,
        "num_cpus": os.cpu_count() or 1,
        "cores": str(cores),
        "cpu_model": cpu_model(),
        "load_avg": load,
        "library_build_type": "python",
        "benchmark_source": "benchmarks/python_peers.py",
        "python_version": version,
        "python_implementation": platform.python_implementation(),
        "python_gil": "enabled" if gil else "disabled",
        "python_work": work,
    }
    text = json.dumps({"context": context, "benchmarks": benchmarks}, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
        print(f"python_peers: written to {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
