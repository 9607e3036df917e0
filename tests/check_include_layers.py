#!/usr/bin/env python3
"""Checks the include graph of include/trident against trident's layers.

Layers, lowest first (a header may include headers of its own layer or of lower ones, never of a
higher one, and the graph has no cycle):

  0 core     detail/*, version, errors, lambda, hints, policy, thread_arena: vocabulary and helpers
  1 backend  backend/*: the executor contract, the executors (seq, oneTBB, CUDA), dispatch
  2 prims    data/*, task/*, comm/*: the primitives, written over the backends
  3 explain  explain/*: the analysis of what the primitives recorded
  4 model    model/*: model parallelism (layers, devices' tensors, schedules, plans), over the
             primitives, recording what explain analyses
  5 umbrella trident.hpp

Usage: check_include_layers.py <include-dir>   (prints every violation, exits 1 if there is one)
"""
import pathlib
import re
import sys

LAYERS = ["core", "backend", "prims", "explain", "model", "umbrella"]

# Deprecated forwarding headers, kept for one release at a path that is now in the wrong layer:
# each may include exactly the header it forwards to.
FORWARDERS = {
    "backend/cuda/gpu_stage.cuh": "task/gpu_stage.cuh",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"trident/([^"]+)"')


def layer_of(path):
    if path == "trident.hpp":
        return 5
    top = path.split("/", 1)[0]
    if "/" not in path or top == "detail":
        return 0
    return {"backend": 1, "data": 2, "task": 2, "comm": 2, "explain": 3, "model": 4}.get(top, 0)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1]) / "trident"
    headers = sorted(p for p in root.rglob("*") if p.suffix in (".hpp", ".cuh", ".h"))
    if not headers:
        print(f"no headers under {root}", file=sys.stderr)
        return 2
    graph = {}
    problems = []
    for header in headers:
        name = header.relative_to(root).as_posix()
        edges = []
        for number, line in enumerate(header.read_text().splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            target = match.group(1)
            edges.append(target)
            if not (root / target).exists():
                problems.append(f"{name}:{number}: includes trident/{target}, which does not exist")
                continue
            if FORWARDERS.get(name) == target:
                continue
            if layer_of(target) > layer_of(name):
                problems.append(
                    f"{name}:{number}: includes trident/{target}: layer {LAYERS[layer_of(name)]} "
                    f"must not include the higher layer {LAYERS[layer_of(target)]}")
        graph[name] = edges

    # Cycles: depth-first search, reporting each cycle once by its path.
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in graph.get(node, []):
            if state.get(target) == "open":
                cycle = stack[stack.index(target):] + [target]
                problems.append("include cycle: " + " -> ".join(cycle))
            elif target in graph and target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node)

    for problem in problems:
        print(problem)
    print(f"{len(graph)} headers, {sum(len(e) for e in graph.values())} includes, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
