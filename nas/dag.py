"""Undirected graph → single-source/single-sink DAG (docs/method.md §1 "From a graph to a DAG")."""

from __future__ import annotations

import networkx as nx

INPUT = "input"
OUTPUT = "output"
ORIENTATIONS = ("dfs", "index")


def dfs_order(graph: nx.Graph) -> dict[int, int]:
    """Preorder rank of every vertex in a DFS that visits smaller ids first.

    Disconnected parts are entered from their smallest unvisited vertex.
    """
    rank: dict[int, int] = {}
    for root in sorted(graph.nodes):
        if root in rank:
            continue
        stack = [root]
        while stack:
            v = stack.pop()
            if v in rank:
                continue
            rank[v] = len(rank)
            # push larger ids first so the smallest is popped (visited) first
            stack.extend(sorted((u for u in graph[v] if u not in rank), reverse=True))
    return rank


def to_dag(graph: nx.Graph, orientation: str = "dfs") -> nx.DiGraph:
    """Orient edges and add one `input` and one `output` vertex.

    `dfs` (the paper's): an edge points from the vertex discovered earlier by a DFS
    visiting smaller ids first; `index` (RandWire's): from lower to higher id. Either
    order is a topological order, so the result has no cycle; the input vertex feeds
    every vertex without predecessors and every vertex without successors feeds output.
    """
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    if graph.number_of_nodes() == 0:
        raise ValueError("cannot build a DAG from an empty graph")
    rank = dfs_order(graph) if orientation == "dfs" else {v: v for v in graph.nodes}
    dag = nx.DiGraph()
    dag.add_nodes_from(sorted(graph.nodes, key=rank.__getitem__))
    for u, v in graph.edges:
        if u == v:
            continue
        dag.add_edge(u, v) if rank[u] < rank[v] else dag.add_edge(v, u)
    return add_terminals(dag)


def add_terminals(dag: nx.DiGraph) -> nx.DiGraph:
    """Add `input` → every source and every sink → `output` (in place, returned)."""
    sources = [v for v in dag.nodes if dag.in_degree(v) == 0]
    sinks = [v for v in dag.nodes if dag.out_degree(v) == 0]
    dag.add_node(INPUT)
    dag.add_node(OUTPUT)
    dag.add_edges_from((INPUT, v) for v in sources)
    dag.add_edges_from((v, OUTPUT) for v in sinks)
    return dag


def vertex_key(v) -> tuple:
    """Sort key that orders integer ids numerically and puts named vertices after them."""
    return (0, v, "") if isinstance(v, int) else (1, 0, str(v))


def inputs_of(dag: nx.DiGraph, v) -> list:
    """Predecessors of `v` in the fixed order used for merge weights and scalers."""
    return sorted(dag.predecessors(v), key=vertex_key)


def topological_order(dag: nx.DiGraph) -> list:
    """All vertices in a deterministic topological order (input first, output last)."""
    return list(nx.lexicographical_topological_sort(dag, key=vertex_key))


def compute_vertices(dag: nx.DiGraph) -> list:
    """Compute vertices (all but input/output) in topological order."""
    return [v for v in topological_order(dag) if v not in (INPUT, OUTPUT)]
