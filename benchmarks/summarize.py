#!/usr/bin/env python3
"""Summarises trident's benchmark JSON files (Google Benchmark format) into one table.

    python3 benchmarks/summarize.py <out-dir>

Reads every <out-dir>/*.json written by benchmarks/run-suite.sh, prints the summary and writes it
to <out-dir>/summary.md: per workload, each implementation's time, throughput and speedup over the
sequential loop, then the issue's targets, each computed from the numbers measured in this run.

Benchmark names are "<workload>/<implementation>[/<n>]" (see benchmarks/common.hpp).  With
repetitions the median is used and the coefficient of variation (cv) is shown.  The header gives
the 1-minute load average at the start and end of each binary (<out-dir>/loadavg.txt, written by
run-suite.sh; older runs: the start from the JSON context) and names the binaries during which the
machine was busy.
Standard library only.
"""
import glob
import json
import os
import sys

# "At least as fast as" passes when trident's time is within this fraction of the other's: the
# run-to-run spread of the medians measured on the 2-core machine (cv column) is of this order.
NOISE = 0.03

PEERS = ["tbb", "tbb_static", "omp", "std_par"]  # what a user would pick instead of trident par
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}

# User counters kept from the JSON (benchmarks/bench_pipeline.cpp): the model a pipeline is compared
# with, the efficiency against it, the speedup over the sequential work, per-token cost.
COUNTERS = ["threads", "model_seconds", "lecture_model_seconds", "efficiency", "speedup", "stats_bound_seconds",
            "stats_efficiency", "ns_per_token", "unit_us", "unit_us_all_threads", "batches"]
# ... and from benchmarks/bench_tasks.cpp: the threads that run the blocking tasks, the ideal and measured
# wall time in units (ceil(tasks / workers) units ideally), the CPU-bound map's time beside them and alone.
COUNTERS += ["workers", "ideal_units", "wall_units", "map_ms", "map_alone_ms", "map_slowdown"]

DESCRIPTIONS = {
    "compute_coarse": "s += sqrt(i)*sin(i), 8M iterations as 4 tasks x 2M (compute-bound)",
    "compute_fine": "s += sqrt(i)*sin(i), 8M iterations as 8000 tasks x 1000 (compute-bound)",
    "triad": "STREAM triad a[i] = b[i] + s*c[i], 64M floats (bandwidth reference; GB/s counts 12 B/element "
             "as STREAM does, traffic 16: the store's write-allocate read)",
    "saxpy": "y = a*x + y, 64M floats (12 B/element, no write-allocate: y is read first)",
    "read": "hand-vectorised sums of 100M doubles, 8 accumulators in one stream or 4 streams per thread "
            "(read-bandwidth references)",
    "sum": "sum of 100M doubles",
    "scan_double": "inclusive scan of 32M doubles into another array",
    "scan_int64": "inclusive scan of 32M int64 into another array",
    "sort_u32": "sort 10M random uint32, default order",
    "sort_double": "sort 10M random doubles, default order",
    "sort_double_cmp": "sort 10M random doubles with a lambda comparator (comparison sort)",
    "stable_sort_double": "stable_sort 10M random doubles with a lambda comparator",
    "overhead": "per call: x[i] += 1 over n floats",
    "overhead_int": "per call: for_each_index(par, n, x[i] += 1) over n ints",
    "lecture_pipeline": "the lecture's Load -> Clean -> Extract -> Train -> Eval, stage costs 5, 3, 4, 10, 2 units "
                        "of CPU work, every stage serial in order (Train serial)",
    "lecture_pipeline_train_replicated": "the same pipeline with Train parallel (replicated), the other stages "
                                         "serial in order",
    "pipeline_overhead": "per token: source + 4 empty stages (parallel, 3 x serial in order) over int items, "
                         "all threads, same token bound",
    "pipeline_overhead_1thread": "per token: the same empty pipeline on one thread (par.threads(1), tbb in a "
                                 "task_arena(1))",
    "io_tasks": "the lecture's I/O case: 8 tasks each blocking (sleeping) 1 unit of 20 ms; trident's on a "
                "blocking_pool of 4 (ideal 2 units), std::async a thread each, tbb::task_group on oneTBB's workers",
    "io_tasks_beside_map": "the same 8 tasks while the calling thread runs a CPU-bound trident::par map "
                           "(2^21 x sqrt*sin); map_slowdown = the map's time / its time alone",
    "invoke": "per call: parallel_invoke of n empty functions (n = 2, 8)",
}
ORDER = list(DESCRIPTIONS)


