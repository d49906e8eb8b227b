"""Architecture → `torch.nn.Module` that executes the DAG."""

from __future__ import annotations

from typing import Any

import networkx as nx
import torch
from torch import nn

from nas import blocks
from nas.arch import annotate
from nas.dag import OUTPUT, topological_order
from nas.execute import IMAGE, Hook, run, vertex_plan
from nas.ops import Op, vertex_ops


class VertexModule(nn.Module):
    """One vertex: a module per op of `nas.ops.vertex_ops` (scaling blocks → merge → operation).

    With autograd on (training), the paper's sigmoid merge and block run as one
    (`InputSigmoidSum.then_node`: the same function in fewer passes); without it (inference,
    tracing, per-op timing hooks) every op's module is called, one after the other.
    """

    def __init__(self, ops: list[Op]) -> None:
        super().__init__()
        *combine, operation = ops
        self.scalers = nn.ModuleList(op.module() for op in combine[:-1])
        self.merge = combine[-1].module() if combine else None  # None: the stem reads the image
        self.op = operation.module()

    @property
    def parts(self) -> list[nn.Module]:
        """Its modules in the order they run, one per op."""
        return [*self.scalers, *([self.merge] if self.merge is not None else []), self.op]

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        if self.merge is None:
            return self.op(inputs[0])
        scaled = [scale(x) for scale, x in zip(self.scalers, inputs, strict=True)]
        merge, op = self.merge, self.op
        if isinstance(merge, blocks.InputSigmoidSum) and isinstance(op, blocks.NodeOp) and blocks.recording():
            return merge.then_node(op, scaled)
        return self.op(self.merge(scaled))


def vertex_module(arch: nx.DiGraph, v: Any) -> VertexModule:
    """The module of vertex `v` of an annotated architecture."""
    return VertexModule(vertex_ops(arch, v))


class ArchitectureNet(nn.Module):
    """Runs the vertices by `plan` (`nas.execute`); `before`/`after` hooks see every step."""

    def __init__(self, arch: nx.DiGraph) -> None:
        super().__init__()
        self.arch = arch = annotate(arch.copy())
        self.vertices = nn.ModuleDict({str(v): vertex_module(arch, v) for v in topological_order(arch)})
        self.plan = vertex_plan(arch)

    def forward(self, x: torch.Tensor, before: Hook | None = None, after: Hook | None = None) -> torch.Tensor:
        return run(self.plan, self._compute, {IMAGE: x}, before, after)[OUTPUT]

    def _compute(self, vertex: str, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.vertices[vertex](inputs)


def build_model(arch: nx.DiGraph) -> ArchitectureNet:
    return ArchitectureNet(arch)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
