"""The one forward loop over an execution plan, with hooks (torch-free).

A plan lists steps in a topological order; each computes one vertex from the tensors
it reads, then drops the tensors no later step reads, so peak memory follows the live
tensors, not the DAG's size. The model's forward (`nas.builder`), per-vertex cost
measurement (`hw.runtime.costs`), profiling (`hw.profile`) and each rank of a
distributed inference (`hw.runtime.executor`) all run here; hooks before and after
every step add their receives, timing, tracing and sends. A `Segment` is a run of
consecutive steps computed by one call (the fast path, `nas.fast`, traces each into
one graph); it returns several tensors.
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


@dataclass
class Segment:
    """Consecutive `steps` computed by one call: reads `inputs` (made before it) and returns
    `outputs` (what later steps read, then its last vertex); `vertex` and `last` are its
    last step's (what the `after` hook sees: a send follows the last step only)."""

    vertex: str
    inputs: list[str]
    outputs: list[str]
    steps: list[Any]
    free: list[str] = field(default_factory=list)

    @property
    def last(self) -> Any:
        return self.steps[-1]


def segments(
    steps: Sequence[Any],
    cut_before: Callable[[Any], bool] = lambda step: False,
    cut_after: Callable[[Any], bool] = lambda step: False,
    alone: Callable[[Any], bool] = lambda step: False,
) -> list[Any]:
    """`steps` grouped into maximal `Segment`s: a new one starts at a step with `cut_before`
    and after one with `cut_after`; `alone` steps stay plain steps, outside every segment."""
    groups: list[list[Any]] = []
    open_group = False
    for step in steps:
        if alone(step):
            groups.append([step])
            open_group = False
            continue
        if not open_group or cut_before(step):
            groups.append([])
        groups[-1].append(step)
        open_group = not cut_after(step)
    result: list[Any] = []
    for i, group in enumerate(groups):
        if len(group) == 1 and alone(group[0]):
            result.append(group[0])
            continue
        made = {step.vertex for step in group}
        later = {u for rest in groups[i + 1 :] for step in rest for u in step.inputs}
        inputs = list(dict.fromkeys(u for step in group for u in step.inputs if u not in made))
        outputs = [step.vertex for step in group[:-1] if step.vertex in later] + [group[-1].vertex]
        free = [u for step in group for u in step.free if u not in made]
        result.append(Segment(group[-1].vertex, inputs, outputs, group, free))
    return result


def vertex_plan(arch: nx.DiGraph) -> list[Step]:
    """Every vertex in topological order, by name (str ids: torch `ModuleDict` keys)."""
    steps = [
        Step(str(v), [str(u) for u in inputs_of(arch, v)] if v != INPUT else [IMAGE]) for v in topological_order(arch)
    ]
    free_after_last_use(steps)
    return steps


def run(
    steps: Sequence[Any],
    compute: Callable[[str, list], Any],
    values: dict[str, Any],
    before: Hook | None = None,
    after: Hook | None = None,
) -> dict[str, Any]:
    """Run `steps` on `values` (the tensors present at the start); returns what is left.

    A step with `outputs` (a `Segment`) returns a tuple of them; `after` sees the last."""
    for step in steps:
        if before is not None:
            before(step, values)
        out = compute(step.vertex, [values[u] for u in step.inputs])
        outputs = getattr(step, "outputs", None)
        if outputs is None:
            values[step.vertex] = out
        else:
            values.update(zip(outputs, out, strict=True))
            out = out[-1]
        if after is not None:
            after(step, out)
        for u in step.free:
            del values[u]
    return values
