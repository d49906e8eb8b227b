"""The op registry (`base`): one entry per kind of module a vertex runs, complete on import.

The scaling blocks and merges are in `vertex`, the vertex operations in `operations`.
"""

from nas.ops import operations  # noqa: F401  (registers the operations; `vertex` the rest)
from nas.ops.base import FEATURES, OPERATIONS, OPS, Op, OpKind, instantiate, register_op
from nas.ops.vertex import VertexCost, architecture_ops, input_shapes, vertex_cost, vertex_ops

__all__ = [
    "FEATURES",
    "OPERATIONS",
    "OPS",
    "Op",
    "OpKind",
    "VertexCost",
    "architecture_ops",
    "input_shapes",
    "instantiate",
    "register_op",
    "vertex_cost",
    "vertex_ops",
]
