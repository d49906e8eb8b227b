"""Checks of an architecture file's node-link data before networkx builds a graph from it.

A file is user input: its size is checked first (`nas.limits`), then every value a
vertex carries, so a bad one becomes an `ArchitectureError` naming the vertex and the
attribute instead of a RecursionError, a NaN cost or a traceback from torch.
"""

from __future__ import annotations

import math
from typing import Any

from nas.dag import INPUT, OUTPUT
from nas.limits import check_vertex_count

MAX_DEPTH = 3  # deepest attribute value in use: a stem's convs, [[kernel, channels, stride], ...]
INTEGER_ATTRS = ("kernel", "stride", "width", "conv_channels")  # channels: nas.arch.validate_structure
HEAD_POOLS = ("avg", "flatten")


def file_problem(data: dict, source: str) -> str | None:
    """The first problem of node-link `data` read from `source` (nas.arch raises it), or None."""
    nodes = [n for n in data["nodes"] if isinstance(n, dict)]
    try:
        check_vertex_count(sum(n.get("id") not in (INPUT, OUTPUT) for n in nodes), f"{source}: compute vertices")
    except ValueError as err:
        return str(err)
    seen: dict[str, Any] = {}
    for node in nodes:
        vertex = node.get("id")
        if str(vertex) in seen and seen[str(vertex)] != vertex:
            return (
                f"{source}: vertex ids {seen[str(vertex)]!r} and {vertex!r} name the same vertex "
                "(ids become strings in the model); give every vertex one distinct id"
            )
        seen[str(vertex)] = vertex
        for key, value in node.items():
            problem = value_problem(key, value, node.get("op")) if key != "id" else None
            if problem:
                return f"{source}: vertex {vertex!r}: attribute {key!r} {problem}"
    graph = data.get("graph")
    for key, value in graph.items() if isinstance(graph, dict) else ():
        problem = value_problem(key, value, None)
        if problem:
            return f"{source}: graph attribute {key!r} {problem}"
    return None


def value_problem(key: str, value: Any, op: Any) -> str | None:
    """What is wrong with attribute `key` = `value` of a vertex doing `op`, or None."""
    problem = _number_problem(value, 0)
    if problem:
        return problem
    if key == "pool":
        if op == "head" and value not in HEAD_POOLS:
            return f"must be one of {', '.join(HEAD_POOLS)}, got {value!r:.40}"
        if op != "head" and not _is_int(value):
            return f"must be a max-pool kernel size (an integer, 0 = none), got {value!r:.40}"
    if key in INTEGER_ATTRS and not _is_int(value):
        return f"must be an integer, got {value!r:.40}"
    if key == "convs" and not (
        isinstance(value, list)
        and all(isinstance(c, list) and len(c) == 3 and all(_is_int(x) and x >= 1 for x in c) for c in value)
    ):
        return f"must be a list of [kernel, channels, stride] positive integers, got {value!r:.60}"
    if key == "hidden" and not (isinstance(value, list) and all(_is_int(x) and x >= 1 for x in value)):
        return f"must be a list of positive integers, got {value!r:.60}"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number_problem(value: Any, depth: int) -> str | None:
    """Infinity, NaN, a negative number or nesting deeper than `MAX_DEPTH`, anywhere in `value`."""
    if depth > MAX_DEPTH:
        return f"is nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, bool) or not isinstance(value, (int, float, list, dict)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value}"
    if isinstance(value, (int, float)):
        return f"must not be negative, got {value}" if value < 0 else None
    for item in value.values() if isinstance(value, dict) else value:
        problem = _number_problem(item, depth + 1)
        if problem:
            return problem
    return None
