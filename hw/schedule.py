"""The list scheduler: a partitioned DAG on a target's units (docs/method.md §3), and HEFT placement.

One model for every figure: `hw.analyze.latency_report` (task=analyze, the search) and
task=deploy, whose workers run their vertices in the simulated start order
(`Schedule.order`), so what is predicted is what runs.

A vertex starts when its unit is free and all its inputs are there. A tensor produced
on another unit arrives `link latency + bytes / bandwidth` after its producer ended,
sent ONCE to each other unit that consumes it, however many consumers it has there
(the hypergraph view of §2); sending does not stall the sender. With `contention`, a
unit's outgoing messages share its link and go one after another, in the order they
are needed.

Input and output, one rule (what the runtime executes): unit `ROOT` (0) holds the image
and wants the logits. An assignment without `input` / `output` puts them on the root;
a stem placed elsewhere first receives the image from the root, a head placed elsewhere
sends the logits back. Both are ordinary messages of the pseudo-vertices `IMAGE` →
input and output → `RESULT`, counted in `transfers` and in the makespan. Partitioners
number units arbitrarily: `root_first` renumbers a partition so the stem's unit is the
root (the image never moves), which changes no partition metric.

Order (`order`): `ready` — among its vertices that can run, a unit takes the one that
can start first (ties: the longest remaining path, then topological position);
`topological` — each unit runs its vertices in the global topological order (a static
program). `heft_assignment` places the vertices too (HEFT, then local search).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral

import networkx as nx

from hw.target import Target
from nas.arch import DTYPE_BYTES
from nas.checks import require, require_one_of
from nas.dag import INPUT, OUTPUT, topological_order
from nas.execute import IMAGE

Vertex = Hashable  # a graph node id: int (compute vertex), INPUT or OUTPUT
ROOT = 0
RESULT = "<result>"
ORDERS = ("ready", "topological")


@dataclass(frozen=True)
class Transfer:
    """One message per inference: `tensor`'s output (IMAGE: the image) from unit `src` to `dst`."""

    tensor: Vertex
    src: int
    dst: int
    shape: tuple[int, ...]  # without the batch dimension
    tag: int = 0  # the runtime plan's message tag (the producer's step); 0 in a simulated schedule

    @property
    def nbytes(self) -> int:
        return DTYPE_BYTES * math.prod(self.shape)


@dataclass
class Schedule:
    makespan: float  # seconds until the logits are on the root
    start: dict[Vertex, float]
    finish: dict[Vertex, float]
    unit: dict[Vertex, int]
    transfers: list[Transfer] = field(default_factory=list)

    @property
    def order(self) -> list[Vertex]:
        """All vertices by start time: the global order the workers follow."""
        return sorted(self.start, key=lambda v: (self.start[v], self.finish[v]))

    def communication_bytes(self) -> float:
        return float(sum(t.nbytes for t in self.transfers))


def tensor_shape(arch: nx.DiGraph, v: Vertex) -> tuple[int, ...]:
    """Batch-less shape of `v`'s output ((C, S, S), or (C,) for a flat vector); IMAGE: the image."""
    if v == IMAGE:
        size = arch.graph["input_size"]
        return (arch.graph.get("in_channels", 3), size, size)
    channels, size = arch.nodes[v]["channels"], arch.nodes[v]["size"]
    return (channels, size, size) if size else (channels,)


def complete_assignment(arch: nx.DiGraph, assignment: Mapping[Vertex, int], units: int) -> dict[Vertex, int]:
    """Check `assignment` (vertex → unit in [0, units)); a missing input/output goes to the root."""
    require(units >= 1, f"units must be >= 1, got {units}")
    unknown = [v for v in assignment if v not in arch]
    require(not unknown, f"assignment names vertices not in the architecture: {unknown[:5]}")
    bad = sorted(
        {u for u in assignment.values() if isinstance(u, bool) or not isinstance(u, Integral) or not 0 <= u < units},
        key=str,
    )
    require(not bad, f"assignment uses units {bad}, but units are integers 0..{units - 1} (set hw.units)")
    full = {INPUT: ROOT, OUTPUT: ROOT, **{v: int(u) for v, u in assignment.items()}}
    missing = [v for v in arch if v not in full]
    require(not missing, f"assignment leaves {len(missing)} compute vertices without a unit, e.g. {missing[:5]}")
    return full


