#!/usr/bin/env python3
"""The lecture's claims that `scripts/trident bench` measures, and the benchmark rows that feed each one.

Read by benchmarks/report.py.  Standard library only; data, no logic beyond lookups.

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

Adding a claim's measurement is adding one benchmark whose name matches a comparison below: the
claim's row then fills in by itself.  A claim none of whose rows ran is shown as "not run" (or
"not built yet" for a claim whose benchmarks do not exist yet), never dropped.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple


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


PYTHON_PEERS = ("python_sequential", "python_threads", "python_processes")

CLAIMS: Tuple[Claim, ...] = (
    Claim(
        id="1",
        title="Data parallelism: 1000 batches on 8 workers",
        figure=Figure(
            text="1000 batches x 1 s each: 1000 s sequentially, 1000 / 8 x 1 s = 125 s on 8 workers, 8x faster",
            short="1000u -> 125u on 8: 8x",
            sequential_units=1000, parallel_units=125, workers=8, speedup=8.0),
        comparisons=(
            Comparison("lecture_batches", peers=("tbb", "omp")),
        ),
        description="1000 independent batches of one unit of CPU work each (benchmarks/bench_lecture.cpp)",
    ),
    Claim(
        id="2",
        title="Task parallelism: the five-stage pipeline",
        figure=Figure(
            text="Load -> Clean -> Extract -> Train -> Eval taking 5, 3, 4, 10, 2 minutes: 24 minutes per batch "
                 "sequentially, about 12 minutes pipelined (2x)",
            short="5/3/4/10/2: ~2x",
            sequential_units=24, parallel_units=12, speedup=2.0),
        comparisons=(
            Comparison("lecture_pipeline", peers=("tbb", "trident_seq"),
                       caption="every stage serial in order"),
            Comparison("lecture_pipeline_train_replicated", peers=("tbb",), sequential_from="lecture_pipeline",
                       caption="Train replicated: a parallel stage"),
        ),
        description="stages of 5, 3, 4, 10 and 2 units of CPU work per batch (benchmarks/bench_pipeline.cpp)",
    ),
    Claim(
        id="3",
        title="I/O-bound tasks on a thread pool",
        figure=Figure(
            text="8 I/O tasks of 2 s each on 4 threads finish in 4 s (2 rounds of 4), against 16 s one after "
                 "another: 4x",
            short="8 x 2u on 4: 4u, 4x",
            sequential_units=16, parallel_units=4, workers=4, speedup=4.0),
        comparisons=(
            Comparison("io_tasks", parallel="trident_blocking_pool",
                       peers=("trident_task_group", "trident_parallel_invoke", "std_async", "tbb_task_group")),
        ),
        description="8 tasks each blocking (sleeping) one unit, on a blocking_pool of 4 (benchmarks/bench_tasks.cpp)",
    ),
    Claim(
        id="4",
        title="CPU-bound loops: threads under the GIL against processes and trident",
        figure=Figure(
            text="a tight CPU-bound Python loop (s += sqrt(i) * sin(i)) on a thread pool: only one thread runs at a "
                 "time under the GIL, so no speedup; processes (one interpreter each) and native threads scale "
                 "with the cores",
            short="threads 1x, processes ~cores",
            speedup=None),
        comparisons=(
            Comparison("cpu_bound_loop", peers=PYTHON_PEERS, caption="C++: trident par",
                       baselines={"python_threads": "python_sequential", "python_processes": "python_sequential"},
                       figure=Figure(text="native threads: about one speedup per core",
                                     short="~1x per core")),
            Comparison("cpu_bound_loop", sequential="python_sequential", parallel="python_threads",
                       caption="Python thread pool, GIL",
                       figure=Figure(text="Python threads under the GIL: no speedup", short="Python threads: 1x",
                                     speedup=1.0)),
            Comparison("cpu_bound_loop", sequential="python_sequential", parallel="python_processes",
                       caption="Python process pool",
                       figure=Figure(text="Python processes: about one speedup per core",
                                     short="Python procs: ~cores")),
        ),
        description="the lecture's loop s += sqrt(i) * sin(i): in C++ (seq_loop, trident_par) and, when python3 "
                    "is present, the lecture's own Python code (benchmarks/python_peers.py)",
    ),
    Claim(
        id="5",
        title="Matrix product (GEMM)",
        figure=Figure(
            text="a large matrix product at C speed (np.dot) on the CPU, and on the GPU (torch .cuda())",
            short="CPU vs GPU GEMM"),
        comparisons=(
            Comparison("gemm", peers=("tbb", "omp"), gpu=("cublas", "trident_gpu")),
        ),
        description="C = A x B on square matrices, cache-blocked (benchmarks/bench_lecture.cpp; the GPU rows, cuBLAS "
                    "and trident::gpu, in benchmarks/gpu/bench_gpu_lecture.cu); GFLOP/s from the rows' GFLOP/s counter",
    ),
    Claim(
        id="6",
        title="Data parallelism: Monte Carlo and image processing",
        figure=Figure(
            text="Monte Carlo simulations and image/video processing: the same computation on different data, "
                 "split across workers",
            short="data-parallel: ~cores"),
        comparisons=(
            Comparison("monte_carlo", peers=("tbb", "omp"), gpu=("trident_gpu",), caption="Monte Carlo"),
            Comparison("image_filter", peers=("tbb", "omp"), gpu=("trident_gpu",), caption="image filter"),
        ),
        description="a Monte Carlo estimate of pi and a 3x3 box blur (benchmarks/bench_lecture.cpp; the GPU rows in "
                    "benchmarks/gpu/bench_gpu_lecture.cu)",
    ),
    Claim(
        id="7a",
        title="Data-parallel neural-network training",
        figure=Figure(
            text="each of 4 GPUs takes a different batch of 32 with the same model; gradients are averaged and "
                 "the parameters synchronised",
            short="4 replicas, grads avg"),
        comparisons=(
            Comparison("nn_data_parallel", gpu=("trident_gpu",)),
        ),
        built=False,
    ),
    Claim(
        id="7b",
        title="Model parallelism: the micro-batch bubble",
        figure=Figure(
            text="a model too large for one device is split layer-wise across devices; micro-batches keep the "
                 "stages busy except for the pipeline's fill and drain (the bubble)",
            short="layer split, bubble"),
        comparisons=(
            Comparison("model_parallel_bubble", gpu=("trident_gpu",)),
        ),
        built=False,
    ),
)


def workloads():
    """Every workload name the claims read."""
    return sorted({c.workload for claim in CLAIMS for c in claim.comparisons})


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


if __name__ == "__main__":
    for claim in CLAIMS:
        print(f"{claim.id:>3}  {claim.title}{'' if claim.built else '  (not built yet)'}")
        for c in claim.comparisons:
            print(f"       {c.workload}: {', '.join(implementations(c))}")
