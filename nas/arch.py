"""The one central type: an architecture is an annotated `networkx.DiGraph`.

Vertices: `input` (the stem), `output` (the classifier head) and compute vertices.
Every vertex carries plain attributes (`op`, `channels`, `stage`, `merge`, …); graph
attributes carry the generator, its parameters and seed, the staging policy, the
input size and the class count. `annotate` derives shapes, MACs, parameters and the
bytes each edge carries for the configured input size; everything downstream reads
those. Files are networkx node-link JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx

from nas.dag import INPUT, OUTPUT, add_terminals, topological_order
from nas.filecheck import file_problem
from nas.ops import vertex_cost, vertex_ops
from nas.ops.base import entries
from nas.ops.vertex import Merge

DTYPE_BYTES = 4  # float32 activations
DERIVED = ("in_channels", "in_size", "size", "macs", "params")
AGGREGATIONS = tuple(
    sorted({e.aggregation for e in entries("merge") if isinstance(e, Merge) and e.aggregation})
)  # the weighted sum's variants


class ArchitectureError(ValueError):
    """A malformed architecture; the message is one line naming the problem."""


def annotate(arch: nx.DiGraph) -> nx.DiGraph:
    """Validate `arch` and (re)compute derived attributes in place; returns it.

    Per vertex: `in_channels`/`in_size` after the merge, output `channels`/`size`,
    `macs`, `params`; per edge: `bytes` of the tensor it carries (batch 1, float32).
    """
    validate_structure(arch)
    for v in topological_order(arch):
        attrs = arch.nodes[v]
        try:
            cost = vertex_cost(vertex_ops(arch, v))
        except (KeyError, TypeError, ValueError) as err:
            detail = f"missing attribute {err}" if isinstance(err, KeyError) else str(err)
            raise ArchitectureError(f"vertex {v!r}: {detail}") from None
        attrs.update(
            in_channels=cost.in_shape[0],
            in_size=cost.in_shape[1],
            channels=cost.out_shape[0],
            size=cost.out_shape[1],
            macs=cost.macs,
            params=cost.params,
        )
    for u, _, data in arch.edges(data=True):
        data["bytes"] = output_bytes(arch, u)
    return arch


def output_bytes(arch: nx.DiGraph, v: Any) -> int:
    """Bytes of vertex `v`'s output tensor (batch 1, float32)."""
    return arch.nodes[v]["channels"] * max(arch.nodes[v]["size"], 1) ** 2 * DTYPE_BYTES


def validate_structure(arch: nx.DiGraph) -> None:
    """One source (`input`), one sink (`output`), no cycle, a known aggregation (ops: `annotate`)."""
    if not isinstance(arch, nx.DiGraph) or arch.number_of_nodes() == 0:
        raise ArchitectureError("empty graph: an architecture needs at least one compute vertex")
    _check_graph_numbers(arch)
    if INPUT not in arch or OUTPUT not in arch:
        raise ArchitectureError("missing 'input' or 'output' vertex")
    if arch.number_of_nodes() < 3:
        raise ArchitectureError("empty graph: an architecture needs at least one compute vertex")
    if not nx.is_directed_acyclic_graph(arch):
        cycle = nx.find_cycle(arch)
        raise ArchitectureError(f"graph has a cycle through {' -> '.join(str(u) for u, _ in cycle)}")
    sources = [v for v in arch if arch.in_degree(v) == 0]
    sinks = [v for v in arch if arch.out_degree(v) == 0]
    if sources != [INPUT]:
        raise ArchitectureError(f"exactly one source ('input') expected, found {sources}")
    if sinks != [OUTPUT]:
        raise ArchitectureError(f"exactly one sink ('output') expected, found {sinks}")
    if arch.graph.get("aggregation", "input_sigmoid") not in AGGREGATIONS:
        raise ArchitectureError(f"aggregation must be one of {AGGREGATIONS}, got {arch.graph.get('aggregation')!r}")


def _check_graph_numbers(arch: nx.DiGraph) -> None:
    for key in ("input_size", "num_classes"):
        value = arch.graph.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ArchitectureError(f"graph attribute {key!r} must be a positive integer, got {value!r:.60}")


def compute_vertex_count(arch: nx.DiGraph) -> int:
    return arch.number_of_nodes() - 2


def total_params(arch: nx.DiGraph) -> int:
    return sum(d["params"] for _, d in arch.nodes(data=True))


def total_macs(arch: nx.DiGraph) -> int:
    return sum(d["macs"] for _, d in arch.nodes(data=True))


def summary(arch: nx.DiGraph) -> dict:
    """Size figures of an annotated architecture, for the analyze JSON."""
    return {
        "vertices": compute_vertex_count(arch),
        "edges": arch.number_of_edges(),
        "params": total_params(arch),
        "macs": total_macs(arch),
        "generator": arch.graph.get("generator"),
        "staging": arch.graph.get("staging"),
    }


