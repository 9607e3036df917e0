#!/usr/bin/env python3
"""Writes the lecture-claims report of a benchmark run: report.md, PNG plots and a terminal table.

    python3 benchmarks/report.py <results-dir> [--no-plots | --require-plots]

Reads every <results-dir>/*.json in Google Benchmark's format (as written by
benchmarks/run-suite.sh, medians when the run has repetitions, and by benchmarks/python_peers.py),
matches the rows against the lecture's claims (benchmarks/manifest/*.toml, through
benchmarks/claims.py) and

- prints the claims table (plain text, at most 120 columns wide),
- writes <results-dir>/report.md: the machine, the claims table (the lecture's figure, the
  workload, sequential and parallel time, measured speedup, the ideal speedup on this machine,
  efficiency = measured / ideal, the GPU's time or "no GPU", and why), then a section per claim
  with every row of its workloads (peers included) and the plots,
- records the load: the 1-minute load average at the start and end of each binary (loadavg.txt,
  written by run-suite.sh; else the start from the JSON context; else "load: not recorded"),
- says a row "cannot be trusted", with the reason, in place of its explanation when its
  repetitions vary (cv above CV_LIMIT), its speedup exceeds the ideal by more than ABOVE_IDEAL,
  trident's explain found other processes took BUSY_SHARE or more of its workers' or its
  sequential reference's time, or the load was above the cores at the start and end of its binary,
- draws, when matplotlib can be imported, speedup_vs_workers.png (measured speedup against the
  workers, with the ideal line), pipeline_utilisation.png (per-stage utilisation of the pipeline
  rows, from their util_<stage> counters, when present) and claims_measured_vs_ideal.png.

Without matplotlib the report says so and the plots are skipped (exit status 0), unless
--require-plots is given.  Exit status: 0 written; 1 no results in the directory, a benchmark
reported an error (error_occurred in its JSON; everything is still written), or plots were
required and could not be drawn; 2 usage.  Standard library, and matplotlib if importable.
"""
import argparse
import os
import sys
import textwrap

sys.dont_write_bytecode = True  # no benchmarks/__pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import claims as registry  # noqa: E402  (benchmarks/claims.py, beside this file)
from summarize import fmt_time, load_lines, read_load, read_runs, seconds_of  # noqa: E402  (benchmarks/summarize.py: one reader, one format)

# Keys of a Google Benchmark row that are not user counters.
STANDARD_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "aggregate_name",
    "aggregate_unit", "items_per_second", "bytes_per_second", "label", "error_occurred", "error_message",
    "skipped", "skip_message",
}
# Name parts Google Benchmark appends that are not arguments.
NAME_SUFFIXES = ("real_time", "process_time", "manual_time")
NAME_PREFIXES = ("min_time:", "min_warmup_time:", "repeats:", "iterations:")
PIPELINE_STAGES = ["load", "clean", "extract", "train", "eval"]  # the lecture's order
TERMINAL_WIDTH = 120
NO_WHY = "no explanation recorded"
# A row cannot be trusted (its "why" says so, with the reason, instead of explaining noise) when its
# repetitions vary by more than CV_LIMIT, its speedup exceeds the ideal by more than ABOVE_IDEAL,
# explain found other processes took BUSY_SHARE or more of the workers' (or the sequential
# reference's) time (its explain_other_processes / explain_sequential_off_cpu counters), or the
# machine's load was above the cores at the start and end of the row's binary (loadavg.txt).
CV_LIMIT = 0.05
ABOVE_IDEAL = 0.05
BUSY_SHARE = 0.10
UNTRUSTED = "cannot be trusted"
PLOTS = {
    "speedup_vs_workers.png": "measured speedup against the workers, with the ideal line",
    "pipeline_utilisation.png": "per-stage utilisation of the five-stage pipeline",
    "claims_measured_vs_ideal.png": "measured against ideal speedup for each claim",
    "model_timeline.png": "one pipeline step, planned and measured, one row per device",
}
# A plot's caption where a claim's section shows it (a claim's `plots` in benchmarks/manifest/).
SECTION_PLOTS = {"pipeline_utilisation.png": "per-stage utilisation",
                 "model_timeline.png": "a 1F1B step on 2 devices, m = 8: planned and measured"}
MODEL_TRACE = "model_timeline.json"  # written by trident_bench_model (benchmarks/bench_model.cpp)


# ---- loading --------------------------------------------------------------------------------------

def parse_name(run_name):
    """'gemm/trident_par/512/real_time' -> ('gemm', 'trident_par', '512')."""
    parts = [p for p in run_name.split("/") if p and p not in NAME_SUFFIXES and not p.startswith(NAME_PREFIXES)]
    workload = parts[0] if parts else run_name
    impl = parts[1] if len(parts) > 1 else "-"
    arg = "/".join(parts[2:]) or None
    return workload, impl, arg


