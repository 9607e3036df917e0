"""The planned and the measured timeline of one pipeline step, one row per device: model_timeline.png.

Reads the Chrome trace that trident::model::write_timeline_trace writes (benchmarks/bench_model.cpp
writes <results>/model_timeline.json when run by benchmarks/run-suite.sh): complete events ("X")
named "F<stage>.<micro-batch>", "B..", "W..", "BW.." (compute) and receives ("RA..", "RG..", category
"idle": the wait they were), process 1 the prediction (simulate()), process 2 the measurement, thread
= device.  Draws two panels on one time axis: planned above, measured below; forwards, backwards and
weight gradients in three colours, each labelled with its micro-batch where it is wide enough, waits
in light grey.  Used by benchmarks/report.py; standard library and matplotlib.
"""
import json

COLOURS = {"F": "#4c72b0", "B": "#dd8452", "BW": "#c44e52", "W": "#55a868"}
PANELS = {1: "planned (simulate)", 2: "measured"}


def read(path):
    """{pid: {tid: [(start_us, duration_us, name, category)]}}, {(pid, tid): device name}."""
    with open(path) as f:
        trace = json.load(f)
    events, names = {}, {}
    for e in trace.get("traceEvents", []):
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e["pid"], e["tid"])] = e.get("args", {}).get("name", str(e["tid"]))
        elif e.get("ph") == "X":
            events.setdefault(e["pid"], {}).setdefault(e["tid"], []).append(
                (float(e["ts"]), float(e["dur"]), e.get("name", ""), e.get("cat", "")))
    return events, names


def kind_of(name):
    """'BW1.2' -> 'BW', 'F3.1' -> 'F'."""
    return "BW" if name.startswith("BW") else name[:1]


def draw(plt, trace_path, png_path):
    """Draws model_timeline.png from the trace; raises ValueError when the trace has no events."""
    events, names = read(trace_path)
    if not events:
        raise ValueError(f"{trace_path}: no timeline events")
    devices = sorted({tid for per in events.values() for tid in per})
    end = max(s + d for per in events.values() for evs in per.values() for s, d, _, _ in evs) / 1e3
    fig, axes = plt.subplots(2, 1, figsize=(10, 1.2 + 0.9 * len(devices) * 2), sharex=True)
    for ax, pid in zip(axes, (1, 2)):
        per = events.get(pid, {})
        for row, tid in enumerate(devices):
            y = len(devices) - 1 - row
            for start, dur, name, cat in per.get(tid, []):
                s, d = start / 1e3, dur / 1e3
                if cat == "idle":
                    ax.broken_barh([(s, d)], (y - 0.3, 0.6), facecolors="#dddddd")
                    continue
                kind = kind_of(name)
                ax.broken_barh([(s, d)], (y - 0.4, 0.8), facecolors=COLOURS.get(kind, "gray"), edgecolor="white",
                               linewidth=0.5)
                if d > end / 60:
                    ax.text(s + d / 2, y, name.split(".")[-1], ha="center", va="center", fontsize=6, color="white")
        ax.set_yticks(range(len(devices)))
        ax.set_yticklabels([names.get((pid, tid), f"device {tid}") for tid in reversed(devices)])
        ax.set_title(PANELS[pid], fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    for kind, colour in COLOURS.items():
        axes[0].broken_barh([(0, 0)], (0, 0), facecolors=colour, label=kind)
    axes[0].broken_barh([(0, 0)], (0, 0), facecolors="#dddddd", label="waiting for a transfer")
    axes[0].legend(fontsize=7, ncol=5, loc="upper right")
    axes[1].set_xlabel("ms from the start of the step (numbers: micro-batch)")
    fig.suptitle("One pipeline step, planned and measured, one row per device", fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
