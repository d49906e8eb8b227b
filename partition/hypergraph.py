"""The communication hypergraph of an architecture (docs/method.md §2 "Weights, costs and the hypergraph").

One hyper-edge (net) per produced tensor: the producing vertex plus all its consumers,
because a tensor is sent once to each other unit, not once per consumer. Vertex weight
= the vertex's MACs, net cost λ = bytes of the producer's output (`annotate` gives every
out-edge of a vertex the same `bytes`).

The input (stem) and output (head) vertices take part in the partition like any other
vertex: they must run on some unit, their MACs are real work, and the stem's tensor is
real traffic to every unit that holds a source vertex. Only η leaves them out (docs/method.md §2).

Everything is stored as integer-indexed numpy arrays (CSR nets) so that the metrics of
tens of thousands of partitions cost microseconds each.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from nas.checks import require
from nas.dag import INPUT, OUTPUT, topological_order


@dataclass
class Hypergraph:
    """Vertex-weighted, net-costed hypergraph; vertex `i` is `vertices[i]` of the arch.

    Nets are CSR: the pins of net `j` are `pins[starts[j]:starts[j+1]]`, producer first.
    `cache` lets partitioners keep derived structures (e.g. a graph expansion) that
    depend only on the hypergraph, so an ε sweep over many unit counts builds them once.
    """

    vertices: list[Hashable]
    weights: np.ndarray  # int64 MACs per vertex
    pins: np.ndarray  # int64, concatenated pins of every net
    starts: np.ndarray  # int64, len(nets) + 1 offsets into pins
    costs: np.ndarray  # int64 bytes per net (λ)
    compute: np.ndarray  # bool per vertex: a compute vertex (not input/output)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.net_of_pin = np.repeat(np.arange(self.num_nets), np.diff(self.starts))

    @property
    def num_vertices(self) -> int:
        return len(self.vertices)

    @property
    def num_nets(self) -> int:
        return len(self.starts) - 1

    def net(self, j: int) -> np.ndarray:
        return self.pins[self.starts[j] : self.starts[j + 1]]

    @property
    def min_cost(self) -> int:
        """U_c: the smallest net (edge) cost, the unit of normalised communication."""
        return int(self.costs.min()) if self.num_nets else 1

    @classmethod
    def from_nets(
        cls,
        weights: Sequence[int],
        nets: Sequence[Sequence[int]],
        costs: Sequence[int],
        vertices: Sequence[Hashable] | None = None,
        compute: Sequence[bool] | None = None,
    ) -> Hypergraph:
        """Build from plain lists (nets as lists of vertex indices, producer first)."""
        require(len(nets) == len(costs), f"{len(nets)} nets but {len(costs)} costs")
        n = len(weights)
        for net in nets:
            require(
                len(net) >= 2 and len(set(net)) == len(net) and min(net) >= 0 and max(net) < n,
                f"a net needs >= 2 distinct vertex indices in [0, {n}), got {list(net)}",
            )
        starts = np.zeros(len(nets) + 1, dtype=np.int64)
        starts[1:] = np.cumsum([len(net) for net in nets])
        pins = np.fromiter((v for net in nets for v in net), dtype=np.int64, count=int(starts[-1]))
        return cls(
            vertices=list(vertices) if vertices is not None else list(range(n)),
            weights=np.asarray(weights, dtype=np.int64),
            pins=pins,
            starts=starts,
            costs=np.asarray(costs, dtype=np.int64),
            compute=np.asarray(compute if compute is not None else [True] * n, dtype=bool),
        )


def from_architecture(arch: nx.DiGraph, order: Sequence[Hashable] | None = None) -> Hypergraph:
    """The hypergraph of an annotated architecture (vertex order = topological order)."""
    vertices = list(order) if order is not None else topological_order(arch)
    index = {v: i for i, v in enumerate(vertices)}
    nets: list[list[int]] = []
    costs: list[int] = []
    for u in vertices:
        consumers = list(arch.successors(u))
        if consumers:
            nets.append([index[u], *(index[v] for v in consumers)])
            costs.append(int(arch.edges[u, consumers[0]]["bytes"]))
    weights = [int(arch.nodes[v]["macs"]) for v in vertices]
    compute = [v not in (INPUT, OUTPUT) for v in vertices]
    return Hypergraph.from_nets(weights, nets, costs, vertices=vertices, compute=compute)