def counters_of(entry):
    """The user counters of a row.  Google Benchmark writes its own "threads" as an integer; a counter
    named "threads" comes after it as a floating-point number and wins in json.load."""
    out = {k: float(v) for k, v in entry.items()
           if k not in STANDARD_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool)}
    if isinstance(entry.get("threads"), float):
        out["threads"] = entry["threads"]
    return out


def load(results_dir):
    """Returns (contexts, rows, failures): contexts = [(file, context)], rows[(workload, impl, arg)] =
    dict(time seconds, cv, label, counters, file, arg), failures = [(name, message, file)]."""
    contexts, rows, failures = [], {}, []
    for name, context, runs, failed in read_runs(results_dir, "report"):
        contexts.append((name, context))
        for run, message in failed:
            failures.append((run, message, name))
            rows[parse_name(run)] = {"failed": message or "error", "file": name, "counters": {}, "label": None,
                                     "binary": name[:-5] if name.endswith(".json") else name,
                                     "time": None, "cv": None, "arg": parse_name(run)[2]}
        for run, (entry, cv, iterations) in runs.items():
            label = entry.get("label") or next((e.get("label") for e in iterations if e.get("label")), None)
            key = parse_name(run)
            counters = counters_of(entry)
            # ->Threads(n) names a row ".../threads:n": n threads ran it (when no counter says otherwise).
            if key[2] and key[2].split("/")[-1].startswith("threads:") and "threads" not in counters:
                try:
                    counters["threads"] = float(key[2].split("/")[-1][len("threads:"):])
                except ValueError:
                    pass
            rows[key] = {
                "time": seconds_of(entry),
                "cv": cv.get("real_time") if cv else None,
                "label": label,
                "counters": counters,
                "file": name,
                "binary": name[:-5] if name.endswith(".json") else name,
                "arg": key[2],
            }
    return contexts, rows, failures


def main_context(contexts):
    """The C++ suite's context (it names the compiler), else the first one."""
    for _, ctx in contexts:
        if ctx.get("compiler"):
            return ctx
    return contexts[0][1] if contexts else {}


def gpu_name(contexts):
    for _, ctx in contexts:
        for key in ("gpu_name", "gpu", "cuda_device"):
            v = ctx.get(key)
            if v and str(v).strip().lower() not in ("none", "no", "0", "false", "no gpu"):
                return str(v)
    return None


def cores_of(ctx):
    for key in ("cores", "num_cpus"):
        try:
            v = int(ctx.get(key) or 0)
        except (TypeError, ValueError):
            v = 0
        if v:
            return v
    return 0


# ---- formatting -----------------------------------------------------------------------------------

def fmt_x(v):
    return "-" if v is None else f"{v:.2f}x"


def fmt_pct(v):
    return "-" if v is None else f"{v:.1%}"


def gflops(row):
    c = row.get("counters", {}) if row else {}
    for key in ("GFLOP/s", "gflops", "GFLOPS"):
        if key in c:
            return c[key]
    return None


