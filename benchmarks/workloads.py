"""Reads the benchmark manifest, benchmarks/manifest/*.toml: one entry per workload, read by the
summary (benchmarks/summarize.py), the report (benchmarks/report.py via benchmarks/claims.py) and
the check against the binaries (benchmarks/check_manifest.py).  The format: benchmarks/README.md.

    python3 benchmarks/workloads.py        prints every workload, its binary, targets and claim

A file is one theme: the workloads of one benchmark binary (`binary`), or, without `binary`, the
planned workloads of claims no benchmark measures yet.  Each top-level table is a workload, named
as its benchmarks are ("<workload>/<implementation>[/<arg>]"), with

    description   one line: what the workload computes (summary.md's heading); required
                  except in planned.toml
    targets       a list of checks, each { check = "<Checker method>", <its arguments> }
                  (benchmarks/targets.py); optional
    claim         the lecture's claim this workload measures (report.md); optional

Anything else is an error that names the file and the key: a typo must not pass silently.
Standard library only (tomllib: Python 3.11 or later).
"""
import os
import sys
try:
    import tomllib
except ImportError:  # Python before 3.11: the tomli package is the same parser, where installed
    try:
        import tomli as tomllib
    except ImportError:
        sys.exit(f"benchmarks/workloads.py: reading benchmarks/manifest/*.toml needs Python 3.11 or later "
                 f"(tomllib) or the tomli package; this is {sys.version.split()[0]} ({sys.executable})")
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets as target_checks  # noqa: E402  (benchmarks/targets.py)

MANIFEST_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manifest")

THEME_KEYS = {"binary", "summary_order"}
WORKLOAD_KEYS = {"description", "targets", "claim"}
# The claim's own text: given once, in the entry of its first workload (manifest order).
CLAIM_TEXT_KEYS = {"title", "lecture", "short", "sequential_units", "parallel_units", "workers", "speedup",
                   "measured_here", "plots"}
CLAIM_KEYS = {"id", "rows"} | CLAIM_TEXT_KEYS
ROW_KEYS = {"sequential", "parallel", "peers", "gpu", "caption", "figure", "sequential_from", "baselines"}
FIGURE_KEYS = {"lecture", "short", "sequential_units", "parallel_units", "workers", "speedup"}


class ManifestError(ValueError):
    """A manifest file that cannot be read as documented; the message names the file and the key."""


@dataclass(frozen=True)
class Target:
    check: str                  # a method of targets.Checker
    params: Dict[str, object]   # its keyword arguments


@dataclass(frozen=True)
class Workload:
    name: str
    theme: str                  # the file's name without .toml
    binary: Optional[str]       # None: planned, no benchmark measures it yet
    description: str = ""
    targets: Tuple[Target, ...] = ()
    claim: Optional[dict] = None  # the claim table as read (validated); benchmarks/claims.py builds on it
    path: str = ""

    @property
    def built(self):
        return self.binary is not None


def _fail(path, what):
    raise ManifestError(f"{os.path.relpath(path)}: {what}")


def _unknown(path, where, table, known):
    extra = sorted(set(table) - known)
    if extra:
        _fail(path, f"{where}: unknown key(s) {', '.join(extra)} (known: {', '.join(sorted(known))})")


def _check_target(path, name, i, t):
    where = f"[{name}] targets[{i}]"
    if not isinstance(t, dict) or not isinstance(t.get("check"), str):
        _fail(path, f"{where}: each target is a table with a `check` naming a method of benchmarks/targets.py")
    known = target_checks.checks()
    if t["check"] not in known:
        _fail(path, f"{where}: unknown check {t['check']!r} (known: {', '.join(sorted(known))})")
    params = {k: v for k, v in t.items() if k != "check"}
    try:
        known[t["check"]].bind(**params)
    except TypeError as e:
        _fail(path, f"{where}: {t['check']}{known[t['check']]}: {e}")
    return Target(t["check"], params)


