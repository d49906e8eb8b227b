"""Path statistics of an architecture DAG: depth profile, longest path, critical path.

All of these depend on the architecture only (not on a partition or the unit count),
so the analysis computes them once per architecture.

- depth of a vertex = longest-path distance (in edges) from the input vertex, so the
  input is at depth 0 and a compute vertex right after it at depth 1;
- longest path = compute vertices on the longest input→output path (η's max d_i);
- critical path in MACs = the heaviest input→output path, stem and head included
  (they lie on every path), so total / critical is the ideal speed-up of any schedule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import networkx as nx

from nas.dag import INPUT, OUTPUT, topological_order


@dataclass(frozen=True)
class PathStats:
    depth: dict[Hashable, int]  # every vertex → longest-path depth from the input
    longest_path: int  # compute vertices on the longest input→output path
    critical_macs: int  # MACs on the heaviest input→output path (terminals included)
    critical_path: list[Hashable]  # the vertices of that heaviest path, input → output
    total_macs: int
    compute_vertices: int

    def width_profile(self) -> dict[int, int]:
        """Depth → number of compute vertices at that depth (the width-vs-depth histogram)."""
        counts = Counter(d for v, d in self.depth.items() if v not in (INPUT, OUTPUT))
        return dict(sorted(counts.items()))


def path_stats(arch: nx.DiGraph, order: Sequence[Hashable] | None = None) -> PathStats:
    """One pass over a topological order (`order` saves recomputing it)."""
    order = list(order) if order is not None else topological_order(arch)
    depth: dict[Hashable, int] = {}
    hops: dict[Hashable, int] = {}  # compute vertices on the longest path ending at v
    heavy: dict[Hashable, int] = {}  # MACs of the heaviest path ending at v
    best_pred: dict[Hashable, Hashable] = {}
    for v in order:
        macs = int(arch.nodes[v]["macs"])
        is_compute = v not in (INPUT, OUTPUT)
        preds = list(arch.predecessors(v))
        if not preds:
            depth[v], hops[v], heavy[v] = 0, int(is_compute), macs
            continue
        depth[v] = 1 + max(depth[u] for u in preds)
        hops[v] = int(is_compute) + max(hops[u] for u in preds)
        u = max(preds, key=heavy.__getitem__)
        best_pred[v] = u
        heavy[v] = macs + heavy[u]
    sink = order[-1]
    path = [sink]
    while path[-1] in best_pred:
        path.append(best_pred[path[-1]])
    total = sum(int(arch.nodes[v]["macs"]) for v in order)
    return PathStats(
        depth=depth,
        longest_path=max(hops[v] for v in order),
        critical_macs=heavy[sink],
        critical_path=path[::-1],
        total_macs=total,
        compute_vertices=sum(v not in (INPUT, OUTPUT) for v in order),
    )