def read_runs(results_dir, tool):
    """The Google Benchmark JSON files of results_dir, in name order: [(file, context, runs, failures)].

    runs[run_name] = (entry, cv, iterations): entry is the run's median aggregate, or its middle
    repetition by real_time when it has no aggregates; cv its cv aggregate (None without); iterations
    its repetition rows.  failures = [(run_name, error message)] for rows with error_occurred.  A file
    that cannot be read is skipped with a line on stderr that starts with `tool`.  Shared by this
    summary and benchmarks/report.py."""
    files = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{tool}: skipping {path}: {e}", file=sys.stderr)
            continue
        if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
            continue
        slots, failures = {}, []  # run_name -> {"median": entry, "cv": entry, "iterations": [entries]}
        for b in data["benchmarks"]:
            run = b.get("run_name", b.get("name", "?"))
            if b.get("error_occurred"):
                failures.append((run, b.get("error_message", "")))
                continue
            slot = slots.setdefault(run, {"iterations": []})
            if b.get("run_type") == "aggregate":
                slot[b.get("aggregate_name")] = b
            else:
                slot["iterations"].append(b)
        runs = {}
        for run, slot in slots.items():
            entry = slot.get("median")
            if entry is None and slot["iterations"]:
                its = sorted(slot["iterations"], key=lambda e: e.get("real_time", 0))
                entry = its[len(its) // 2]
            if entry is not None and "real_time" in entry:
                runs[run] = (entry, slot.get("cv"), slot["iterations"])
        files.append((os.path.basename(path), data.get("context") or {}, runs, failures))
    return files


LOAD_FILE = "loadavg.txt"  # written by run-suite.sh: "<binary> start|end <contents of /proc/loadavg>"


def read_load(results_dir, contexts):
    """The 1-minute load average at the start and end of each binary: {binary: {"start": x, "end": y}}
    (a key missing when not recorded).  From results_dir/loadavg.txt (run-suite.sh), else the start from
    the JSON context's load_avg (Google Benchmark writes it when the binary starts).  contexts: [(json
    file name, context)]."""
    load = {}
    try:
        with open(os.path.join(results_dir, LOAD_FILE)) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in ("start", "end"):
                    try:
                        load.setdefault(parts[0], {})[parts[1]] = float(parts[2])
                    except ValueError:
                        pass
    except OSError:
        pass
    for name, ctx in contexts:
        binary = name[:-5] if name.endswith(".json") else name
        avg = ctx.get("load_avg")
        if isinstance(avg, list) and avg and isinstance(avg[0], (int, float)):
            load.setdefault(binary, {}).setdefault("start", float(avg[0]))
    return load


def busy_threshold(cores, ctx):
    """A 1-minute load above this means other processes ran: the cores, or the threads the suite ran
    with when more (TRIDENT_BENCH_THREADS), plus 0.5 (short tasks and blocked ones count too)."""
    try:
        threads = int(ctx.get("tbb_max_concurrency") or 0)
    except (TypeError, ValueError):
        threads = 0
    return max(cores or 0, threads) + 0.5


def load_lines(load, cores, ctx):
    """Lines saying the load of the run, and the binaries during which the machine was busy (their
    1-minute load above busy_threshold at both the start and the end): (lines, busy binaries)."""
    if not load:
        return ["- load: not recorded"], set()
    limit = busy_threshold(cores, ctx)
    cells, busy, high = [], set(), False
    for binary in sorted(load):
        start, end = load[binary].get("start"), load[binary].get("end")
        fmt = lambda v: "not recorded" if v is None else f"{v:.2f}"
        cells.append(f"{binary} {fmt(start)} -> {fmt(end)}")
        if start is not None and end is not None and start > limit and end > limit:
            busy.add(binary)
        high = high or any(v is not None and v > limit for v in (start, end))
    out = [f"- load average (1 min) at the start -> end of each binary, on {cores or '?'} cores: " + "; ".join(cells)]
    if busy:
        out.append(f"- the machine was busy: load above {limit:g} at the start and end of {', '.join(sorted(busy))} "
                   f"(other processes ran beside the benchmarks): their rows cannot be trusted")
    elif high:
        out.append(f"- load above {limit:g} at times: other processes ran, or had just run (the load average is a "
                   f"1-minute mean: a build just before the run raises it too)")
    return out, busy


def seconds_of(entry):
    """A row's real_time in seconds."""
    return entry["real_time"] * UNIT_SECONDS.get(entry.get("time_unit", "ns"), 1e-9)


def load(out_dir):
    """Returns (contexts, results): results[(workload, impl, arg)] = dict of measurements."""
    contexts, results = [], {}
    for name, context, runs, failures in read_runs(out_dir, "summarize"):
        contexts.append((name, context))
        for run, message in failures:
            print(f"summarize: {run} failed: {message}", file=sys.stderr)
        for run, (entry, cv, _) in runs.items():
            parts = [p for p in run.split("/") if p != "real_time" and not p.startswith("min_time:")
                     and not p.startswith("repeats:")]
            if len(parts) < 2:
                parts = [parts[0], "-"]
            workload, impl = parts[0], parts[1]
            arg = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
            results[(workload, impl, arg)] = {
                "time": seconds_of(entry),
                "items": entry.get("items_per_second"),
                "bytes": entry.get("bytes_per_second"),
                "traffic": entry.get("traffic"),
                "cv": cv.get("real_time") if cv is not None else None,
                "file": name,
                "counters": {k: entry[k] for k in COUNTERS if isinstance(entry.get(k), (int, float))},
            }
    return contexts, results


def fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def fmt_rate(v, unit):
    if v is None:
        return "-"
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.2f} {prefix}{unit}"
    return f"{v:.1f} {unit}"


