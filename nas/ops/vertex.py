"""A vertex as the ops it runs: its scaling blocks and merge (`nas.ops.merging`), then its operation.

`vertex_ops` is the one decomposition everything reads: `nas.arch.annotate` sums its
costs, `nas.builder` builds one module per op, `hw.predictor` predicts each op's latency.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx

from nas.checks import require, require_one_of
from nas.dag import INPUT, inputs_of, topological_order
from nas.ops.base import OPERATIONS, Op
from nas.ops.merging import combine
from nas.shapes import Shape


@dataclass
class VertexCost:
    """Merged input shape, output shape, MACs and parameters of one vertex."""

    in_shape: Shape
    out_shape: Shape
    macs: int
    params: int


def input_shapes(arch: nx.DiGraph, v: Any) -> list[Shape]:
    """What `v` reads: the image for the input vertex, else its (annotated) predecessors' outputs."""
    if v == INPUT:
        return [(arch.graph.get("in_channels", 3), arch.graph["input_size"])]
    return [(arch.nodes[u]["channels"], arch.nodes[u]["size"]) for u in inputs_of(arch, v)]


def vertex_ops(arch: nx.DiGraph, v: Any) -> list[Op]:
    """The ops vertex `v` runs, in order; its predecessors must be annotated."""
    attrs = arch.nodes[v]
    require_one_of("op", attrs.get("op"), OPERATIONS.names())
    operation = OPERATIONS.get(attrs["op"])
    in_shapes = input_shapes(arch, v)
    ops = [] if operation.reads_image else combine(attrs.get("merge", "sum"), arch.graph.get("aggregation", "input_sigmoid"),
                                                   in_shapes)
    cin, size = ops[-1].cost()[0] if ops else in_shapes[0]
    return [*ops, operation.make(**operation.params(attrs, cin, size, arch.graph["num_classes"]))]


def vertex_cost(ops: list[Op]) -> VertexCost:
    """The sizes and costs of a vertex running `ops`."""
    costs = [op.cost() for op in ops]
    last = ops[-1].p
    in_shape, out_shape = (last["cin"], last["size"]), costs[-1][0]
    require(out_shape[1] > 0 or out_shape[1] == 0 and (ops[-1].entry.flattens or in_shape[1] == 0),
            f"spatial size drops below 1 at op {ops[-1].entry.vertex_op!r}; stage less or use a larger input")
    return VertexCost(in_shape, out_shape, sum(m for _, m, _ in costs), sum(w for _, _, w in costs))


def architecture_ops(arch: nx.DiGraph) -> dict[Any, list[Op]]:
    """Vertex → its ops, in topological order, of an annotated architecture."""
    return {v: vertex_ops(arch, v) for v in topological_order(arch)}
