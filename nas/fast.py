"""The fast inference path: runs of vertices traced and frozen into TorchScript graphs.

Why: eager inference dispatches 8-12 modules per vertex from Python (130-170 µs per
vertex, 35-50 % of a forward at <= 32 px). `torch.jit.trace` records the aten ops of a
run of vertices once and `torch.jit.freeze` folds the weights in (BatchNorm into the
preceding convolution), so the run executes from C++: measured 1.7-1.9x faster at batch
1 and 224 px, built in about a second, same outputs to ~1e-6. (`torch.jit.script`
cannot compile the vertex modules; `torch.compile` is as fast but takes 40-80 s per
architecture.) Shapes are fixed per graph, as they are per deployed model and batch.

A plan (`nas.execute`) is cut into `Segment`s where the caller must act between steps
(a distributed rank: before a receive, after a send), and each segment is traced on its
first call with the tensors it gets, so no example shapes are needed: the whole model
is one segment in one process, a rank's share a few.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from nas.builder import ArchitectureNet
from nas.dag import OUTPUT
from nas.execute import IMAGE, Segment, run, segments


def frozen(module: nn.Module, example: tuple) -> torch.jit.ScriptModule:
    """`module` (eval mode) traced on `example` and frozen for inference."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks baked in: shapes are fixed
        warnings.filterwarnings("ignore", r".*torch\.jit\.\w+` is deprecated", FutureWarning)
        return torch.jit.freeze(torch.jit.trace(module.eval(), example, check_trace=False))


class SegmentModule(nn.Module):
    """A segment's vertex modules run by the one loop, as one module to trace."""

    def __init__(self, segment: Segment, modules: Mapping[Any, nn.Module] | nn.ModuleDict) -> None:
        super().__init__()
        self.segment = segment
        self.parts = nn.ModuleDict({str(step.vertex): modules[step.vertex] for step in segment.steps})

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        values = run(self.segment.steps, self._compute, dict(zip(self.segment.inputs, inputs, strict=True)))
        return tuple(values[v] for v in self.segment.outputs)

    def _compute(self, vertex: Any, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.parts[str(vertex)](inputs)


class TracedPlan:
    """`steps` grouped into segments (see `nas.execute.segments`), each traced and frozen on
    its first call: `run(self.steps, self.compute, ...)` computes what the plan computes.

    `alone` steps stay plain; `compute` hands them to `fallback` (e.g. a rank's image and
    result pseudo-steps).
    """

    def __init__(
        self,
        steps: Sequence[Any],
        modules: Mapping[Any, nn.Module] | nn.ModuleDict,
        cut_before: Callable[[Any], bool] = lambda step: False,
        cut_after: Callable[[Any], bool] = lambda step: False,
        alone: Callable[[Any], bool] = lambda step: False,
        fallback: Callable[[Any, list], Any] | None = None,
    ) -> None:
        self.steps = segments(steps, cut_before, cut_after, alone)
        self.modules = modules
        self.fallback = fallback
        self.segments = {s.vertex: s for s in self.steps if isinstance(s, Segment)}
        self.graphs: dict[Any, torch.jit.ScriptModule] = {}

    def compute(self, vertex: Any, inputs: list) -> Any:
        segment = self.segments.get(vertex)
        if segment is None:
            if self.fallback is None:
                raise KeyError(f"step {vertex!r} is in no segment and there is no fallback")
            return self.fallback(vertex, inputs)
        graph = self.graphs.get(vertex)
        if graph is None:
            graph = self.graphs[vertex] = frozen(SegmentModule(segment, self.modules), tuple(inputs))
        return graph(*inputs)


class FastNet:
    """An `ArchitectureNet`'s forward on the fast path: one frozen graph, traced on the
    first call (so its batch and input size are fixed by that call)."""

    def __init__(self, model: ArchitectureNet, per_vertex: bool = False) -> None:
        self.model = model.eval()
        self.traced = TracedPlan(model.plan, model.vertices, cut_after=lambda step: per_vertex)

    def __call__(self, x: torch.Tensor, before: Any = None, after: Any = None) -> torch.Tensor:
        return run(self.traced.steps, self.traced.compute, {IMAGE: x}, before, after)[OUTPUT]


def inference_model(
    model: ArchitectureNet, fast_path: bool = True, channels_last: bool = False, per_vertex: bool = False
) -> Callable[..., torch.Tensor]:
    """`model` (an `ArchitectureNet`) ready for inference the way a unit runs it: eval mode,
    in the memory layout, eager or on the fast path (`per_vertex`: one graph per vertex,
    for per-vertex timing hooks). Convert the input with `to_layout`."""
    model = model.eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return FastNet(model, per_vertex) if fast_path else model


def to_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """`x` in the memory layout the model runs in (flat tensors unchanged)."""
    if channels_last and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x.contiguous()
