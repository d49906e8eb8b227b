"""A vertex as the ops it runs: one scaling block per input, the merge, then its operation.

Scaling block: every input is max-pooled down to the smallest spatial size among the
inputs and, unless the merge keeps widths (concat), 1×1-convolved up to the largest
channel count; flat (fully-connected) inputs cannot be scaled, so they merge only with
flat inputs of matching width. `vertex_ops` is the one decomposition everything reads:
`nas.arch.annotate` sums its costs, `nas.builder` builds a module per op, `hw.predictor`
predicts each op's latency.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import networkx as nx

from nas.checks import require, require_one_of
from nas.dag import INPUT, inputs_of, topological_order
from nas.ops.base import OPERATIONS, OPS, Op, OpKind, entries, register_op, scale
from nas.ops.operations import Operation
from nas.shapes import Shape


@register_op("scaler_identity", pool=False, conv=False)
@register_op("scaler_pool", pool=True, conv=False)
@register_op("scaler_conv", pool=False, conv=True)
@register_op("scaler_pool_conv", pool=True, conv=True)
class Scaler(OpKind):
    """One input's scaling block (`nas.blocks.Scaler`): `in_size` → `size`, `cin` → `cout`."""

    family = "scaler"

    def __init__(self, name: str, pool: bool, conv: bool) -> None:
        super().__init__(name)
        self.pool, self.conv = pool, conv

    def cost(self, p: dict) -> tuple[Shape, int, int]:
        weights = p["cin"] * p["cout"] if self.conv else 0
        return (p["cout"], p["size"]), weights * p["size"] ** 2, weights

    def geometry(self, p: dict) -> tuple[float, float, int]:
        return 1, max(p["in_size"], 1) / max(p["size"], 1), 1

    def module(self, p: dict):
        from nas import blocks

        return blocks.Scaler(p["cin"], p["cout"], p["size"])

    def inputs(self, p: dict) -> list[Shape]:
        return [(p["cin"], p["in_size"])]

    def perturb(self, p: dict, rng: random.Random) -> Op:
        size = scale(p["size"], rng) if p["size"] else 0
        in_size = size * rng.choice((2, 4)) if self.pool else size
        cin = scale(p["cin"], rng)
        cout = scale(p["cout"], rng) if self.conv else cin
        return self.make(cin=cin, cout=cout if cout != cin or not self.conv else 2 * cin, in_size=in_size, size=size)


def scaler(cin: int, cout: int, in_size: int, size: int) -> Op:
    flags = [name for name, on in (("pool", in_size != size), ("conv", cin != cout)) if on]
    return OPS.get("scaler_" + ("_".join(flags) or "identity")).make(cin=cin, cout=cout, in_size=in_size, size=size)


@register_op("merge_single", mode="single", block="Single", max_inputs=1)
@register_op("merge_mean", mode="mean", block="Mean")
@register_op("merge_concat", mode="concat", block="Concat", keeps_widths=True)
@register_op("merge_sum_input_sigmoid", mode="sum", block="InputSigmoidSum", aggregation="input_sigmoid")
@register_op("merge_sum_weight_sigmoid", mode="sum", block="WeightSigmoidSum", aggregation="weight_sigmoid")
class Merge(OpKind):
    """The merge of the scaled inputs: the vertex's `merge` attribute, module `nas.blocks.<block>`.

    The weighted sum (`aggregation` set: one learnable weight per input) has one kind
    per sigmoid variant; the other merges are parameter-free.
    """

    family = "merge"
    takes_list = True

    def __init__(
        self,
        name: str,
        mode: str,
        block: str,
        aggregation: str | None = None,
        keeps_widths: bool = False,
        max_inputs: float = float("inf"),
    ) -> None:
        super().__init__(name)
        self.mode, self.block, self.aggregation = mode, block, aggregation
        self.keeps_widths, self.max_inputs = keeps_widths, max_inputs

    def widths(self, channels: list[int]) -> list[int]:
        """The width each input is scaled to."""
        return list(channels) if self.keeps_widths else [max(channels)] * len(channels)

    def cost(self, p: dict) -> tuple[Shape, int, int]:
        channels = list(p["channels"])
        width = sum(channels) if self.keeps_widths else max(channels)
        return (width, p["size"]), 0, len(channels) if self.aggregation else 0

    def geometry(self, p: dict) -> tuple[float, float, int]:
        return 0, 0, len(p["channels"])

    def module(self, p: dict):
        from nas import blocks

        block = getattr(blocks, self.block)
        return block(len(p["channels"])) if self.aggregation else block()

    def inputs(self, p: dict) -> list[Shape]:
        return [(c, p["size"]) for c in p["channels"]]

    def perturb(self, p: dict, rng: random.Random) -> Op:
        channels = list(p["channels"])
        fan_in = int(min(self.max_inputs, max(2, len(channels) + rng.choice((-2, -1, 1, 2, 4)))))
        widest = scale(max(channels), rng)
        new = [scale(c, rng) for c in channels] if self.keeps_widths else [widest]
        return self.make(channels=(new * fan_in)[:fan_in], size=scale(p["size"], rng) if p["size"] else 0)