def fmt_gb(v):
    if v is None:
        return "-"
    return f"{v / 1e9:.1f}" if v >= 10e9 else f"{v / 1e9:.2f}"


def impl_order(name):
    """seq_loop, trident_seq, trident_par, trident_par_*, then the peers by name."""
    rank = {"seq_loop": 0, "trident_seq": 1, "trident_par": 2}
    return (rank.get(name, 3 if name.startswith("trident") else 4), name)


def table(header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep] + [line(r) for r in rows])


class Checker:
    """The issue's targets, each computed from this run's numbers."""

    def __init__(self, results, cores):
        self.r = results
        self.cores = cores
        self.rows = []

    def get(self, w, impl, arg=None):
        return self.r.get((w, impl, arg))

    def add(self, workload, target, measured, ok):
        self.rows.append((workload, target, measured, "pass" if ok else "MISS"))

    def missing(self, workload, target, what):
        self.rows.append((workload, target, f"not measured ({what})", "n/a"))

    def speedup_at_least_cores(self, w, factor, impl="trident_par"):
        base, t = self.get(w, "seq_loop"), self.get(w, impl)
        target = f"{impl} speedup >= {factor} x {self.cores} cores = {factor * self.cores:.2f}x"
        if not base or not t or not self.cores:
            return self.missing(w, target, "seq_loop/trident_par/cores")
        s = base["time"] / t["time"]
        self.add(w, target, f"{s:.2f}x", s >= factor * self.cores)

    def as_fast_as_best_peer(self, w, arg=None):
        target = f"trident_par at least as fast as the best peer (+{NOISE:.0%} noise)"
        t = self.get(w, "trident_par", arg)
        peers = [(p, self.get(w, p, arg)) for p in PEERS if self.get(w, p, arg)]
        if not t or not peers:
            return self.missing(w, target, "trident_par or peers")
        name, best = min(peers, key=lambda x: x[1]["time"])
        ratio = t["time"] / best["time"]
        self.add(w, target, f"{fmt_time(t['time'])} vs {name} {fmt_time(best['time'])} ({ratio:.2f}x)",
                 ratio <= 1 + NOISE)

    def bandwidth_fraction(self, w, metric, ref_w, factor):
        label = "traffic" if metric == "traffic" else "bytes"
        target = f"trident_par {label} >= {factor:.0%} of the best {ref_w} (same binary)"
        t = self.get(w, "trident_par")
        refs = [(i, m) for (rw, i, a), m in self.r.items() if rw == ref_w and i != "seq_loop" and m.get(metric)]
        if not t or not t.get(metric) or not refs:
            return self.missing(w, target, f"{w}/trident_par or {ref_w}")
        name, best = max(refs, key=lambda x: x[1][metric])
        frac = t[metric] / best[metric]
        self.add(w, target, f"{t[metric] / 1e9:.1f} vs {ref_w}/{name} {best[metric] / 1e9:.1f} GB/s ({frac:.0%})",
                 frac >= factor)

    def speedup_over(self, w, base_impl, factor, impl="trident_par"):
        target = f"{impl} >= {factor}x over {base_impl}"
        base, t = self.get(w, base_impl), self.get(w, impl)
        if not base or not t:
            return self.missing(w, target, f"{impl}/{base_impl}")
        s = base["time"] / t["time"]
        self.add(w, target, f"{s:.1f}x", s >= factor)

    def model_efficiency(self, w, factor, impl="trident_par", peer="tbb"):
        """The wall time against the model's bound (efficiency counter = model / measured); the peer's
        efficiency is shown beside it (the same machine's noise applies to both)."""
        target = f"{impl} efficiency >= {factor:.0%} of the model's bound"
        t = self.get(w, impl)
        c = t["counters"] if t else {}
        if "efficiency" not in c or "model_seconds" not in c:
            return self.missing(w, target, f"{impl} efficiency")
        measured = (f"{c['efficiency']:.1%} (model {fmt_time(c['model_seconds'])} on {c.get('threads', 0):.0f} "
                    f"threads, measured {fmt_time(t['time'])}; speedup {c.get('speedup', 0):.2f}x)")
        p = self.get(w, peer)
        if p and "efficiency" in p["counters"]:
            measured += f"; {peer} {p['counters']['efficiency']:.1%}"
        self.add(w, target, measured, c["efficiency"] >= factor)

    def counter_ratio_at_most(self, w, counter, other, factor, impl="trident_par", label=None):
        target = label or f"{impl} {counter} at most {factor:.2f}x {other}'s"
        t, o = self.get(w, impl), self.get(w, other)
        if not t or not o or counter not in t["counters"] or counter not in o["counters"]:
            return self.missing(w, target, f"{impl}/{other} {counter}")
        a, b = t["counters"][counter], o["counters"][counter]
        ratio = a / b
        self.add(w, target, f"{a:.1f} vs {b:.1f} ({ratio:.2f}x)", ratio <= factor)

    def wall_near_ideal(self, w, impl, tolerance):
        """Blocking tasks: the wall time in units against ceil(tasks / workers) units."""
        target = f"{impl} wall time within {tolerance:.0%} of the ideal ceil(tasks / workers) units"
        t = self.get(w, impl)
        c = t["counters"] if t else {}
        if "wall_units" not in c or "ideal_units" not in c:
            return self.missing(w, target, f"{impl} wall_units")
        self.add(w, target, f"{c['wall_units']:.3f} units vs ideal {c['ideal_units']:.0f} "
                            f"({c.get('workers', 0):.0f} workers)", c["wall_units"] <= c["ideal_units"] * (1 + tolerance))

    def counter_at_most(self, w, impl, counter, limit, label=None):
        target = label or f"{impl} {counter} <= {limit}"
        t = self.get(w, impl)
        if not t or counter not in t["counters"]:
            return self.missing(w, target, f"{impl} {counter}")
        self.add(w, target, f"{t['counters'][counter]:.3f}", t["counters"][counter] <= limit)

    def not_slower_than(self, w, other, impl="trident_par", arg=None, factor=1 + NOISE, label=None):
        target = label or f"{impl} at least as fast as {other} (+{NOISE:.0%} noise)"
        t, o = self.get(w, impl, arg), self.get(w, other, arg)
        if not t or not o:
            return self.missing(w, target, f"{impl}/{other}")
        ratio = t["time"] / o["time"]
        self.add(w, target, f"{fmt_time(t['time'])} vs {fmt_time(o['time'])} ({ratio:.2f}x)", ratio <= factor)


