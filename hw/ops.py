"""An architecture as the list of operations the builder really executes, without torch.

Latency is predicted per operation (nn-Meter style), so every module `nas.builder`
calls for a vertex is one `Op`: the stem, one scaling block per input (identity,
adaptive max-pool, 1×1 conv, or both), the merge (weighted sum with either sigmoid
variant, mean, concat, single) and the vertex operation (node, conv, fc, bottleneck,
merge, head). `vertex_ops` mirrors `nas.builder.VertexModule` analytically so the
survey can predict tens of thousands of architectures without building modules;
`tests/test_hw_ops.py` checks the mirror against the built model. `instantiate`
builds one op as a module plus example inputs, for profiling.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx

from nas.dag import INPUT, inputs_of, topological_order
from nas.shapes import flat_features, op_cost

SCALER_KINDS = ("scaler_identity", "scaler_pool", "scaler_conv", "scaler_pool_conv")
MERGE_KINDS = ("merge_single", "merge_mean", "merge_concat", "merge_sum_input_sigmoid", "merge_sum_weight_sigmoid")
OPERATION_KINDS = ("stem", "node", "conv", "fc", "bottleneck", "identity", "head")
KINDS = SCALER_KINDS + MERGE_KINDS + OPERATION_KINDS
# nn-Meter's kernel features plus what our merges need; every kind fills all of them.
FEATURES = ("in_hw", "out_hw", "cin", "cout", "kernel", "stride", "macs", "params", "fan_in", "elements", "out_elements")


@dataclass(frozen=True)
class Op:
    """One executed module: `kind` and the hashable parameters that define its cost."""

    kind: str
    params: tuple[tuple[str, Any], ...]

    @classmethod
    def make(cls, kind: str, **params: Any) -> "Op":
        return cls(kind, tuple(sorted((k, _freeze(v)) for k, v in params.items())))

    @property
    def p(self) -> dict[str, Any]:
        return dict(self.params)

    def to_json(self) -> dict:
        return {"kind": self.kind, "params": {k: _thaw(v) for k, v in self.params}}

    @classmethod
    def from_json(cls, data: dict) -> "Op":
        return cls.make(data["kind"], **data["params"])


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, (list, tuple)) else value


def _thaw(value: Any) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


# ---------------------------------------------------------------- decomposition


def vertex_ops(arch: nx.DiGraph, v: Any) -> list[Op]:
    """The modules `VertexModule` runs for vertex `v` of an annotated architecture."""
    attrs = arch.nodes[v]
    num_classes = arch.graph["num_classes"]
    if v == INPUT:
        return [Op.make("stem", cin=arch.graph.get("in_channels", 3), size=arch.graph["input_size"],
                        convs=attrs.get("convs", []), pool=attrs.get("pool", 0))]
    in_shapes = [(arch.nodes[u]["channels"], arch.nodes[u]["size"]) for u in inputs_of(arch, v)]
    merge = attrs.get("merge", "sum")
    size = min(s for _, s in in_shapes)
    cmax = max(c for c, _ in in_shapes)
    ops, merged = [], []
    for c, s in in_shapes:
        cout = c if merge == "concat" else cmax
        pool, conv = s != size and s > 0, c != cout
        kind = {(False, False): "scaler_identity", (True, False): "scaler_pool",
                (False, True): "scaler_conv", (True, True): "scaler_pool_conv"}[(pool, conv)]
        ops.append(Op.make(kind, cin=c, cout=cout, in_size=s, size=size))
        merged.append(cout)
    if merge == "sum":
        aggregation = arch.graph.get("aggregation", "input_sigmoid")
        ops.append(Op.make(f"merge_sum_{aggregation}", channels=merged, size=size))
    else:
        ops.append(Op.make(f"merge_{merge}", channels=merged, size=size))
    ops.append(operation_op(attrs, (attrs["in_channels"], attrs["in_size"]), num_classes))
    return ops


def operation_op(attrs: dict, in_shape: tuple[int, int], num_classes: int) -> Op:
    """The vertex operation after the merge (`nas.blocks.build_op`)."""
    op = attrs["op"]
    cin, size = in_shape
    if op == "node":
        return Op.make("node", cin=cin, cout=attrs["channels"], size=size, stage=bool(attrs.get("stage", False)),
                       downsample=attrs.get("downsample", "maxpool"))
    if op == "conv":
        return Op.make("conv", cin=cin, cout=attrs["channels"], size=size, kernel=attrs.get("kernel", 3),
                       stride=attrs.get("stride", 1), pool=attrs.get("pool", 0))
    if op == "fc":
        return Op.make("fc", cin=cin, size=size, cout=attrs["channels"])
    if op == "bottleneck":
        return Op.make("bottleneck", cin=cin, size=size, cout=attrs["channels"], width=attrs["width"],
                       stride=attrs.get("stride", 1))
    if op == "merge":
        return Op.make("identity")
    if op == "head":
        return Op.make("head", cin=cin, size=size, num_classes=num_classes, conv_channels=attrs.get("conv_channels", 0),
                       pool=attrs.get("pool", "avg"), hidden=list(attrs.get("hidden", [])))
    raise ValueError(f"no latency model for op {op!r}")


def architecture_ops(arch: nx.DiGraph) -> dict[Any, list[Op]]:
    """Vertex → its ops, in topological order."""
    return {v: vertex_ops(arch, v) for v in topological_order(arch)}


# ---------------------------------------------------------------- features


def _op_attrs(o: dict, kind: str) -> dict:
    """The `nas.shapes` attributes of an operation op (to reuse its MAC/param counts)."""
    if kind == "node":
        return {"op": "node", "channels": o["cout"], "stage": o["stage"], "downsample": o["downsample"]}
    if kind == "conv":
        return {"op": "conv", "channels": o["cout"], "kernel": o["kernel"], "stride": o["stride"], "pool": o["pool"]}
    if kind in ("fc", "bottleneck"):
        return {"op": kind, "channels": o["cout"], **({"width": o["width"], "stride": o["stride"]} if kind == "bottleneck" else {})}
    if kind == "head":
        return {"op": "head", "conv_channels": o["conv_channels"], "pool": o["pool"], "hidden": list(o["hidden"])}
    if kind == "stem":
        return {"op": "stem", "convs": [list(c) for c in o["convs"]], "pool": o["pool"]}
    raise ValueError(kind)


def features(op: Op) -> dict[str, float]:
    """nn-Meter-style feature vector [H·W in/out, Cin, Cout, kernel, stride, MACs, params, …]."""
    o, kind = op.p, op.kind
    f = dict.fromkeys(FEATURES, 0.0)
    if kind in SCALER_KINDS:
        cin, cout, s_in, s = o["cin"], o["cout"], o["in_size"], o["size"]
        macs = cin * cout * s * s if "conv" in kind else 0
        f.update(in_hw=max(s_in, 1) ** 2, out_hw=max(s, 1) ** 2, cin=cin, cout=cout, kernel=1,
                 stride=max(s_in, 1) / max(s, 1), macs=macs, params=cin * cout if "conv" in kind else 0,
                 fan_in=1, elements=cin * max(s_in, 1) ** 2, out_elements=cout * max(s, 1) ** 2)
    elif kind in MERGE_KINDS:
        channels, s = list(o["channels"]), o["size"]
        hw = max(s, 1) ** 2
        f.update(in_hw=hw, out_hw=hw, cin=max(channels), cout=sum(channels) if kind == "merge_concat" else max(channels),
                 fan_in=len(channels), elements=sum(channels) * hw, params=len(channels) if "sum" in kind else 0,
                 out_elements=(sum(channels) if kind == "merge_concat" else max(channels)) * hw)
    elif kind == "identity":
        pass
    else:
        if kind == "stem":
            cin, size = o["cin"], o["size"]
            kernel = o["convs"][0][0] if o["convs"] else 0
            stride = 1
            for _, _, st in o["convs"]:
                stride *= st
        else:
            cin, size = o["cin"], o["size"]
            kernel = {"node": 3, "conv": o.get("kernel", 0), "bottleneck": 3, "head": 1 if o.get("conv_channels") else 0}.get(kind, 0)
            stride = 2 if o.get("stage") or o.get("stride", 1) == 2 else 1
        (cout, out), macs, params = op_cost(_op_attrs(o, kind), (cin, size), o.get("num_classes", 0))
        f["out_elements"] = cout * max(out, 1) ** 2
        if kind == "head":
            cout = o["conv_channels"] or cin
        f.update(in_hw=max(size, 1) ** 2, out_hw=max(out, 1) ** 2, cin=cin, cout=cout, kernel=kernel, stride=stride,
                 macs=macs, params=params, fan_in=1, elements=flat_features((cin, size)))
        if kind == "stem":
            f["fan_in"] = len(o["convs"]) + (1 if o["pool"] else 0)
        if kind == "head":
            f["fan_in"] = 1 + len(o["hidden"])
    return {k: float(v) for k, v in f.items()}


def output_elements(op: Op) -> int:
    """Elements of an operation op's output tensor (for activation memory)."""
    o = op.p
    (c, s), _, _ = op_cost(_op_attrs(o, op.kind), (o["cin"], o["size"]), o.get("num_classes", 0))
    return c * max(s, 1) ** 2


