"""The targets of benchmarks/manifest/*.toml, each computed from one run's numbers: the check logic,
written once.  A target is one entry of a workload's `targets` list, e.g.

    { check = "not_slower_than", other = "tbb", arg = 1000, factor = 1.2, label = "..." }

`check` names a method of Checker below; the other keys are that method's keyword arguments (the
workload is the entry's).  benchmarks/workloads.py checks every target against these signatures when
it reads the manifest.  Used by benchmarks/summarize.py (summary.md's targets table).
Standard library only.
"""
import inspect

# "At least as fast as" passes when trident's time is within this fraction of the other's: the
# run-to-run spread of the medians measured on the 2-core machine (cv column) is of this order.
NOISE = 0.03

PEERS = ["tbb", "tbb_static", "omp", "std_par"]  # what a user would pick instead of trident par


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


class Checker:
    """Computes targets from one run's results (summarize.load's dict: (workload, impl, arg) ->
    measurements) and collects them as rows (workload, target, measured, "pass" | "MISS" | "n/a").
    Every public method is a check a manifest may name."""

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

    def bandwidth_fraction(self, w, metric, reference, factor):
        label = "traffic" if metric == "traffic" else "bytes"
        target = f"trident_par {label} >= {factor:.0%} of the best {reference} (same binary)"
        t = self.get(w, "trident_par")
        refs = [(i, m) for (rw, i, a), m in self.r.items() if rw == reference and i != "seq_loop" and m.get(metric)]
        if not t or not t.get(metric) or not refs:
            return self.missing(w, target, f"{w}/trident_par or {reference}")
        name, best = max(refs, key=lambda x: x[1][metric])
        frac = t[metric] / best[metric]
        self.add(w, target, f"{t[metric] / 1e9:.1f} vs {reference}/{name} {best[metric] / 1e9:.1f} GB/s ({frac:.0%})",
                 frac >= factor)

    def speedup_over(self, w, base, factor, impl="trident_par"):
        target = f"{impl} >= {factor}x over {base}"
        b, t = self.get(w, base), self.get(w, impl)
        if not b or not t:
            return self.missing(w, target, f"{impl}/{base}")
        s = b["time"] / t["time"]
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

    def counter_ratio_at_most(self, w, counter, other, factor, impl="trident_par", label=None, arg=None):
        target = label or f"{impl} {counter} at most {factor:.2f}x {other}'s" + (f" ({arg})" if arg is not None else "")
        t, o = self.get(w, impl, arg), self.get(w, other, arg)
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


    # ---- model-parallel pipelines (benchmarks/bench_model.cpp): every row of a workload, one per
    # schedule x micro-batch count, read with its counters (devices, micro_batches, predicted_seconds,
    # pipeline_ideal, predicted_gain_over_1f1b).

    def _pipeline_rows(self, w):
        return sorted(((i, a, m) for (rw, i, a), m in self.r.items() if rw == w), key=lambda x: (x[0], x[1] or 0))

    def _oversubscribed(self, m):
        """More devices than cores: the devices' threads take turns, which no prediction models."""
        return bool(self.cores) and m["counters"].get("devices", 0) > self.cores

    def pipeline_prediction(self, w, factor):
        """Every row against its plan's prediction: simulate()'s step time / the measured one.  Rows with
        more devices than cores are left out."""
        target = f"every row >= {factor:.0%} of the simulator's prediction (predicted / measured step time)"
        rows = [(i, a, m) for i, a, m in self._pipeline_rows(w) if m["counters"].get("predicted_seconds")]
        ratios = sorted((m["counters"]["predicted_seconds"] / m["time"], f"{i}/{a}")
                        for i, a, m in rows if not self._oversubscribed(m))
        if not ratios:
            return self.missing(w, target, f"rows on at most {self.cores} cores" if rows else "predicted_seconds counters")
        passed = sum(r >= factor for r, _ in ratios)
        self.add(w, target, f"{passed} of {len(ratios)} rows; lowest {ratios[0][1]} {ratios[0][0]:.0%}, "
                            f"median {ratios[len(ratios) // 2][0]:.0%}", passed == len(ratios))

    def pipeline_ideal(self, w, factor, base_workload, base_impl):
        """Rows with m >= 4p: the speedup over one device at the same m (workload `base_workload`, implementation
        `base_impl`) against p m / (m + p - 1).  Rows with more devices than cores are left out: their
        threads take turns on the cores."""
        target = f"rows with m >= 4p: speedup over one device >= {factor:.0%} of p m / (m + p - 1)"
        out, left_out = [], 0
        for i, a, m in self._pipeline_rows(w):
            c = m["counters"]
            p, mb = c.get("devices", 0), c.get("micro_batches", 0)
            one = self.get(base_workload, base_impl, a)
            if not p or not mb or mb < 4 * p or not c.get("pipeline_ideal") or not one:
                continue
            if self._oversubscribed(m):
                left_out += 1
                continue
            out.append(((one["time"] / m["time"]) / c["pipeline_ideal"], f"{i}/{a}"))
        if not out:
            return self.missing(w, target, f"rows with m >= 4p on at most {self.cores} cores" if left_out else
                                f"{base_workload}/{base_impl} and rows with m >= 4p")
        out.sort()
        passed = sum(r >= factor for r, _ in out)
        self.add(w, target, f"{passed} of {len(out)} rows; lowest {out[0][1]} {out[0][0]:.0%} of ideal",
                 passed == len(out))

    def faster_as_predicted(self, w, impl, other, tolerance):
        """At every micro-batch count both ran: impl's speedup over other (time ratio) against the one
        simulate() predicts (their predicted_gain_over_1f1b counters), within the tolerance.  Rows with
        more devices than cores are left out."""
        target = f"{impl} faster than {other} by the predicted factor, within {tolerance:.0%}"
        out, left_out = [], 0
        for i, a, m in self._pipeline_rows(w):
            o = self.get(w, other, a)
            if i != impl or not o:
                continue
            if self._oversubscribed(m):
                left_out += 1
                continue
            gi, go = m["counters"].get("predicted_gain_over_1f1b"), o["counters"].get("predicted_gain_over_1f1b")
            if not gi or not go:
                continue
            measured, predicted = o["time"] / m["time"], gi / go
            out.append((abs(measured / predicted - 1), a, measured, predicted))
        if not out:
            return self.missing(w, target, f"rows on at most {self.cores} cores" if left_out else
                                f"{impl}/{other} with predicted_gain_over_1f1b")
        worst = max(out)
        passed = sum(d <= tolerance for d, *_ in out)
        self.add(w, target, f"{passed} of {len(out)} micro-batch counts; farthest m = {worst[1]}: measured "
                            f"{worst[2]:.3f}x, predicted {worst[3]:.3f}x", passed == len(out))