def workload_table(w, results):
    entries = sorted(((i, m) for (rw, i, a), m in results.items() if rw == w and a is None),
                     key=lambda x: impl_order(x[0]))
    if not entries:
        return None
    base = results.get((w, "seq_loop", None))
    has_traffic = any(m.get("traffic") for _, m in entries)
    has_bytes = any(m.get("bytes") for _, m in entries)
    has_cv = any(m.get("cv") is not None for _, m in entries)
    has_model = any("efficiency" in m["counters"] for _, m in entries)
    has_stats = any("stats_efficiency" in m["counters"] for _, m in entries)
    has_tokens = any("ns_per_token" in m["counters"] for _, m in entries)
    has_units = any("wall_units" in m["counters"] for _, m in entries)
    has_map = any("map_ms" in m["counters"] for _, m in entries)
    header = ["implementation", "time"] + (["cv"] if has_cv else []) + ["items/s"]
    header += (["GB/s"] if has_bytes else []) + (["traffic GB/s"] if has_traffic else []) + ["vs seq_loop"]
    header += ["threads", "model", "efficiency", "speedup"] if has_model else []
    header += ["stats bound", "stats eff."] if has_stats else []
    header += ["ns/token"] if has_tokens else []
    header += ["workers", "ideal units", "wall units"] if has_units else []
    header += ["map", "map alone", "map slowdown"] if has_map else []
    rows = []
    for impl, m in entries:
        row = [impl, fmt_time(m["time"])]
        if has_cv:
            row.append("-" if m.get("cv") is None else f"{m['cv']:.1%}")
        row.append(fmt_rate(m.get("items"), "/s"))
        if has_bytes:
            row.append(fmt_gb(m.get("bytes")))
        if has_traffic:
            row.append(fmt_gb(m.get("traffic")))
        row.append(f"{base['time'] / m['time']:.2f}x" if base else "-")
        c = m["counters"]
        if has_model:
            row.append(f"{c['threads']:.0f}" if "threads" in c else "-")
            row.append(fmt_time(c.get("model_seconds")))
            row.append(f"{c['efficiency']:.1%}" if "efficiency" in c else "-")
            row.append(f"{c['speedup']:.2f}x" if "speedup" in c else "-")
        if has_stats:
            row.append(fmt_time(c.get("stats_bound_seconds")))
            row.append(f"{c['stats_efficiency']:.1%}" if "stats_efficiency" in c else "-")
        if has_tokens:
            row.append(f"{c['ns_per_token']:.1f}" if "ns_per_token" in c else "-")
        if has_units:
            row.append(f"{c['workers']:.0f}" if "workers" in c else "-")
            row.append(f"{c['ideal_units']:.0f}" if "ideal_units" in c else "-")
            row.append(f"{c['wall_units']:.3f}" if "wall_units" in c else "-")
        if has_map:
            row.append(f"{c['map_ms']:.2f} ms" if "map_ms" in c else "-")
            row.append(f"{c['map_alone_ms']:.2f} ms" if "map_alone_ms" in c else "-")
            row.append(f"{c['map_slowdown']:.2f}x" if "map_slowdown" in c else "-")
        rows.append(row)
    return table(header, rows)


