"""Distributed latency: list-schedule an architecture's DAG on a target's units (SPEC §3).

A vertex runs on its assigned unit once the unit is free and all its inputs are there.
An input produced on another unit arrives `link latency + bytes / bandwidth` after its
producer finished; a tensor is sent ONCE to each other unit that consumes it, however
many consumers it has there (the hypergraph view of §2). Units run one vertex at a
time; sending does not stall the sender's compute. With `contention`, a unit's
outgoing transfers share its link and go one after another.

`order="ready"` (default): whenever a unit could start several of its vertices, it
starts the one that can start earliest (ties: topological order), as a worker that
waits on any input would. `order="topological"`: each unit runs its vertices in the
global topological order, as a static per-unit program would.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import networkx as nx

from hw.target import Target
from nas.dag import INPUT, OUTPUT, topological_order


@dataclass
class Transfer:
    tensor: Any  # producing vertex
    source: int
    destination: int
    start: float
    arrival: float
    nbytes: float


@dataclass
class Schedule:
    makespan: float
    start: dict[Any, float]
    finish: dict[Any, float]
    unit: dict[Any, int]
    transfers: list[Transfer] = field(default_factory=list)

    def busy(self) -> dict[int, float]:
        """Compute seconds per unit."""
        busy: dict[int, float] = {}
        for v, u in self.unit.items():
            busy[u] = busy.get(u, 0.0) + self.finish[v] - self.start[v]
        return busy

    def communication_bytes(self) -> float:
        return float(sum(t.nbytes for t in self.transfers))


def complete_assignment(arch: nx.DiGraph, assignment: Mapping[Any, int], units: int) -> dict[Any, int]:
    """Check `assignment` (vertex → unit in [0, units)) and place `input`/`output` if absent.

    A missing input goes to the unit holding most of its consumers, a missing output
    to the unit holding most of its producers (ties: lowest unit id).
    """
    full = {v: int(u) for v, u in assignment.items()}
    unknown = [v for v in full if v not in arch]
    if unknown:
        raise ValueError(f"assignment names vertices not in the architecture: {unknown[:5]}")
    for terminal, neighbours in ((INPUT, arch.successors), (OUTPUT, arch.predecessors)):
        if terminal not in full:
            placed = [full[w] for w in neighbours(terminal) if w in full]
            full[terminal] = min(set(placed), key=lambda u: (-placed.count(u), u)) if placed else 0
    missing = [v for v in arch if v not in full]
    if missing:
        raise ValueError(f"assignment misses {len(missing)} vertices, e.g. {missing[:5]}")
    bad = sorted({u for u in full.values() if not 0 <= u < units})
    if bad:
        raise ValueError(f"assignment uses units {bad}, but the target has units 0..{units - 1} (set hw.units)")
    return full


def simulate(arch: nx.DiGraph, assignment: Mapping[Any, int], latency: Mapping[Any, float], target: Target,
             order: str = "ready") -> Schedule:
    """Schedule every vertex (seconds in `latency`) on its unit; returns start/finish times."""
    if order not in ("ready", "topological"):
        raise ValueError(f"order must be ready or topological, got {order!r}")
    unit = complete_assignment(arch, assignment, target.units)
    topo = topological_order(arch)
    position = {v: i for i, v in enumerate(topo)}
    unit_free = [0.0] * target.units
    link_free = [0.0] * target.units
    start: dict[Any, float] = {}
    finish: dict[Any, float] = {}
    arrival: dict[tuple[Any, int], float] = {}  # (tensor, unit) → when it is available there
    transfers: list[Transfer] = []
    waiting = {v: arch.in_degree(v) for v in arch}
    ready = [v for v in topo if waiting[v] == 0]
    queues: dict[int, list[Any]] = {}  # topological order: per-unit program
    for v in topo:
        queues.setdefault(unit[v], []).append(v)

    def earliest_start(v: Any) -> float:
        data = max((arrival[(u, unit[v])] for u in arch.predecessors(v)), default=0.0)
        return max(data, unit_free[unit[v]])

    while ready:
        if order == "ready":
            v = min(ready, key=lambda w: (earliest_start(w), position[w]))
        else:
            v = min((w for w in ready if queues[unit[w]][0] == w), key=lambda w: (earliest_start(w), position[w]))
            queues[unit[v]].pop(0)
        ready.remove(v)
        p = unit[v]
        start[v] = earliest_start(v)
        finish[v] = start[v] + float(latency[v])
        unit_free[p] = finish[v]
        arrival[(v, p)] = finish[v]
        nbytes = _tensor_bytes(arch, v)
        for q in sorted({unit[w] for w in arch.successors(v)} - {p}):
            send = max(finish[v], link_free[p]) if target.contention else finish[v]
            wire = 8.0 * nbytes / target.bandwidth_bps
            if target.contention:
                link_free[p] = send + wire
            arrival[(v, q)] = send + wire + target.link_latency_s
            transfers.append(Transfer(v, p, q, send, arrival[(v, q)], nbytes))
        for w in arch.successors(v):
            waiting[w] -= 1
            if waiting[w] == 0:
                ready.append(w)
    if len(finish) != arch.number_of_nodes():
        raise ValueError("could not schedule every vertex (is the graph a DAG?)")
    return Schedule(max(finish.values()), start, finish, unit, transfers)


def _tensor_bytes(arch: nx.DiGraph, v: Any) -> float:
    """Bytes of `v`'s output (every out-edge carries the same tensor)."""
    for _, _, data in arch.out_edges(v, data=True):
        return float(data.get("bytes", 0))
    return 0.0


def single_unit_latency(latency: Mapping[Any, float]) -> float:
    return float(sum(latency.values()))
