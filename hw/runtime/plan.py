"""Static communication plan of a partitioned architecture: who computes, sends, receives what.

Everything a worker needs to run its share is fixed before the first inference: the
vertices it computes (in one global topological order), the tensors it receives (with
their shapes, so buffers are preallocated), and the units each of its outputs goes to.

Rules:
- Units are torch.distributed ranks 0..n-1; the image, the logits, a missing `input` /
  `output` and the messages follow `hw.schedule`'s one rule (the root rank holds the
  image and gathers the logits: pseudo-vertices `IMAGE` → input and output → `RESULT`),
  so the plan sends exactly the transfers the simulated schedule counts.
- A tensor is sent ONCE to each other unit that has at least one consumer of it (the
  hypergraph's connectivity − 1), never once per consuming vertex.
- All ranks follow one global execution order (topological by default, or a simulated
  schedule's start order); every tensor's message tag is its position in that order,
  so (src, dst, tag) names one message of one inference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx

from hw.schedule import IMAGE, RESULT, ROOT, Transfer, Vertex, complete_assignment, tensor_shape
from nas.checks import require
from nas.dag import INPUT, OUTPUT, compute_vertices, inputs_of, topological_order
from nas.execute import free_after_last_use


@dataclass
class Step:
    """One vertex computed locally: read `inputs`, send the output to `sends`, drop `free`."""

    vertex: Vertex
    inputs: list[Vertex]
    sends: list[int]
    tag: int
    free: list[Vertex] = field(default_factory=list)


@dataclass
class RankPlan:
    rank: int
    steps: list[Step]
    recvs: list[Transfer]

    @property
    def vertices(self) -> list[Vertex]:
        """Real vertices this rank computes (pseudo-vertices excluded)."""
        return [s.vertex for s in self.steps if s.vertex not in (IMAGE, RESULT)]


@dataclass
class Plan:
    world_size: int
    assignment: dict[Vertex, int]  # every real vertex (incl. input/output) → rank
    ranks: list[RankPlan]
    transfers: list[Transfer]

    @property
    def messages(self) -> int:
        return len(self.transfers)

    @property
    def bytes(self) -> int:
        """Bytes sent per inference at batch 1."""
        return sum(t.nbytes for t in self.transfers)


def execution_order(arch: nx.DiGraph, order: Sequence[Vertex] | None = None) -> list[Vertex]:
    """Validate a global vertex order (default: topological); every rank follows it."""
    if order is None:
        return topological_order(arch)
    order = list(order)
    require(
        len(order) == len(arch) and set(order) == set(arch.nodes),
        "execution order must list every vertex of the architecture exactly once",
    )
    position = {v: i for i, v in enumerate(order)}
    for u, v in arch.edges:
        require(position[u] < position[v], f"execution order runs vertex {v} before its input {u}")
    return order


def build_plan(
    arch: nx.DiGraph, assignment: Mapping[Vertex, int], world_size: int, order: Sequence[Vertex] | None = None
) -> Plan:
    """The per-rank steps and messages of one inference (see the module rules).

    `order` is the global order every rank runs its own vertices in (a topological
    order, e.g. a simulated schedule's start order); a shared order keeps the exchange
    deadlock-free.
    """
    unit = complete_assignment(arch, assignment, world_size)
    unit[IMAGE] = unit[RESULT] = ROOT
    order = [IMAGE, *execution_order(arch, order), RESULT]
    tag = {v: i for i, v in enumerate(order)}
    inputs = {v: inputs_of(arch, v) for v in arch.nodes}
    inputs.update({INPUT: [IMAGE], RESULT: [OUTPUT], IMAGE: []})
    consumers: dict[Vertex, list[Vertex]] = {v: [] for v in order}
    for v in order:
        for u in inputs[v]:
            consumers[u].append(v)

    transfers: list[Transfer] = []
    steps: list[list[Step]] = [[] for _ in range(world_size)]
    recvs: list[list[Transfer]] = [[] for _ in range(world_size)]
    for v in order:
        src = unit[v]
        destinations = sorted({unit[w] for w in consumers[v]} - {src})
        for dst in destinations:
            t = Transfer(v, src, dst, tensor_shape(arch, v), tag[v])
            transfers.append(t)
            recvs[dst].append(t)
        steps[src].append(Step(v, inputs[v], destinations, tag[v]))
    for rank_steps in steps:
        free_after_last_use(rank_steps)
    ranks = [RankPlan(r, steps[r], recvs[r]) for r in range(world_size)]
    del unit[IMAGE], unit[RESULT]
    return Plan(world_size, unit, ranks, transfers)


def topological_chunks(arch: nx.DiGraph, units: int) -> dict[Vertex, int]:
    """Fallback partition: the topological order cut into `units` runs of about equal MACs.

    Contiguous chunks never send a tensor backwards, but a chain model gets no overlap
    at all; this is the baseline a real partitioner (METIS) should beat.
    """
    vertices = compute_vertices(arch)
    weights = [arch.nodes[v]["macs"] + 1 for v in vertices]
    total = float(sum(weights))
    assignment: dict[Vertex, int] = {}
    done = 0.0
    for v, w in zip(vertices, weights, strict=True):
        assignment[v] = min(units - 1, int((done + w / 2) / total * units))
        done += w
    return assignment


def single_unit(arch: nx.DiGraph) -> dict[Vertex, int]:
    """Everything on the root: the one-unit reference."""
    return {v: ROOT for v in arch.nodes}
