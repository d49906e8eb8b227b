"""The op record and the registry of op kinds: one entry says everything about one kind.

An `Op` is one module a vertex runs: a kind and the hashable parameters that fix its
cost. Its kind's `OpKind` entry defines its output shape, MACs and parameters (counted
the way a FLOPs counter does: only convolutions and linear layers cost MACs), its torch
module (torch imported there only), its nn-Meter latency features and its profiling
sampler. Kind names are the keys of saved latency profiles.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from nas.registry import Registry
from nas.shapes import Shape

# nn-Meter's kernel features plus what our merges need; every kind fills all of them.
FEATURES = (
    "in_hw",
    "out_hw",
    "cin",
    "cout",
    "kernel",
    "stride",
    "macs",
    "params",
    "fan_in",
    "elements",
    "out_elements",
)
OPS: Registry = Registry("op kind")
OPERATIONS: Registry = Registry("vertex op")  # the vertex `op` attribute → its operation's entry


@dataclass(frozen=True)
class Op:
    """One executed module: `kind` and the hashable parameters that define its cost."""

    kind: str
    params: tuple[tuple[str, Any], ...]

    @classmethod
    def make(cls, kind: str, **params: Any) -> Op:
        return cls(kind, tuple(sorted((k, _freeze(v)) for k, v in params.items())))

    @property
    def p(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def entry(self) -> OpKind:
        return OPS.get(self.kind)

    def cost(self) -> tuple[Shape, int, int]:
        return self.entry.cost(self.p)

    def features(self) -> dict[str, float]:
        return self.entry.features(self.p)

    def module(self) -> Any:
        return self.entry.module(self.p)

    def to_json(self) -> dict:
        return {"kind": self.kind, "params": {k: _thaw(v) for k, v in self.params}}

    @classmethod
    def from_json(cls, data: dict) -> Op:
        return cls.make(data["kind"], **data["params"])


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, (list, tuple)) else value


def _thaw(value: Any) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


class OpKind:
    """What ops of one kind mean; each method reads the op's parameters `p`.

    `cost`: (output shape, MACs, parameters); `module`: the torch module; `inputs`: the
    shapes it reads (to run it alone); `geometry`: its (kernel, stride, fan-in) features;
    `perturb`: an op of this kind near `p`, the parameters of any op of its family
    (None: every op of the kind costs the same).
    """

    family = ""  # kinds of one family take each other's ops as profiling seeds
    takes_list = False  # the module is called with the list of its inputs (merges)

    def __init__(self, name: str) -> None:
        self.name = name

    def make(self, **params: Any) -> Op:
        return Op.make(self.name, **params)

    def features(self, p: dict) -> dict[str, float]:
        shapes = self.inputs(p)
        (cout, out), macs, params = self.cost(p)
        kernel, stride, fan_in = self.geometry(p)
        return feature_vector(
            in_hw=max(shapes[0][1], 1) ** 2,
            out_hw=max(out, 1) ** 2,
            cin=max(c for c, _ in shapes),
            cout=cout,
            kernel=kernel,
            stride=stride,
            macs=macs,
            params=params,
            fan_in=fan_in,
            elements=sum(c * max(s, 1) ** 2 for c, s in shapes),
            out_elements=cout * max(out, 1) ** 2,
        )

    def cost(self, p: dict) -> tuple[Shape, int, int]:
        raise NotImplementedError

    def module(self, p: dict) -> Any:
        raise NotImplementedError

    def inputs(self, p: dict) -> list[Shape]:
        raise NotImplementedError

    def geometry(self, p: dict) -> tuple[float, float, int]:
        raise NotImplementedError

    def perturb(self, p: dict, rng: random.Random) -> Op | None:
        raise NotImplementedError


def register_op(name: str, **options: Any):
    """Class decorator: register `cls(name, **options)` (stack it for the variants of one class)."""

    def decorator(cls: type[OpKind]) -> type[OpKind]:
        entry = cls(name, **options)
        OPS.register(name)(entry)
        if vertex_op := getattr(entry, "vertex_op", None):
            OPERATIONS.register(vertex_op)(entry)
        return cls

    return decorator


def entries(family: str) -> list[OpKind]:
    return [OPS.get(name) for name in OPS.names() if OPS.get(name).family == family]


def feature_vector(**values: float) -> dict[str, float]:
    """All of `FEATURES`, zero where `values` does not say."""
    return {name: float(values.get(name, 0)) for name in FEATURES}


def scale(value: int, rng: random.Random, low: int = 1) -> int:
    """A random neighbour of a width or size (×0.5 … ×2)."""
    return max(low, round(value * rng.choice((0.5, 0.75, 0.875, 1.0, 1.125, 1.25, 1.5, 2.0))))


def instantiate(op: Op) -> tuple[Any, tuple]:
    """(module in eval mode, example call arguments) of `op`, batch 1, float32: to time it alone."""
    import torch

    tensors = [torch.randn(1, c, s, s) if s else torch.randn(1, c) for c, s in op.entry.inputs(op.p)]
    return op.module().eval(), (tensors if op.entry.takes_list else tensors[0],)