def _check_claim(path, name, claim):
    where = f"[{name}.claim]"
    if not isinstance(claim, dict):
        _fail(path, f"{where}: must be a table")
    _unknown(path, where, claim, CLAIM_KEYS)
    if not isinstance(claim.get("id"), str) or not claim["id"]:
        _fail(path, f"{where}: `id` (a string such as \"2\") is required")
    rows = claim.get("rows")
    if not isinstance(rows, list) or not rows:
        _fail(path, f"{where}: `rows` (a list of at least one table) is required")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            _fail(path, f"{where} rows[{i}]: must be a table")
        _unknown(path, f"{where} rows[{i}]", row, ROW_KEYS)
        if "figure" in row:
            _unknown(path, f"{where} rows[{i}].figure", row["figure"], FIGURE_KEYS)
    if "title" in claim and not ("lecture" in claim and "short" in claim):
        _fail(path, f"{where}: a claim's text (`title`) comes with `lecture` and `short`")


def read_file(path):
    """The workloads of one manifest file, in file order: (summary_order, [Workload])."""
    theme = os.path.splitext(os.path.basename(path))[0]
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        _fail(path, f"not valid TOML: {e}")
    binary = data.get("binary")
    if binary is not None and not isinstance(binary, str):
        _fail(path, "`binary` must be a string (the executable's name)")
    order = data.get("summary_order", 1000)
    if not isinstance(order, int):
        _fail(path, "`summary_order` must be an integer")
    out = []
    for name, entry in data.items():
        if name in THEME_KEYS:
            continue
        if not isinstance(entry, dict):
            _fail(path, f"{name}: unknown top-level key (known: {', '.join(sorted(THEME_KEYS))}; a workload is a "
                        f"table, [{name}])")
        if "/" in name:
            _fail(path, f"[{name}]: a workload's name has no '/' (the benchmark names are <workload>/<impl>)")
        _unknown(path, f"[{name}]", entry, WORKLOAD_KEYS)
        if not isinstance(entry.get("description", ""), str):
            _fail(path, f"[{name}] description: must be a string")
        if binary is not None and not entry.get("description"):
            _fail(path, f"[{name}]: `description` (one line: what the workload computes) is required")
        targets = entry.get("targets", [])
        if not isinstance(targets, list):
            _fail(path, f"[{name}] targets: must be a list of tables")
        if "claim" in entry:
            _check_claim(path, name, entry["claim"])
        if binary is None and (targets or "claim" not in entry):
            _fail(path, f"[{name}]: a workload without a binary (planned) has a claim and no targets")
        out.append(Workload(name=name, theme=theme, binary=binary, description=entry.get("description", ""),
                            targets=tuple(_check_target(path, name, i, t) for i, t in enumerate(targets)),
                            claim=entry.get("claim"), path=path))
    return order, out


def load(directory=MANIFEST_DIR):
    """Every workload of the manifest: the themes by summary_order (then name), each file's workloads in
    file order.  Raises ManifestError on a malformed file, a workload in two files, or a claim whose
    text is missing or given twice."""
    themes = []
    for fname in sorted(os.listdir(directory)):
        if fname.endswith(".toml"):
            order, ws = read_file(os.path.join(directory, fname))
            themes.append((order, fname, ws))
    if not themes:
        raise ManifestError(f"{os.path.relpath(directory)}: no *.toml manifest files")
    out, seen = [], {}
    for _, _, ws in sorted(themes, key=lambda t: (t[0], t[1])):
        for w in ws:
            if w.name in seen:
                _fail(w.path, f"[{w.name}]: also in {os.path.relpath(seen[w.name].path)} (one entry per workload)")
            seen[w.name] = w
            out.append(w)
    texts = {}
    for w in out:
        if w.claim is not None and "title" in w.claim:
            cid = w.claim["id"]
            if cid in texts:
                _fail(w.path, f"[{w.name}.claim]: claim {cid}'s text is also in [{texts[cid].name}.claim]")
            texts[cid] = w
    for w in out:
        if w.claim is not None and w.claim["id"] not in texts:
            _fail(w.path, f"[{w.name}.claim]: no entry gives claim {w.claim['id']}'s title, lecture and short")
    return out


def binaries(workloads):
    """The binaries the manifest names, in manifest order."""
    out = []
    for w in workloads:
        if w.binary and w.binary not in out:
            out.append(w.binary)
    return out


if __name__ == "__main__":
    for w in load():
        print(f"{w.name}  ({w.theme}.toml, {w.binary or 'planned'})" + (f": {w.description}" if w.description else ""))
        for t in w.targets:
            print(f"    target {t.check} {t.params}")
        if w.claim:
            print(f"    claim {w.claim['id']}: {len(w.claim['rows'])} row(s)")
