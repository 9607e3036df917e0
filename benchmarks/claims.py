#!/usr/bin/env python3
"""The lecture's claims that `scripts/trident bench` measures, and the benchmark rows that feed each one.

The claims are data in the manifest (benchmarks/manifest/*.toml: a workload's `claim` table, see
benchmarks/README.md); this module builds CLAIMS from it.  Read by benchmarks/report.py.  Standard
library only; no logic beyond lookups.

Contract with the benchmarks (Google Benchmark JSON, as written by benchmarks/run-suite.sh, and by
benchmarks/python_peers.py for the Python rows):

- A row's name is "<workload>/<implementation>" (Google Benchmark may append "/real_time",
  "/<arg>" or aggregate suffixes); real_time is read in the JSON's time_unit, the median when the
  run has repetitions.
- The parallel row of a comparison carries the counter `ideal_speedup`: the speedup the model of
  the workload allows on this machine (from its cores and the work's shape), computed by the
  benchmark.  Without it the report derives the ideal from `model_seconds` (sequential row's /
  parallel row's) or `ideal_units` (the same ratio), and otherwise shows "-": it never guesses.
- Optional counters: `threads` (the workers the parallel row used; a sweep over several values
  feeds the speedup-against-workers plot), `workers`, `model_seconds`, `unit_us` or
  `unit_seconds` (what one lecture unit costs here), `GFLOP/s` (or `gflops`: a rate, GFLOP per
  second), `util_<stage>` (per-stage utilisation, 0..1, on the pipeline's rows; `ideal_util_<stage>`
  beside it is drawn as the model's mark).
- The parallel row's Google Benchmark label (`state.SetLabel(...)`, the JSON's "label") holds
  the sentence produced by trident's explain facility; the report prints it verbatim as the
  claim's "why" and says "no explanation recorded" when there is none.
- A run context (any JSON's "context") with a non-empty `gpu_name` (or `gpu`) means the machine
  has a GPU; without one, missing GPU rows are shown as "no GPU".

Adding a claim's measurement is adding one benchmark whose name matches a row of the claim in the
manifest: the claim's row then fills in by itself.  A claim none of whose rows ran is shown as "not run" (or
"not built yet" for a claim whose benchmarks do not exist yet), never dropped.
"""
import os
import sys
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads as manifest  # noqa: E402  (benchmarks/workloads.py: reads benchmarks/manifest/*.toml)


@dataclass(frozen=True)
class Figure:
    """The lecture's own numbers for a claim, in its units (None where the lecture gives none)."""
    text: str                              # the claim as the lecture states it
    short: str                             # the same in a few characters, for the terminal table
    sequential_units: Optional[float] = None
    parallel_units: Optional[float] = None
    workers: Optional[int] = None
    speedup: Optional[float] = None


@dataclass(frozen=True)
class Comparison:
    """One row of the claims table: a sequential row against a parallel row of one workload."""
    workload: str
    sequential: str = "seq_loop"
    parallel: str = "trident_par"
    peers: Tuple[str, ...] = ()            # shown in the claim's section, timed against `sequential`
    gpu: Tuple[str, ...] = ()              # the first one present fills the GPU column
    caption: str = ""                      # what this row compares, when a claim has several
    figure: Optional[Figure] = None        # overrides the claim's figure for this row
    # The workload whose sequential row is the baseline, when this one has none of its own (the
    # replicated pipeline does the same work as lecture_pipeline, whose seq_loop times it).
    sequential_from: Optional[str] = None
    # A peer measured against another baseline than `sequential` (the Python rows against Python's
    # own sequential loop): peer -> baseline implementation.
    baselines: Dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    figure: Figure
    comparisons: Tuple[Comparison, ...]
    built: bool = True                     # False: its benchmarks are not written yet
    description: str = ""                  # the workload as measured (one line, for the section)
    plots: Tuple[str, ...] = ()            # report.py's plots shown in the claim's section


def implementations(comparison):
    """The implementations a comparison reads, in display order (no duplicates)."""
    names = [comparison.sequential, comparison.parallel, *comparison.peers, *comparison.baselines.values(),
             *comparison.gpu]
    seen, out = set(), []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def _figure(table):
    return Figure(text=table["lecture"], short=table["short"], sequential_units=table.get("sequential_units"),
                  parallel_units=table.get("parallel_units"), workers=table.get("workers"),
                  speedup=table.get("speedup"))


def _claim_key(cid):
    """"2" < "7a" < "10": the number first, then the letters."""
    digits = len(cid) - len(cid.lstrip("0123456789"))
    return (int(cid[:digits]) if digits else 0, cid[digits:])


def build(manifest_workloads):
    """The claims of the manifest's workloads (benchmarks/workloads.py), by id; a claim's rows in
    manifest order.  Its text comes from the one entry that gives `title`."""
    text, rows, built, plots = {}, {}, {}, {}
    for w in manifest_workloads:
        if w.claim is None:
            continue
        cid = w.claim["id"]
        if "title" in w.claim:
            text[cid] = w.claim
        built[cid] = built.get(cid, False) or w.built
        plots.setdefault(cid, [])
        plots[cid] += [p for p in w.claim.get("plots", ()) if p not in plots[cid]]
        for r in w.claim["rows"]:
            rows.setdefault(cid, []).append(Comparison(
                workload=w.name, sequential=r.get("sequential", "seq_loop"), parallel=r.get("parallel", "trident_par"),
                peers=tuple(r.get("peers", ())), gpu=tuple(r.get("gpu", ())), caption=r.get("caption", ""),
                figure=_figure(r["figure"]) if "figure" in r else None, sequential_from=r.get("sequential_from"),
                baselines=dict(r.get("baselines", {}))))
    return tuple(Claim(id=cid, title=text[cid]["title"], figure=_figure(text[cid]), comparisons=tuple(rows[cid]),
                       built=built[cid], description=text[cid].get("measured_here", ""), plots=tuple(plots[cid]))
                 for cid in sorted(rows, key=_claim_key))


CLAIMS: Tuple[Claim, ...] = build(manifest.load())

# The Python peers' rows (benchmarks/python_peers.py), in the order the report shows them.
PYTHON_PEERS = tuple(dict.fromkeys(i for claim in CLAIMS for c in claim.comparisons for i in implementations(c)
                                   if i.startswith("python_")))


def workloads():
    """Every workload name the claims read."""
    return sorted({c.workload for claim in CLAIMS for c in claim.comparisons})


if __name__ == "__main__":
    for claim in CLAIMS:
        print(f"{claim.id:>3}  {claim.title}{'' if claim.built else '  (not built yet)'}")
        for c in claim.comparisons:
            print(f"       {c.workload}: {', '.join(implementations(c))}")
