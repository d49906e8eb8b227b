"""The one forward loop over an execution plan, with hooks (torch-free).

A plan lists steps in a topological order; each computes one vertex from the tensors
it reads, then drops the tensors no later step reads, so peak memory follows the live
tensors, not the DAG's size. The model's forward (`nas.builder`), per-vertex cost
measurement (`hw.runtime.costs`), profiling (`hw.profile`) and each rank of a
distributed inference (`hw.runtime.executor`) all run here; hooks before and after
every step add their receives, timing, tracing and sends.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from nas.dag import INPUT, inputs_of, topological_order

IMAGE = "<image>"  # pseudo-vertex: the raw image, which the input vertex (stem) reads
Hook = Callable[[Any, Any], None]  # (step, values) before a step; (step, its output) after


@dataclass
class Step:
    """Compute `vertex` from `inputs`, then drop `free` (any object with these fields is a step)."""

    vertex: str
    inputs: list[str]
    free: list[str] = field(default_factory=list)


def free_after_last_use(steps: Sequence[Any]) -> None:
    """Mark each tensor for release right after the last step that reads it."""
    last: dict[Any, int] = {}
    for i, step in enumerate(steps):
        for u in step.inputs:
            last[u] = i
    for u, i in last.items():
        steps[i].free.append(u)


def vertex_plan(arch: nx.DiGraph) -> list[Step]:
    """Every vertex in topological order, by name (str ids: torch `ModuleDict` keys)."""
    steps = [Step(str(v), [str(u) for u in inputs_of(arch, v)] if v != INPUT else [IMAGE])
             for v in topological_order(arch)]
    free_after_last_use(steps)
    return steps


def run(steps: Sequence[Any], compute: Callable[[str, list], Any], values: dict[str, Any],
        before: Hook | None = None, after: Hook | None = None) -> dict[str, Any]:
    """Run `steps` on `values` (the tensors present at the start); returns what is left."""
    for step in steps:
        if before is not None:
            before(step, values)
        out = values[step.vertex] = compute(step.vertex, [values[u] for u in step.inputs])
        if after is not None:
            after(step, out)
        for u in step.free:
            del values[u]
    return values