# ---------------------------------------------------------------- files


def to_json(arch: nx.DiGraph) -> dict:
    """Node-link data without derived attributes (they depend on the input size)."""
    clean = arch.copy()
    for _, attrs in clean.nodes(data=True):
        for key in DERIVED:
            attrs.pop(key, None)
    for _, _, attrs in clean.edges(data=True):
        attrs.pop("bytes", None)
    return nx.node_link_data(clean, edges="edges")


def save(arch: nx.DiGraph, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(arch), indent=1, default=_json_default))
    return path


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def load(path: str | Path, **defaults: Any) -> nx.DiGraph:
    """Load an architecture file; `defaults` fill graph attributes the file lacks.

    A bare DAG (vertices without attributes, no input/output vertices) is taken as the
    compute vertices: input/output are added and the vertices become default blocks.
    Any problem raises `ArchitectureError` with a one-line message.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArchitectureError(f"architecture file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ArchitectureError(f"{path}: not a JSON file ({err})") from None
    return from_json(data, source=str(path), **defaults)


def from_json(data: Any, source: str = "architecture", **defaults: Any) -> nx.DiGraph:
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise ArchitectureError(f"{source}: expected node-link JSON with a 'nodes' list")
    if problem := file_problem(data, source):
        raise ArchitectureError(problem)
    edge_key = "edges" if "edges" in data else "links"
    if not isinstance(data.get(edge_key, []), list):
        raise ArchitectureError(f"{source}: '{edge_key}' must be a list")
    ids = []
    for node in data["nodes"]:
        if not isinstance(node, dict) or "id" not in node:
            raise ArchitectureError(f"{source}: every node needs an 'id', got {node!r:.60}")
        if not isinstance(node["id"], (int, str)) or isinstance(node["id"], bool):
            raise ArchitectureError(f"{source}: node ids must be integers or strings, got {node['id']!r:.60}")
        ids.append(node["id"])
    if not ids:
        raise ArchitectureError(f"{source}: empty graph (no vertices)")
    if len(set(ids)) != len(ids):
        raise ArchitectureError(f"{source}: duplicate vertex ids")
    known = set(ids)
    for edge in data.get(edge_key, []):
        if not isinstance(edge, dict) or "source" not in edge or "target" not in edge:
            raise ArchitectureError(f"{source}: every edge needs 'source' and 'target', got {edge!r:.60}")
        for end in ("source", "target"):
            if not isinstance(edge[end], (int, str)) or isinstance(edge[end], bool) or edge[end] not in known:
                raise ArchitectureError(
                    f"{source}: dangling edge {edge['source']!r} -> {edge['target']!r} (unknown vertex {edge[end]!r})"
                )
        if edge["source"] == edge["target"]:
            raise ArchitectureError(f"{source}: self-loop on vertex {edge['source']!r}")
    graph_attrs = data.get("graph", {})
    if not isinstance(graph_attrs, dict):
        raise ArchitectureError(f"{source}: 'graph' must be an object")
    try:
        arch = nx.node_link_graph({**data, "directed": True, "multigraph": False}, edges=edge_key)
    except (nx.NetworkXError, KeyError, TypeError) as err:
        raise ArchitectureError(f"{source}: invalid node-link data ({err})") from None
    for key, value in defaults.items():
        arch.graph.setdefault(key, value)
    if INPUT not in arch and OUTPUT not in arch:
        arch = _complete_bare_dag(arch, source)
    try:
        return annotate(arch)
    except ArchitectureError as err:
        raise ArchitectureError(f"{source}: {err}") from None


def _complete_bare_dag(dag: nx.DiGraph, source: str) -> nx.DiGraph:
    """Turn a bare DAG into an architecture with the configured default blocks."""
    if not nx.is_directed_acyclic_graph(dag):
        cycle = nx.find_cycle(dag)
        raise ArchitectureError(f"{source}: graph has a cycle through {' -> '.join(str(u) for u, _ in cycle)}")
    from nas.staging import apply_staging  # local: staging imports this module

    arch = add_terminals(dag)
    arch.graph.setdefault("generator", "file")
    try:
        _check_graph_numbers(arch)
    except ArchitectureError as err:
        raise ArchitectureError(f"{source}: {err}") from None
    policy = arch.graph.get("staging") or "uniform"
    params = arch.graph.get("staging_params") or {}
    if not isinstance(policy, str) or not isinstance(params, dict):
        raise ArchitectureError(
            f"{source}: graph 'staging' must be a policy name and 'staging_params' an object, "
            f"got {policy!r:.40} and {params!r:.60}"
        )
    try:  # the file's staging settings are user input: any failure is the file's problem
        apply_staging(arch, policy=policy, **params)
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError, OverflowError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ArchitectureError(f"{source}: cannot stage the bare DAG with staging={policy!r} ({detail})") from None
    return arch