def merge_entry(mode: str, aggregation: str) -> Merge:
    """The merge kind of a vertex's `merge` attribute (the sum has one per aggregation)."""
    for name in (f"merge_{mode}_{aggregation}", f"merge_{mode}"):
        if name in OPS:
            return OPS.get(name)
    modes = ", ".join(dict.fromkeys(e.mode for e in entries("merge") if isinstance(e, Merge)))
    raise ValueError(f"merge must be one of {modes}, got {mode!r}")


def combine(mode: str, aggregation: str, in_shapes: list[Shape]) -> list[Op]:
    """The scaling blocks and the merge of a vertex with inputs `in_shapes`."""
    merge = merge_entry(mode, aggregation)
    require(bool(in_shapes), "vertex has no input")
    require(
        len(in_shapes) <= merge.max_inputs,
        f"merge {mode!r} takes at most {merge.max_inputs} input, got {len(in_shapes)}",
    )
    size = min(s for _, s in in_shapes)
    widths = merge.widths([c for c, _ in in_shapes])
    require(
        all(s for _, s in in_shapes) or not any(s for _, s in in_shapes) and widths == [c for c, _ in in_shapes],
        "flat (fully-connected) inputs can only be merged when shapes agree",
    )
    ops = [scaler(c, width, s, size) for (c, s), width in zip(in_shapes, widths, strict=True)]
    return [*ops, merge.make(channels=widths, size=size)]


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
    ops = (
        []
        if operation.reads_image
        else combine(attrs.get("merge", "sum"), arch.graph.get("aggregation", "input_sigmoid"), in_shapes)
    )
    cin, size = ops[-1].cost()[0] if ops else in_shapes[0]
    return [*ops, operation.make(cin=cin, size=size, **operation.params(attrs, arch.graph["num_classes"]))]


def vertex_cost(ops: list[Op]) -> VertexCost:
    """The sizes and costs of a vertex running `ops`."""
    costs = [op.cost() for op in ops]
    last = ops[-1].p
    in_shape, out_shape = (last["cin"], last["size"]), costs[-1][0]
    operation = ops[-1].entry
    assert isinstance(operation, Operation)  # a vertex's ops end with its operation
    require(
        out_shape[1] > 0 or out_shape[1] == 0 and (operation.flattens or in_shape[1] == 0),
        f"spatial size drops below 1 at op {operation.vertex_op!r}; stage less or use a larger input",
    )
    return VertexCost(in_shape, out_shape, sum(m for _, m, _ in costs), sum(w for _, _, w in costs))


def architecture_ops(arch: nx.DiGraph) -> dict[Any, list[Op]]:
    """Vertex → its ops, in topological order, of an annotated architecture."""
    return {v: vertex_ops(arch, v) for v in topological_order(arch)}