def workload_notes(w, results):
    """Notes under a workload's table: the unit of work and the lecture's own model."""
    notes = []
    for (rw, i, a), m in sorted(results.items(), key=lambda x: impl_order(x[0][1])):
        c = m["counters"]
        if rw != w or a is not None:
            continue
        if "unit_us" in c and "batches" in c and not notes:
            notes.append(f"{c['batches']:.0f} batches of 24 units, 1 unit = {c['unit_us']:.1f} us of CPU work "
                         f"(sequential: {fmt_time(24 * c['batches'] * c['unit_us'] * 1e-6)}); model = the bound "
                         f"set by the threads and by each serial stage (benchmarks/bench_pipeline.cpp)")
        if "unit_us_all_threads" in c and not any(n.startswith("with all threads") for n in notes):
            notes.append(f"with all threads running units at once a unit took {c['unit_us_all_threads']:.1f} us "
                         f"({c['unit_us_all_threads'] / c['unit_us'] - 1:+.1%}): the machine's share of a "
                         f"parallel row's shortfall against the model")
        if "lecture_model_seconds" in c:
            notes.append(f"the lecture's model, 24 + (N - 1) x 10 units (as many cores as stages): "
                         f"{fmt_time(c['lecture_model_seconds'])}")
            break
    return notes


