"""The op registry: one entry per kind of module a vertex runs, complete on import.

Importing the package registers every kind (like timm's `models/__init__.py`): the
scaling blocks and merges (`merging`) and the vertex operations (`operations`).
"""
from nas.ops import merging, operations  # noqa: F401  (registers every kind)
from nas.ops.base import FEATURES, OPERATIONS, OPS, Op, OpKind, instantiate, register_op
from nas.ops.vertex import VertexCost, architecture_ops, input_shapes, vertex_cost, vertex_ops

__all__ = ["FEATURES", "OPERATIONS", "OPS", "Op", "OpKind", "instantiate", "register_op", "VertexCost",
           "architecture_ops", "input_shapes", "vertex_cost", "vertex_ops"]
