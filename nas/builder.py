"""Architecture → `torch.nn.Module` that executes the DAG."""
from __future__ import annotations

import networkx as nx
import torch
from torch import nn

from nas.arch import annotate
from nas.blocks import Merge, Scaler, build_op
from nas.dag import INPUT, OUTPUT, inputs_of, topological_order


class VertexModule(nn.Module):
    """Scaling blocks → merge → operation, for one vertex."""

    def __init__(self, attrs: dict, in_shapes: list[tuple[int, int]], aggregation: str,
                 num_classes: int, image_channels: int) -> None:
        super().__init__()
        merge = attrs.get("merge", "sum")
        if in_shapes:
            size = min(s for _, s in in_shapes)
            cmax = max(c for c, _ in in_shapes)
            self.scalers = nn.ModuleList(
                Scaler(c, c if merge == "concat" else cmax, size) for c, _ in in_shapes
            )
            self.merge = Merge(merge, len(in_shapes), aggregation)
        self.op = build_op(attrs, num_classes, image_channels)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.op(self.merge([scale(x) for scale, x in zip(self.scalers, inputs)]))


class ArchitectureNet(nn.Module):
    """Runs vertices in topological order, keeping each output only until its last use.

    `plan` lists, per vertex, the vertices it reads and the outputs that can be dropped
    once it has run, so peak memory follows the DAG's live tensors, not its size.
    """

    def __init__(self, arch: nx.DiGraph) -> None:
        super().__init__()
        arch = annotate(arch.copy())
        self.arch = arch
        order = topological_order(arch)
        num_classes = arch.graph["num_classes"]
        aggregation = arch.graph.get("aggregation", "input_sigmoid")
        image_channels = arch.graph.get("in_channels", 3)
        self.vertices = nn.ModuleDict()
        shapes = {v: (arch.nodes[v]["channels"], arch.nodes[v]["size"]) for v in order}
        position = {v: i for i, v in enumerate(order)}
        last_use = {u: max((position[w] for w in arch.successors(u)), default=len(order)) for u in order}
        self.plan: list[tuple[str, list[str], list[str]]] = []
        for i, v in enumerate(order):
            preds = inputs_of(arch, v)
            self.vertices[str(v)] = VertexModule(
                arch.nodes[v], [shapes[u] for u in preds], aggregation, num_classes, image_channels
            )
            free = [str(u) for u in preds if last_use[u] == i]
            self.plan.append((str(v), [str(u) for u in preds], free))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {}
        for name, preds, free in self.plan:
            module = self.vertices[name]
            if name == INPUT:
                values[name] = module.op(x)
                continue
            values[name] = module([values[u] for u in preds])
            for u in free:
                del values[u]
        return values[OUTPUT]


def build_model(arch: nx.DiGraph) -> ArchitectureNet:
    return ArchitectureNet(arch)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