def sweep_table(w, results):
    points = {(i, a): m for (rw, i, a), m in results.items() if rw == w and a is not None}
    if not points:
        return None, []
    impls = sorted({i for i, _ in points}, key=impl_order)
    sizes = sorted({a for _, a in points})
    rows = []
    for n in sizes:
        row = [f"{n:,}"]
        for i in impls:
            m = points.get((i, n))
            row.append(fmt_time(m["time"]) if m else "-")
        rows.append(row)
    notes = []
    for i in impls:
        if i == "seq_loop":
            continue
        measured = [n for n in sizes if (i, n) in points and ("seq_loop", n) in points]
        wins = [n for n in measured if points[(i, n)]["time"] < points[("seq_loop", n)]["time"]]
        # The crossover: from this n on, the implementation beats the sequential loop at every size.
        cross = next((n for n in measured if all(m in wins for m in measured if m >= n)), None)
        if cross is not None:
            notes.append(f"{i}: faster than seq_loop from n = {cross:,} on")
        elif wins:
            notes.append(f"{i}: faster than seq_loop at n = {', '.join(f'{n:,}' for n in wins)} only")
        else:
            notes.append(f"{i}: never faster than seq_loop")
    return table(["n"] + impls, rows), notes


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    contexts, results = load(out_dir)
    if not results:
        print(f"summarize: no benchmark results in {out_dir}", file=sys.stderr)
        return 1

    # The C++ suite's context (the Python peers' file has no compiler entry).
    cpp = [c for _, c in contexts if "compiler" in c]
    ctx = cpp[0] if cpp else (contexts[0][1] if contexts else {})
    try:
        # The threads the run had (TRIDENT_BENCH_THREADS may differ from the cores).
        cores = int(ctx.get("tbb_max_concurrency") or ctx.get("cores") or ctx.get("num_cpus") or 0)
    except ValueError:
        cores = 0

    c = Checker(results, cores)
    c.speedup_at_least_cores("compute_fine", 0.95)
    c.as_fast_as_best_peer("compute_fine")
    c.as_fast_as_best_peer("compute_coarse")
    c.bandwidth_fraction("saxpy", "traffic", "triad", 0.95)
    c.as_fast_as_best_peer("saxpy")
    c.bandwidth_fraction("sum", "bytes", "read", 0.95)
    c.as_fast_as_best_peer("sum")
    c.as_fast_as_best_peer("scan_double")
    c.as_fast_as_best_peer("scan_int64")
    c.speedup_over("sort_u32", "seq_loop", 5)
    c.as_fast_as_best_peer("sort_u32")
    c.as_fast_as_best_peer("sort_double")
    c.not_slower_than("sort_double_cmp", "tbb")
    c.not_slower_than("stable_sort_double", "tbb")
    for overhead in ("overhead", "overhead_int"):  # float and int bodies, the same targets
        c.not_slower_than(overhead, "seq_loop", arg=1000, factor=1.2,
                          label="n = 1000: trident_par at most 1.2x seq_loop")
        c.not_slower_than(overhead, "tbb", arg=1_000_000, factor=1.05,
                          label="n = 10^6: trident_par within 5% of raw tbb (auto_partitioner)")
        c.not_slower_than(overhead, "tbb_static", arg=1_000_000, factor=1.05,
                          label="n = 10^6: trident_par within 5% of raw tbb (static_partitioner)")
    c.model_efficiency("lecture_pipeline", 0.98)
    c.model_efficiency("lecture_pipeline_train_replicated", 0.98)
    c.counter_ratio_at_most("pipeline_overhead", "ns_per_token", "tbb", 1.10,
                            label="ns per token: trident_par at most 1.10x raw tbb::parallel_pipeline")
    c.counter_ratio_at_most("pipeline_overhead_1thread", "ns_per_token", "tbb", 1.10,
                            label="1 thread, ns per token: trident_par at most 1.10x raw tbb")
    for impl in ("trident_blocking_pool", "trident_task_group", "trident_parallel_invoke"):
        c.wall_near_ideal("io_tasks", impl, 0.05)
    c.counter_at_most("io_tasks_beside_map", "trident_blocking_pool", "map_slowdown", 1.10,
                      label="trident_blocking_pool: the par map beside the sleeping tasks at most 1.10x its time alone")
    c.rows = [r for r in c.rows if r[3] != "n/a" or any(k[0] == r[0] for k in results)]

    out = ["# trident benchmark summary", ""]
    if ctx:
        out.append(f"- date: {ctx.get('date', '?')}, host: {ctx.get('host_name', '?')}")
        out.append(f"- CPU: {ctx.get('cpu_model', '?')}, cores: {ctx.get('cores', ctx.get('num_cpus', '?'))}, "
                   f"oneTBB max concurrency: {ctx.get('tbb_max_concurrency', '?')}, "
                   f"OpenMP threads: {ctx.get('omp_max_threads', '?')}")
        out.append(f"- compiler: {ctx.get('compiler', '?')}, git: {ctx.get('git_hash', '?')}, "
                   f"build type: {ctx.get('build_type', '?')}, Google Benchmark's own library build: "
                   f"{ctx.get('library_build_type', '?')}")
        try:
            ncores = int(ctx.get("cores") or ctx.get("num_cpus") or 0)
        except (TypeError, ValueError):
            ncores = 0
        out += load_lines(read_load(out_dir, contexts), ncores, ctx)[0]
    out.append(f"- files: {', '.join(name for name, _ in contexts)}")
    out.append("")
    out.append("## Targets (from the issue; each a ratio measured in this run)")
    out.append("")
    if c.rows:
        out.append(table(["workload", "target", "measured", "result"], c.rows))
        passed = sum(1 for r in c.rows if r[3] == "pass")
        missed = sum(1 for r in c.rows if r[3] == "MISS")
        out.append("")
        out.append(f"{passed} met, {missed} missed.")
    out.append("")

    workloads = {k[0] for k in results}
    for w in ORDER + sorted(workloads - set(ORDER)):
        if w not in workloads:
            continue
        out.append(f"## {w}: {DESCRIPTIONS.get(w, '')}".rstrip(": "))
        out.append("")
        t = workload_table(w, results)
        if t:
            out.append(t)
            out.append("")
            notes = workload_notes(w, results)
            if notes:
                out.extend(f"- {n}" for n in notes)
                out.append("")
        s, notes = sweep_table(w, results)
        if s:
            out.append(s)
            out.append("")
            out.extend(f"- {n}" for n in notes)
            out.append("")

    text = "\n".join(out)
    print(text)
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write(text + "\n")
    print(f"(written to {os.path.join(out_dir, 'summary.md')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