def md_escape(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(header, rows):
    out = ["| " + " | ".join(md_escape(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def text_table(header, rows, sep="  "):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    line = lambda cells: sep.join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return [line(header), sep.join("-" * w for w in widths)] + [line(r) for r in rows]


# ---- the claims -----------------------------------------------------------------------------------

class Results:
    def __init__(self, rows, busy_binaries=frozenset()):
        self.rows = rows
        self.busy = busy_binaries  # binaries during which the machine was busy (summarize.load_lines)

    def get(self, workload, impl):
        """The row of workload/impl: the one without an argument, else (a sweep) the one with the most
        threads, else the largest argument."""
        row = self.rows.get((workload, impl, None))
        if row is not None:
            return row
        cands = [(a, r) for (w, i, a), r in self.rows.items() if w == workload and i == impl]
        if not cands:
            return None
        key = lambda x: (x[1]["counters"].get("threads", 0), x[0].isdigit() and int(x[0]), x[0])
        return max(cands, key=key)[1]

    def impls(self, workload):
        return sorted({i for (w, i, _) in self.rows if w == workload}, key=impl_order)

    def has_workload(self, workload):
        return any(w == workload for (w, _, _) in self.rows)


def impl_order(name):
    rank = {"seq_loop": 0, "trident_seq": 1, "trident_par": 2}
    if name in rank:
        return (rank[name], name)
    if name.startswith("trident") and "gpu" not in name:
        return (3, name)
    if name.startswith("python_"):
        return (5, registry.PYTHON_PEERS.index(name) if name in registry.PYTHON_PEERS else 9, name)
    if "gpu" in name or name in ("cublas", "thrust", "cub"):
        return (6, name)
    return (4, name)


def ok(row):
    return row is not None and not row.get("failed") and row.get("time")


def unit_seconds(*rows):
    """What one lecture unit costs here, from the rows' counters (unit_seconds, unit_us, unit_ms), or
    from the wall time over wall_units (the I/O tasks)."""
    for row in rows:
        if not ok(row):
            continue
        c = row["counters"]
        if c.get("unit_seconds"):
            return c["unit_seconds"]
        if c.get("unit_us"):
            return c["unit_us"] * 1e-6
        if c.get("unit_ms"):
            return c["unit_ms"] * 1e-3
    for row in rows:
        if ok(row) and row["counters"].get("wall_units"):
            return row["time"] / row["counters"]["wall_units"]
    return None


def ideal_of(seq, par):
    """(ideal speedup, where it came from): the parallel row's ideal_speedup counter, else the ratio
    of the rows' model_seconds or ideal_units counters; (None, None) when the run does not say."""
    if not ok(par):
        return None, None
    c = par["counters"]
    if c.get("ideal_speedup"):
        return c["ideal_speedup"], "ideal_speedup counter"
    if ok(seq):
        s = seq["counters"]
        for key in ("model_seconds", "ideal_units"):
            if s.get(key) and c.get(key):
                return s[key] / c[key], f"{key}: sequential / parallel"
    return None, None


def workers_of(row, cores):
    if not row:
        return None
    c = row["counters"]
    for key in ("threads", "workers"):
        if c.get(key):
            return c[key]
    return None


def row_doubts(row, impl, busy_binaries):
    """Why one row's time cannot be trusted: [reason]."""
    if not ok(row):
        return []
    out = []
    if row.get("cv") is not None and row["cv"] > CV_LIMIT:
        out.append(f"{impl}'s repetitions vary (cv {row['cv']:.1%})")
    c = row["counters"]
    if c.get("explain_other_processes", 0) >= BUSY_SHARE:
        out.append(f"other processes took {c['explain_other_processes']:.0%} of {impl}'s workers' time")
    if c.get("explain_sequential_off_cpu", 0) >= BUSY_SHARE:
        out.append(f"other processes took {c['explain_sequential_off_cpu']:.0%} of the sequential reference's time")
    if row.get("binary") in busy_binaries:
        out.append(f"the machine was busy during {row['binary']} (load average above the cores)")
    return out


def doubts(r, busy_binaries):
    """Why a claim row cannot be trusted: [reason] (empty: it can)."""
    comp = r["comp"]
    out = row_doubts(r["seq"], comp.sequential, busy_binaries)
    out += [d for d in row_doubts(r["par"], comp.parallel, busy_binaries) if d not in out]
    if r["speedup"] is not None and r["ideal"] and r["speedup"] > r["ideal"] * (1 + ABOVE_IDEAL):
        out.append(f"speedup {r['speedup']:.2f}x above the ideal {r['ideal']:.2f}x (a slowed sequential row, or rows "
                   f"measured under different conditions)")
    return out


def evaluate(claim, comp, res, has_gpu, busy_binaries=frozenset()):
    """One row of the claims table, as a dict of values and display strings."""
    seq_w = comp.sequential_from or comp.workload
    seq, par = res.get(seq_w, comp.sequential), res.get(comp.workload, comp.parallel)
    figure = comp.figure or claim.figure
    r = {"claim": claim, "comp": comp, "figure": figure, "seq": seq, "par": par,
         "speedup": None, "ideal": None, "ideal_source": None, "efficiency": None,
         "unit": unit_seconds(par, seq), "gpu_row": None, "gpu_impl": None}
    if not res.has_workload(comp.workload):  # (a sequential row borrowed from another workload is not a run)
        seq = par = r["seq"] = r["par"] = None
        r["unit"] = None
        r["status"] = "not run" if claim.built else "not built yet"
    elif not (seq or par):
        r["status"] = "not run" if claim.built else "not built yet"
    elif (seq and seq.get("failed")) or (par and par.get("failed")):
        r["status"] = "FAILED"
    elif ok(seq) and ok(par):
        r["status"] = "measured"
    else:
        r["status"] = "partial"

    def cell(row, impl):
        if row is None:
            return "not run" if claim.built else "not built yet"
        if row.get("failed"):
            return "FAILED"
        return fmt_time(row["time"])

    r["seq_cell"], r["par_cell"] = cell(seq, comp.sequential), cell(par, comp.parallel)
    if ok(seq) and ok(par):
        r["speedup"] = seq["time"] / par["time"]
    r["ideal"], r["ideal_source"] = ideal_of(seq, par)
    if r["speedup"] is not None and r["ideal"]:
        r["efficiency"] = r["speedup"] / r["ideal"]

    if comp.gpu:
        for g in comp.gpu:
            row = res.get(comp.workload, g)
            if row is not None:
                r["gpu_row"], r["gpu_impl"] = row, g
                break
        g = r["gpu_row"]
        if g is None:
            r["gpu_cell"] = "no GPU" if not has_gpu else ("not run" if claim.built else "not built yet")
        elif g.get("failed"):
            r["gpu_cell"] = "FAILED"
        else:
            # Named when the comparison has several GPU implementations (GEMM: cuBLAS before trident's).
            r["gpu_cell"] = ((f"{r['gpu_impl']} " if len(comp.gpu) > 1 else "") + fmt_time(g["time"])
                             + (f" ({seq['time'] / g['time']:.1f}x)" if ok(seq) else ""))
    else:
        r["gpu_cell"] = "n/a"

    if par is None:
        r["why"] = "-" if r["status"] in ("not run", "not built yet") else f"{comp.parallel}: not run"
    elif par.get("failed"):
        r["why"] = f"{comp.parallel} failed: {par['failed']}"
    else:
        r["why"] = par.get("label") or NO_WHY
    if seq is not None and seq.get("failed"):
        r["why"] = f"{comp.sequential} failed: {seq['failed']}; " + r["why"]
    r["doubts"] = doubts(r, busy_binaries)
    if r["doubts"]:
        r["why"] = f"{UNTRUSTED}: " + "; ".join(r["doubts"])
    return r


def evaluate_all(res, has_gpu, busy_binaries=frozenset()):
    return [evaluate(claim, comp, res, has_gpu, busy_binaries) for claim in registry.CLAIMS for comp in claim.comparisons]


def workload_cell(r):
    comp = r["comp"]
    text = comp.workload + (f" ({comp.caption})" if comp.caption else "")
    if r["unit"]:
        text += f"; 1 unit = {fmt_time(r['unit'])}"
    return text


def gflops_suffix(row):
    g = gflops(row) if ok(row) else None
    return f", {g:.1f} GFLOP/s" if g is not None else ""


# ---- terminal ---------------------------------------------------------------------------------------

def terminal_table(evals, ctx, gpu):
    header = ["claim", "lecture's figure", "sequential", "parallel", "speedup", "ideal", "effic.", "GPU"]
    lines = []
    cores = cores_of(ctx)
    lines.append(f"Lecture claims measured here: {cores or '?'} cores, {ctx.get('cpu_model', '?')}, "
                 f"GPU: {gpu or 'no GPU'} (medians; efficiency = measured / ideal speedup)")
    rows = []
    for r in evals:
        rows.append([r["claim"].id, r["figure"].short, r["seq_cell"], r["par_cell"], fmt_x(r["speedup"]),
                     fmt_x(r["ideal"]), fmt_pct(r["efficiency"]), r["gpu_cell"]])
    table = text_table(header, rows)
    lines += table[:2]
    indent = " " * 6
    for r, line in zip(evals, table[2:]):
        lines.append(line)
        comp = r["comp"]
        detail = f"{comp.workload}: {comp.sequential} vs {comp.parallel}"
        if comp.caption:
            detail += f" ({comp.caption})"
        if r["unit"]:
            detail += f"; 1 unit = {fmt_time(r['unit'])}"
        lines += textwrap.wrap(detail, TERMINAL_WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")
        if r["why"] != "-":
            lines += textwrap.wrap("why: " + r["why"], TERMINAL_WIDTH, initial_indent=indent,
                                   subsequent_indent=indent + "     ")
    return lines


# ---- report.md ------------------------------------------------------------------------------------

def header_lines(contexts, ctx, gpu, results_dir):
    out = ["# trident: the lecture's claims, measured", ""]
    cores = cores_of(ctx)
    out.append(f"- date: {ctx.get('date', '?')}; host: {ctx.get('host_name', '?')}")
    out.append(f"- CPU: {ctx.get('cpu_model', '?')}; cores: {cores or '?'}; oneTBB max concurrency: "
               f"{ctx.get('tbb_max_concurrency', '?')}; OpenMP threads: {ctx.get('omp_max_threads', '?')}")
    out.append(f"- GPU: {gpu or 'no GPU'}")
    mpi = next((c.get("mpi_ranks") for _, c in contexts if c.get("mpi_ranks")), None)
    out.append(f"- MPI: {mpi} ranks" if mpi else "- MPI: none (trident has no MPI transport yet)")
    out.append(f"- compiler: {ctx.get('compiler', '?')}; build type: {ctx.get('build_type', '?')}; "
               f"git: {ctx.get('git_hash', '?')}; Google Benchmark's own library build: "
               f"{ctx.get('library_build_type', '?')}")
    out += load_lines(read_load(results_dir, contexts), cores, ctx)[0]
    for name, c in contexts:
        if c.get("python_version"):
            out.append(f"- Python peers ({name}): {c.get('python_implementation', 'Python')} {c['python_version']}, "
                       f"GIL {c.get('python_gil', '?')}, {c.get('python_work', '')}".rstrip(", "))
    out.append(f"- raw Google Benchmark JSON: {', '.join(name for name, _ in contexts)}")
    if os.path.exists(os.path.join(results_dir, "summary.md")):
        out.append("- every benchmark of the suite, with its peers: [summary.md](summary.md)")
    out.append("")
    return out


def claims_section(evals):
    out = ["## Claims", ""]
    header = ["claim", "lecture's figure", "workload", "sequential", "parallel", "measured speedup",
              "ideal here", "efficiency", "GPU", "why"]
    rows = []
    for r in evals:
        claim = r["claim"]
        rows.append([f"{claim.id}. {claim.title}", r["figure"].text, workload_cell(r),
                     r["seq_cell"] + gflops_suffix(r["seq"]), r["par_cell"] + gflops_suffix(r["par"]),
                     fmt_x(r["speedup"]), fmt_x(r["ideal"]), fmt_pct(r["efficiency"]),
                     r["gpu_cell"] + gflops_suffix(r["gpu_row"]), r["why"]])
    out.append(md_table(header, rows))
    out.append("")
    out.append("Measured speedup = the sequential row's time / the parallel row's (medians).  Ideal here = the "
               "speedup the workload's model allows on this machine, as the benchmark computed it (its "
               "`ideal_speedup` counter, or its model's times); efficiency = measured / ideal.  \"Why\" is the "
               "parallel row's label, as recorded by the benchmark (trident's explanation), verbatim, unless the "
               f"row {UNTRUSTED}: its repetitions vary (cv above {CV_LIMIT:.0%}), its speedup exceeds the ideal by "
               f"more than {ABOVE_IDEAL:.0%}, explain found other processes took {BUSY_SHARE:.0%} or more of the "
               "workers' or the sequential reference's time, or the load average was above the cores at the start "
               "and end of its binary; then it says so, with the reason, instead of explaining noise.  \"not run\": "
               "the benchmark exists but its rows are not in this run; \"not built yet\": no benchmark measures "
               "it yet.")
    out.append("")
    return out


def row_table(claim, comp_list, workload, res, has_gpu=True):
    """Every row of a workload: time, speedup over its baseline, the counters that explain it; a
    sweep's rows (the same implementation at other worker counts, "trident_par (workers:1)") after
    its main row; a registered GPU row missing from a run without a GPU says "no GPU"."""
    comps = [c for c in comp_list if c.workload == workload]
    seq_w = comps[0].sequential_from or workload
    registered = []
    for c in comps:
        for impl in registry.implementations(c):
            if impl not in registered:
                registered.append(impl)
    present = res.impls(workload)
    if seq_w != workload:
        present = sorted(set(present) | ({comps[0].sequential} if res.get(seq_w, comps[0].sequential) else set()),
                         key=impl_order)
    baselines = {}
    for c in comps:
        baselines.update(c.baselines)
        baselines.setdefault(c.parallel, c.sequential)
    default_base = comps[0].sequential
    gpu_impls = {g for c in comps for g in c.gpu}
    any_gflops = any(gflops(res.get(workload, i)) is not None for i in present)
    header = ["implementation", "time", "cv", "speedup", "workers", "ideal", "efficiency"]
    header += ["GFLOP/s"] if any_gflops else []
    header += ["label"]
    rows = []
    for impl in sorted(set(present) | set(registered), key=impl_order):
        w = seq_w if (impl == comps[0].sequential and not res.get(workload, impl)) else workload
        row = res.get(w, impl)
        name = impl + (f" (from {w})" if w != workload else "")
        if row is None:
            if impl in registered:
                missing = "no GPU" if impl in gpu_impls and not has_gpu else (
                    "not run" if claim.built else "not built yet")
                rows.append([name, missing] + ["-"] * (len(header) - 2))
            continue
        base_impl = baselines.get(impl, default_base)
        base = res.get(workload, base_impl) or res.get(seq_w, base_impl)
        others = sorted((r for (wl, i, _), r in res.rows.items() if wl == w and i == impl and r is not row),
                        key=lambda r: (workers_of(r, 0) or 0, str(r["arg"]).isdigit() and int(r["arg"]), str(r["arg"])))
        for shown, label in [(row, name)] + [(r, f"{impl} ({r['arg']})") for r in others]:
            # A sweep's row against the baseline's row of the same argument, where it has one.
            same = res.rows.get((workload, base_impl, shown["arg"])) or res.rows.get((seq_w, base_impl, shown["arg"]))
            rows.append(row_cells(shown, label, impl, same if shown["arg"] and ok(same) else base, base_impl, comps,
                                  any_gflops, len(header), row_doubts(shown, impl, res.busy)))
    return md_table(header, rows)


def row_cells(row, name, impl, base, base_impl, comps, any_gflops, width, row_doubt=()):
    """One line of row_table."""
    if row.get("failed"):
        return [name, "FAILED"] + ["-"] * (width - 3) + [row["failed"]]
    speedup = base["time"] / row["time"] if ok(base) and impl != base_impl else None
    ideal = row["counters"].get("ideal_speedup")
    if ideal is None and impl == comps[0].parallel:
        ideal, _ = ideal_of(base, row)
    cells = [name, fmt_time(row["time"]), fmt_pct(row.get("cv")),
             f"{speedup:.2f}x vs {base_impl}" if speedup is not None else "-",
             f"{workers_of(row, 0):.0f}" if workers_of(row, 0) else "-",
             fmt_x(ideal), fmt_pct(speedup / ideal) if speedup is not None and ideal else "-"]
    if any_gflops:
        g = gflops(row)
        cells.append(f"{g:.2f}" if g is not None else "-")
    cells.append(f"{UNTRUSTED}: " + "; ".join(row_doubt) if row_doubt else (row.get("label") or "-"))
    return cells


def claim_sections(evals, res, plots_done, has_gpu):
    out = []
    by_claim = {}
    for r in evals:
        by_claim.setdefault(r["claim"].id, []).append(r)
    for claim in registry.CLAIMS:
        items = by_claim[claim.id]
        out.append(f"## Claim {claim.id}: {claim.title}")
        out.append("")
        out.append(f"The lecture: {claim.figure.text}.")
        out.append("")
        if claim.description:
            out.append(f"Measured here: {claim.description}.")
            out.append("")
        if not claim.built and all(r["status"] == "not built yet" for r in items):
            out.append("Not built yet: no benchmark measures this claim so far.  It appears here once one named "
                       + ", ".join(f"`{c.workload}/{c.parallel}`" for c in claim.comparisons) + " runs.")
            out.append("")
            continue
        for r in items:
            comp, fig = r["comp"], r["figure"]
            head = f"- **{comp.workload}**" + (f" ({comp.caption})" if comp.caption else "") + ": "
            if r["status"] in ("not run", "not built yet"):
                out.append(head + r["status"] + f" (no `{comp.workload}/{comp.sequential}` or "
                                                 f"`{comp.workload}/{comp.parallel}` row in this run)")
                continue
            parts = [f"{comp.sequential} {r['seq_cell']}, {comp.parallel} {r['par_cell']}"]
            if r["speedup"] is not None:
                parts.append(f"measured {r['speedup']:.2f}x")
            if r["ideal"]:
                parts.append(f"ideal here {r['ideal']:.2f}x ({r['ideal_source']})")
            if r["efficiency"] is not None:
                parts.append(f"efficiency {r['efficiency']:.1%}")
            if fig.speedup:
                parts.append(f"lecture {fig.speedup:g}x" + (f" on {fig.workers} workers" if fig.workers else ""))
            out.append(head + "; ".join(parts))
            if r["unit"]:
                scaled = f"  - one lecture unit = {fmt_time(r['unit'])} of work here"
                if fig.sequential_units and fig.parallel_units:
                    scaled += (f"; the lecture's {fig.sequential_units:g} -> {fig.parallel_units:g} units = "
                               f"{fmt_time(fig.sequential_units * r['unit'])} -> "
                               f"{fmt_time(fig.parallel_units * r['unit'])}")
                out.append(scaled)
            out.append(f"  - why: {r['why']}")
        out.append("")
        seen = []
        for r in items:
            w = r["comp"].workload
            if w in seen or not (res.has_workload(w) or res.get(r["comp"].sequential_from or w,
                                                                r["comp"].sequential)):
                continue
            seen.append(w)
            out.append(f"Rows of `{w}`:")
            out.append("")
            out.append(row_table(claim, claim.comparisons, w, res, has_gpu))
            out.append("")
        for plot in claim.plots:  # the manifest's claim names the plots its section shows
            if plot in plots_done:
                out.append(f"![{SECTION_PLOTS.get(plot, PLOTS[plot])}]({plot})")
                out.append("")
    return out


# ---- plots ----------------------------------------------------------------------------------------

def import_pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt, None
    except Exception as e:  # ImportError, or a broken install
        return None, f"{type(e).__name__}: {e}"


def sweeps(res):
    """Rows of one workload/implementation at several worker counts: {(w, impl): [(workers, row)]}."""
    groups = {}
    for (w, i, a), row in res.rows.items():
        if ok(row) and workers_of(row, 0):
            groups.setdefault((w, i), {})[workers_of(row, 0)] = row
    return {k: sorted(v.items()) for k, v in groups.items() if len(v) >= 2}


def plot_speedup_vs_workers(plt, evals, res, cores, path):
    """Sweeps (one implementation at several worker counts) as lines; every other claim row as a point
    at its worker count, with a bar at its ideal; the line speedup = workers."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    sw = sweeps(res)
    top = max(cores, 2)
    for (w, impl), points in sorted(sw.items()):
        comp = next((r["comp"] for r in evals if r["comp"].workload == w), None)
        base = res.get(comp.sequential_from or w, comp.sequential) if comp else res.get(w, "seq_loop")
        if not ok(base):
            base = points[0][1] if points[0][0] == 1 else None
        if not base:
            continue
        xs = [p for p, _ in points]
        ax.plot(xs, [base["time"] / r["time"] for _, r in points], marker="o", label=f"{w}/{impl} (sweep)")
        ideals = [r["counters"].get("ideal_speedup") for _, r in points]
        # Drawn only where the workload's ideal departs from the line speedup = workers.
        if all(ideals) and any(abs(i - x) > 1e-9 for i, x in zip(ideals, xs)):
            ax.plot(xs, ideals, linestyle=":", marker="x", label=f"{w}/{impl}: its ideal")
        top = max(top, *xs)
    for r in evals:
        if r["speedup"] is None or (r["comp"].workload, r["comp"].parallel) in sw:
            continue
        x = workers_of(r["par"], cores) or cores or 1
        name = f"{r['claim'].id} {r['comp'].workload}/{r['comp'].parallel}"
        pts = ax.plot([x], [r["speedup"]], marker="o", linestyle="", label=name)
        if r["ideal"]:
            ax.plot([x], [r["ideal"]], marker="_", markersize=18, linestyle="", color=pts[0].get_color())
        top = max(top, x, r["speedup"], r["ideal"] or 0)
    ax.set_title("Speedup against workers (points: a claim's row, bar: its ideal here)")
    ax.plot([1, top], [1, top], color="gray", linestyle="--", label="ideal: speedup = workers")
    if cores:
        ax.axvline(cores, color="lightgray", linewidth=1)
        ax.text(cores, 0.2, f" {cores} cores", color="gray", va="bottom")
    ax.set_xlabel("workers (threads)")
    ax.set_ylabel("speedup over the sequential loop")
    ax.set_xlim(0, top * 1.1 + 0.5)
    ax.set_ylim(0, top * 1.1 + 0.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pipeline_rows(res):
    """The rows with util_<stage> counters of the workloads whose claim shows pipeline_utilisation.png."""
    workloads = {c.workload for claim in registry.CLAIMS if "pipeline_utilisation.png" in claim.plots
                 for c in claim.comparisons}
    out = []
    for (w, i, a), row in sorted(res.rows.items(), key=lambda x: (x[0][0], impl_order(x[0][1]), x[0][2] or "")):
        if ok(row) and w in workloads and any(k.startswith("util_") for k in row["counters"]):
            out.append((f"{w}/{i}" + (f"/{a}" if a else ""), row))
    return out


def plot_pipeline(plt, rows, path):
    stages = []
    for _, row in rows:
        for k in row["counters"]:
            if k.startswith("util_") and k[5:] not in stages:
                stages.append(k[5:])
    stages.sort(key=lambda s: (PIPELINE_STAGES.index(s) if s in PIPELINE_STAGES else 99, s))
    fig, ax = plt.subplots(figsize=(8, 5))
    width = 0.8 / max(1, len(rows))
    for j, (name, row) in enumerate(rows):
        xs = [k + (j - (len(rows) - 1) / 2) * width for k in range(len(stages))]
        ys = [row["counters"].get(f"util_{s}", 0.0) * 100 for s in stages]
        bars = ax.bar(xs, ys, width, label=name)
        ideal = [row["counters"].get(f"ideal_util_{s}") for s in stages]
        if any(v is not None for v in ideal):
            ax.plot([x for x, v in zip(xs, ideal) if v is not None], [v * 100 for v in ideal if v is not None],
                    linestyle="", marker="_", markersize=14, color=bars.patches[0].get_facecolor())
    ax.set_xticks(range(len(stages)))
    ax.set_xticklabels(stages)
    ax.set_ylabel("utilisation (% of the wall time the stage was busy)")
    ax.set_ylim(0, 105)
    ax.set_title("The lecture's pipeline: per-stage utilisation")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_claims(plt, evals, path):
    labels = [f"{r['claim'].id} {r['comp'].workload}" + (f"\n{r['comp'].caption}" if r['comp'].caption else "")
              for r in evals]
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(evals) + 2), 5.5))
    xs = list(range(len(evals)))
    w = 0.38
    ax.bar([x - w / 2 for x in xs], [r["speedup"] or 0 for r in evals], w, label="measured")
    ax.bar([x + w / 2 for x in xs], [r["ideal"] or 0 for r in evals], w, label="ideal here", alpha=0.6)
    for x, r in zip(xs, evals):
        if r["speedup"] is None:
            ax.text(x, 0.05, r["status"], rotation=90, ha="center", va="bottom", fontsize=7, color="gray")
        elif r["efficiency"] is not None:
            ax.text(x - w / 2, r["speedup"], f"{r['efficiency']:.0%}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("speedup over the sequential loop")
    ax.set_title("Each claim: measured against ideal speedup (label: efficiency)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_plots(plt, evals, res, cores, out_dir):
    done, notes = [], []
    plot_speedup_vs_workers(plt, evals, res, cores, os.path.join(out_dir, "speedup_vs_workers.png"))
    done.append("speedup_vs_workers.png")
    rows = pipeline_rows(res)
    if rows:
        plot_pipeline(plt, rows, os.path.join(out_dir, "pipeline_utilisation.png"))
        done.append("pipeline_utilisation.png")
    else:
        notes.append("pipeline_utilisation.png: not drawn, no lecture_pipeline row has util_<stage> counters")
    plot_claims(plt, evals, os.path.join(out_dir, "claims_measured_vs_ideal.png"))
    done.append("claims_measured_vs_ideal.png")
    trace = os.path.join(out_dir, MODEL_TRACE)
    if os.path.exists(trace):
        import timeline_plot  # benchmarks/timeline_plot.py
        timeline_plot.draw(plt, trace, os.path.join(out_dir, "model_timeline.png"))
        done.append("model_timeline.png")
    else:
        notes.append(f"model_timeline.png: not drawn, no {MODEL_TRACE} (trident_bench_model writes it under run-suite.sh)")
    return done, notes


# ---- main -----------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    group.add_argument("--require-plots", action="store_true", help="fail (exit 1) when the plots cannot be drawn")
    args = parser.parse_args(argv)

    out_dir = args.results_dir
    if not os.path.isdir(out_dir):
        print(f"report: no directory {out_dir}", file=sys.stderr)
        return 1
    contexts, rows, failures = load(out_dir)
    if not rows:
        print(f"report: no benchmark results (*.json in Google Benchmark's format) in {out_dir}", file=sys.stderr)
        return 1
    ctx = main_context(contexts)
    gpu = gpu_name(contexts)
    res = Results(rows, load_lines(read_load(out_dir, contexts), cores_of(ctx), ctx)[1])
    # A GPU row in the run also says there is a GPU.
    gpu_rows = [(w, i) for (w, i, _), r in rows.items() if ok(r) and ("gpu" in i or i == "cublas")]
    has_gpu = bool(gpu or gpu_rows)
    evals = evaluate_all(res, has_gpu, res.busy)

    status = 0
    plots_done, plot_notes = [], []
    if args.no_plots:
        plot_notes.append("plots not drawn (--no-plots)")
    else:
        plt, why = import_pyplot()
        if plt is None:
            plot_notes.append(f"plots not drawn: matplotlib cannot be imported by {sys.executable} ({why}); "
                              f"install it (Debian/Ubuntu: apt-get install python3-matplotlib)")
            if args.require_plots:
                status = 1
        else:
            try:
                plots_done, more = draw_plots(plt, evals, res, cores_of(ctx), out_dir)
                plot_notes += more
            except Exception as e:  # a plot must not cost the report
                plot_notes.append(f"plots failed: {type(e).__name__}: {e}")
                if args.require_plots:
                    status = 1

    md = header_lines(contexts, ctx, gpu, out_dir)
    md += claims_section(evals)
    md.append("## Plots")
    md.append("")
    for name in plots_done:
        md.append(f"![{PLOTS[name]}]({name})")
        md.append("")
    md += [f"- {n}" for n in plot_notes]
    md.append("")
    md += claim_sections(evals, res, plots_done, has_gpu)
    if failures:
        md.append("## Failed benchmarks")
        md.append("")
        md += [f"- `{name}` ({file}): {msg}" for name, msg, file in failures]
        md.append("")
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write("\n".join(md).rstrip() + "\n")

    print("\n".join(terminal_table(evals, ctx, gpu)))
    print()
    for line in load_lines(read_load(out_dir, contexts), cores_of(ctx), ctx)[0]:
        print(f"report: {line[2:]}")
    for n in plot_notes:
        print(f"report: {n}")
    if plots_done:
        print(f"report: plots: {', '.join(os.path.join(out_dir, p) for p in plots_done)}")
    for name, msg, file in failures:
        print(f"report: FAILED {name} ({file}): {msg}")
    if failures:
        status = 1
    print(f"report: written to {os.path.join(out_dir, 'report.md')}")
    return status


if __name__ == "__main__":
    sys.exit(main())