# Checks that read every row of their workload (no implementation of their own).
WHOLE_WORKLOAD = {"pipeline_prediction", "pipeline_ideal"}


def checks():
    """The checks a manifest may name: {name: signature of its arguments after the workload}."""
    out = {}
    for name, fn in inspect.getmembers(Checker, inspect.isfunction):
        if name.startswith("_") or name in ("get", "add", "missing"):
            continue
        params = list(inspect.signature(fn).parameters.values())[2:]  # after self, w
        out[name] = inspect.Signature(params)
    return out


def run(workloads, results, cores):
    """The targets of `workloads` (workloads.Workload, in manifest order) on one run's results: the
    Checker's rows.  A target of a workload that did not run at all is left out."""
    c = Checker(results, cores)
    for w in workloads:
        for t in w.targets:
            getattr(c, t.check)(w.name, **t.params)
    ran = {k[0] for k in results}
    return [r for r in c.rows if r[3] != "n/a" or r[0] in ran]


def references(w, target):
    """The rows a target reads, for benchmarks/check_manifest.py: [(workload, implementation, arg)]
    (arg None: any row of that implementation; implementation None: any row of the workload)."""
    sig = checks()[target.check]
    bound = sig.bind(**target.params)
    bound.apply_defaults()
    p = bound.arguments
    arg = p.get("arg")
    out = [(w, None if target.check in WHOLE_WORKLOAD else p.get("impl", "trident_par"), arg)]
    if target.check == "speedup_at_least_cores":
        out.append((w, "seq_loop", arg))
    out += [(w, p[key], arg) for key in ("other", "base") if key in p]
    if "base_impl" in p:
        out.append((p["base_workload"], p["base_impl"], None))
    if "reference" in p:
        out.append((p["reference"], None, None))
    return out
