"""Memory per unit: weights plus peak live activations, checked against the target.

A unit holds the float32 weights of its vertices and, while it runs them, the tensors
still needed: outputs of its vertices until their last local consumer has run (an
output consumed only elsewhere is held until it is sent, i.e. while its vertex runs),
copies of remote inputs from their first until their last local consumer, and, during
a vertex, its merged input and scaled inputs (the scaling blocks' temporaries) next to
its output. Units run their vertices in topological order. Estimates, not
measurements: allocator slack and framework buffers belong in the target's
`reserved_mb`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from hw.schedule import complete_assignment
from nas.arch import DTYPE_BYTES
from nas.dag import INPUT, inputs_of, topological_order


def _bytes(channels: int, size: int) -> int:
    return channels * max(size, 1) ** 2 * DTYPE_BYTES


def unit_memory(
    arch: nx.DiGraph, assignment: Mapping[Any, int], units: int | None = None
) -> dict[int, dict[str, float]]:
    """Per unit: `weights`, `activations` (peak) and `total` bytes."""
    units = units if units is not None else max(assignment.values()) + 1
    unit = complete_assignment(arch, assignment, units)
    order = topological_order(arch)
    out_bytes = {v: _bytes(arch.nodes[v]["channels"], arch.nodes[v]["size"]) for v in order}
    image = _bytes(arch.graph.get("in_channels", 3), arch.graph["input_size"])
    report = {}
    for p in sorted(set(unit.values())):
        mine = [v for v in order if unit[v] == p]
        step = {v: i for i, v in enumerate(mine)}
        # each tensor on this unit lives from its first to its last local step
        spans: dict[Any, tuple[int, int]] = {}
        for v in mine:
            spans[v] = (step[v], max([step[v]] + [step[w] for w in arch.successors(v) if unit[w] == p]))
            for u in arch.predecessors(v):
                if unit[u] != p:  # a received copy
                    first, last = spans.get(("copy", u), (step[v], step[v]))
                    spans[("copy", u)] = (min(first, step[v]), max(last, step[v]))
        peak = 0
        for v in mine:
            i = step[v]
            live = sum(out_bytes[t[1] if isinstance(t, tuple) else t] for t, (a, b) in spans.items() if a <= i <= b)
            peak = max(peak, live + _temporaries(arch, v, image))
        weights = sum(arch.nodes[v]["params"] for v in mine) * DTYPE_BYTES
        report[p] = {"weights": float(weights), "activations": float(peak), "total": float(weights + peak)}
    return report


def _temporaries(arch: nx.DiGraph, v: Any, image: int) -> int:
    """Extra bytes while `v` runs: the image (stem) or scaled inputs and the merged input."""
    if v == INPUT:
        return image
    attrs = arch.nodes[v]
    merged = _bytes(attrs["in_channels"], attrs["in_size"])
    preds = inputs_of(arch, v)
    scaled = sum(
        merged
        for u in preds
        if (arch.nodes[u]["channels"], arch.nodes[u]["size"]) != (attrs["in_channels"], attrs["in_size"])
    )
    return scaled + (merged if len(preds) > 1 else 0)


def memory_constraint(total_per_unit: Mapping[int, float], available_bytes: float) -> float:
    """Optuna constraint value: max over units of used / available − 1 (≤ 0 is feasible)."""
    return max(total_per_unit.values()) / available_bytes - 1.0