def root_first(assignment: Mapping[Vertex, int]) -> dict[Vertex, int]:
    """Swap unit labels so the stem's unit is the root (the image never has to move)."""
    stem = assignment.get(INPUT, ROOT)
    swap = {stem: ROOT, ROOT: stem}
    return {v: swap.get(u, u) for v, u in assignment.items()}


class _Graph:
    """An architecture with the image and the logits as pseudo-vertices, and its vertex
    costs: what every schedule of it shares, walked once (`topo`: its topological order,
    if the caller has it)."""

    def __init__(self, arch: nx.DiGraph, cost: Mapping[Vertex, float], topo: Sequence[Vertex] | None = None) -> None:
        self.topo = list(topo) if topo is not None else topological_order(arch)
        self.order = [IMAGE, *self.topo, RESULT]
        self.position = {v: i for i, v in enumerate(self.order)}
        self.preds: dict[Vertex, list[Vertex]] = {v: list(arch.predecessors(v)) for v in self.topo}
        self.preds.update({IMAGE: [], INPUT: [IMAGE], RESULT: [OUTPUT]})
        self.succs: dict[Vertex, list[Vertex]] = {v: list(arch.successors(v)) for v in self.topo}
        self.succs.update({IMAGE: [INPUT], OUTPUT: [RESULT], RESULT: []})
        self.shape = {v: tensor_shape(arch, v) for v in self.order[:-1]}
        self.nbytes = {v: DTYPE_BYTES * math.prod(s) for v, s in self.shape.items()}
        self.cost = {**{v: float(cost[v]) for v in self.topo}, IMAGE: 0.0, RESULT: 0.0}


class _Problem:
    """A `_Graph` on one target: transfer times and upward ranks."""

    def __init__(self, graph: _Graph, target: Target) -> None:
        self.order, self.position, self.preds, self.succs = graph.order, graph.position, graph.preds, graph.succs
        self.shape, self.cost = graph.shape, graph.cost
        self.transfer_s = {v: target.link.transfer_s(b) for v, b in graph.nbytes.items()}
        self.target = target
        # upward rank: longest remaining path (compute + expected transfer) to the end of
        # the architecture (the logits' return to the root is not part of it)
        share = (target.units - 1) / target.units  # chance a random consumer sits on another unit
        self.rank: dict[Vertex, float] = {IMAGE: 0.0, RESULT: 0.0}
        for v in reversed(graph.topo):
            out = self.transfer_s[v] * share
            later = (out + self.rank[w] for w in graph.succs[v] if w != RESULT)
            self.rank[v] = self.cost[v] + max(later, default=0.0)


