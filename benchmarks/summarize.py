#!/usr/bin/env python3
"""Summarises trident's benchmark JSON files (Google Benchmark format) into one table.

    python3 benchmarks/summarize.py <out-dir>

Reads every <out-dir>/*.json written by benchmarks/run-suite.sh, prints the summary and writes it
to <out-dir>/summary.md: per workload, each implementation's time, throughput and speedup over the
sequential loop, then the targets of benchmarks/manifest/*.toml (benchmarks/targets.py), each
computed from the numbers measured in this run; the workloads' descriptions and order come from the
manifest too (benchmarks/README.md).

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

sys.dont_write_bytecode = True  # no benchmarks/__pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402  (benchmarks/targets.py: the check logic)
import workloads as manifest  # noqa: E402  (benchmarks/workloads.py: reads benchmarks/manifest/*.toml)
from targets import fmt_time  # noqa: E402,F401  (also used by benchmarks/report.py)

UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}

# User counters kept from the JSON (benchmarks/bench_pipeline.cpp): the model a pipeline is compared
# with, the efficiency against it, the speedup over the sequential work, per-token cost.
COUNTERS = ["threads", "model_seconds", "lecture_model_seconds", "efficiency", "speedup", "stats_bound_seconds",
            "stats_efficiency", "ns_per_token", "unit_us", "unit_us_all_threads", "batches"]
# ... and from benchmarks/bench_tasks.cpp: the threads that run the blocking tasks, the ideal and measured
# wall time in units (ceil(tasks / workers) units ideally), the CPU-bound map's time beside them and alone.
COUNTERS += ["workers", "ideal_units", "wall_units", "map_ms", "map_alone_ms", "map_slowdown"]
# ... and from benchmarks/bench_model.cpp: the pipeline's shape, its prediction and ideal, the memory peak.
COUNTERS += ["devices", "micro_batches", "predicted_seconds", "pipeline_ideal", "predicted_gain_over_1f1b",
             "peak_mib_max", "activations_mib_max"]

# Per workload, its one-line description and the order of the sections: from the manifest.
WORKLOADS = manifest.load()
DESCRIPTIONS = {w.name: w.description for w in WORKLOADS if w.description}
ORDER = [w.name for w in WORKLOADS]


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
    for i in impls if "seq_loop" in impls else ():  # the crossover against seq_loop, where the sweep has one
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

    rows = targets.run(WORKLOADS, results, cores)

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
    out.append("## Targets (from benchmarks/manifest/; each a ratio measured in this run)")
    out.append("")
    if rows:
        out.append(table(["workload", "target", "measured", "result"], rows))
        passed = sum(1 for r in rows if r[3] == "pass")
        missed = sum(1 for r in rows if r[3] == "MISS")
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