# ---------------------------------------------------------------- modules (profiling)


def instantiate(op: Op) -> tuple[Any, tuple]:
    """(module in eval mode, example call arguments) for op `op`, batch 1, float32."""
    import torch

    from nas.blocks import Merge, Scaler, Stem, build_op

    o, kind = op.p, op.kind

    def image(c: int, s: int) -> "torch.Tensor":
        return torch.randn(1, c, s, s) if s else torch.randn(1, c)

    if kind == "stem":
        module, args = Stem(o["cin"], [list(c) for c in o["convs"]], o["pool"]), (image(o["cin"], o["size"]),)
    elif kind in SCALER_KINDS:
        module, args = Scaler(o["cin"], o["cout"], o["size"]), (image(o["cin"], o["in_size"]),)
    elif kind in MERGE_KINDS:
        mode = kind.removeprefix("merge_")
        aggregation = "input_sigmoid"
        if mode.startswith("sum_"):
            mode, aggregation = "sum", mode.removeprefix("sum_")
        module = Merge(mode, len(o["channels"]), aggregation)
        args = ([image(c, o["size"]) for c in o["channels"]],)
    elif kind == "identity":
        module, args = torch.nn.Identity(), (image(1, 1),)
    else:
        attrs = {"channels": o.get("num_classes", 0), **_op_attrs(o, kind), "in_channels": o["cin"], "in_size": o["size"]}
        module, args = build_op(attrs, o.get("num_classes", 2)), (image(o["cin"], o["size"]),)
    return module.eval(), args