def _list_schedule(
    pb: _Problem, candidates: Callable[[Vertex], list[int]], heft: bool, order: str = "ready"
) -> Schedule:
    """Schedule every vertex on one of its `candidates` units (fixed: one; HEFT: the best)."""
    units, link, contention = pb.target.units, pb.target.link, pb.target.contention
    free = [0.0] * units
    link_free = [0.0] * units
    start: dict[Vertex, float] = {}
    finish: dict[Vertex, float] = {}
    placed: dict[Vertex, int] = {}
    sent: dict[tuple[Vertex, int], float] = {}  # (tensor, unit) → when it is there
    transfers: list[Transfer] = []
    waiting = {v: len(pb.preds[v]) for v in pb.order}
    queues: dict[int, list[Vertex]] = {}  # order="topological": each unit's program
    for v in pb.order if order == "topological" else ():
        queues.setdefault(candidates(v)[0], []).append(v)

    def send_s(u: Vertex) -> float:
        return max(finish[u], link_free[placed[u]]) if contention else finish[u]

    def arrival(u: Vertex, p: int) -> float:
        if placed[u] == p:
            return finish[u]
        return sent.get((u, p), send_s(u) + pb.transfer_s[u])

    def inputs_at(s: Vertex) -> list[tuple[int, float]]:
        """(unit, when all of `s`'s inputs are there) for each candidate unit of `s`."""
        return [(p, max((arrival(u, p) for u in pb.preds[s]), default=-math.inf)) for p in candidates(s)]

    # Without contention a tensor's arrival on a unit is fixed once its producer is
    # placed (a sent copy arrives exactly when `arrival` says), so `inputs_at` is
    # computed once, when the vertex becomes ready, instead of at every step.
    there: dict[Vertex, list[tuple[int, float]]] = {}
    topological = order == "topological"
    ready: list[Vertex] = [IMAGE]
    there[IMAGE] = inputs_at(IMAGE)
    while ready:
        best = None
        for s in ready:
            for p, inputs in inputs_at(s) if contention else there[s]:
                if topological and queues[p][0] != s:
                    continue
                est = max(free[p], inputs)
                key = (-pb.rank[s], est + pb.cost[s], pb.position[s]) if heft else (est, -pb.rank[s], pb.position[s])
                if best is None or key < best[0]:
                    best = (key, s, p, est)
        assert best is not None  # every ready vertex has a candidate unit
        _, s, p, est = best
        for u in pb.preds[s]:
            if placed[u] != p and (u, p) not in sent:
                send = send_s(u)
                sent[(u, p)] = send + pb.transfer_s[u]
                if contention:
                    link_free[placed[u]] = send + pb.transfer_s[u] - link.latency_s
                transfers.append(Transfer(u, placed[u], p, pb.shape[u]))
        placed[s], start[s], finish[s] = p, est, est + pb.cost[s]
        free[p] = finish[s]
        ready.remove(s)
        if topological:
            queues[p].pop(0)
        for w in pb.succs[s]:
            waiting[w] -= 1
            if waiting[w] == 0:
                ready.append(w)
                if not contention:
                    there[w] = inputs_at(w)
    real = [v for v in start if v not in (IMAGE, RESULT)]  # in scheduling order
    return Schedule(
        finish[RESULT],
        {v: start[v] for v in real},
        {v: finish[v] for v in real},
        {v: placed[v] for v in real},
        transfers,
    )


class Simulator:
    """`simulate` of one architecture and vertex costs, for any assignment and target:
    the graph is walked once (the survey schedules every sample on several unit counts)."""

    def __init__(self, arch: nx.DiGraph, cost: Mapping[Vertex, float], topo: Sequence[Vertex] | None = None) -> None:
        self.arch = arch
        self.graph = _Graph(arch, cost, topo)
        self.total_cost = float(sum(cost.values()))

    def __call__(self, assignment: Mapping[Vertex, int], target: Target, order: str = "ready") -> Schedule:
        require_one_of("order", order, ORDERS)
        unit = {**complete_assignment(self.arch, assignment, target.units), IMAGE: ROOT, RESULT: ROOT}
        return _list_schedule(_Problem(self.graph, target), lambda v: [unit[v]], heft=False, order=order)


def simulate(
    arch: nx.DiGraph,
    assignment: Mapping[Vertex, int],
    cost: Mapping[Vertex, float],
    target: Target,
    order: str = "ready",
) -> Schedule:
    """Schedule every vertex (`cost`: seconds per vertex) on its assigned unit."""
    return Simulator(arch, cost)(assignment, target, order)


def heft_assignment(
    arch: nx.DiGraph, cost: Mapping[Vertex, float], target: Target, refine: int = 3
) -> dict[Vertex, int]:
    """HEFT (Topcuoglu et al. 2002): each vertex, by upward rank, to the unit where it ends first.

    Stem and head stay on the root, where the image is and the logits are wanted. Then
    up to `refine` passes of local search: move single vertices to another unit while
    the simulated makespan drops (HEFT decides greedily, one vertex at a time).
    """
    problem = _Problem(_Graph(arch, cost), target)
    everywhere = list(range(target.units))
    terminals = (IMAGE, INPUT, OUTPUT, RESULT)
    assignment = dict(_list_schedule(problem, lambda v: [ROOT] if v in terminals else everywhere, heft=True).unit)

    def makespan() -> float:
        return _list_schedule(problem, lambda v: [assignment.get(v, ROOT)], heft=False).makespan

    best = makespan()
    movable = [v for v in problem.order if v not in terminals]
    for _ in range(refine):
        improved = False
        for v in movable:
            home = assignment[v]
            for p in everywhere:
                if p == home:
                    continue
                assignment[v] = p
                trial = makespan()
                if trial < best * (1 - 1e-9):
                    best, home, improved = trial, p, True
            assignment[v] = home
        if not improved:
            break
    return assignment
