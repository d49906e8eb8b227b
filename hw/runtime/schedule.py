"""List-schedule a partitioned architecture, and a latency-aware (HEFT) assignment.

Why the runtime needs this: a worker runs its vertices one after another, and in which
order matters as much as where. Running a unit's vertices in plain topological order
makes a unit sit on a long branch while its peer waits for a tensor it could have sent
early; running them in the order of a simulated schedule (critical work first) keeps
both units busy. So the deploy path simulates the schedule with per-vertex cost
estimates and hands its start-time order to the plan.

Model: a vertex starts when its unit is free and all its inputs are there; a tensor
reaches another unit `latency + bytes / bandwidth` after its producer ends, once per
destination unit; sends do not block the sender (isend). Among the vertices that can
run, a unit takes the one that can start first (ties: the longest remaining path,
then topological position). The image starts on the root; the logits end there.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from hw.runtime.plan import ROOT, image_shape, resolve_assignment, tensor_shape
from nas.arch import DTYPE_BYTES
from nas.dag import INPUT, OUTPUT, topological_order


@dataclass(frozen=True)
class Link:
    latency_s: float = 1e-4
    bandwidth_bytes_s: float = 1e9

    def transfer_s(self, nbytes: int) -> float:
        return self.latency_s + nbytes / self.bandwidth_bytes_s


def fit_link(one_way_ms: Mapping[int, list[float]], quantile: float = 0.25) -> Link:
    """Latency + bytes/bandwidth fitted (least squares) to measured one-way message times."""
    import numpy as np

    sizes = np.array(sorted(one_way_ms), dtype=float)
    times = np.array([np.quantile(one_way_ms[int(n)], quantile) / 1e3 for n in sizes])
    slope, intercept = np.polyfit(sizes, times, 1) if len(sizes) > 1 else (0.0, float(times[0]))
    return Link(latency_s=max(float(intercept), 0.0), bandwidth_bytes_s=1.0 / max(float(slope), 1e-12))


@dataclass
class Schedule:
    start: dict[str, float]
    finish: dict[str, float]
    unit: dict[str, int]
    makespan: float  # seconds until the logits are on the root

    @property
    def order(self) -> list[str]:
        """All vertices by start time: the global order the workers should follow."""
        return sorted(self.start, key=lambda v: (self.start[v], self.finish[v]))


def _nbytes(shape: tuple[int, ...]) -> int:
    count = DTYPE_BYTES
    for dim in shape:
        count *= dim
    return count


def upward_rank(arch: nx.DiGraph, cost: Mapping[str, float], link: Link, units: int) -> dict[str, float]:
    """Longest remaining path (compute + expected transfer) from each vertex to the end."""
    rank: dict[str, float] = {}
    share = (units - 1) / units  # chance a random consumer sits on another unit
    for v in reversed(topological_order(arch)):
        out = link.transfer_s(_nbytes(tensor_shape(arch, v))) * share
        rank[str(v)] = cost[str(v)] + max((out + rank[str(w)] for w in arch.successors(v)), default=0.0)
    return rank


def simulate(arch: nx.DiGraph, assignment: Mapping, cost: Mapping[str, float], units: int,
             link: Link = Link()) -> Schedule:
    """The schedule the runtime follows (module rules); `cost` = seconds per vertex name."""
    unit = resolve_assignment(arch, assignment, units)
    return _list_schedule(arch, cost, units, link, lambda v, est: [unit[v]])


def heft_assignment(arch: nx.DiGraph, cost: Mapping[str, float], units: int, link: Link = Link(),
                    refine: int = 3) -> dict[str, int]:
    """HEFT (Topcuoglu et al. 2002): each vertex, by upward rank, to the unit where it ends first.

    Stem and head stay on the root, where the image is and the logits are wanted. Then
    up to `refine` passes of local search: move single vertices to another unit while
    the simulated makespan drops (HEFT decides greedily, one vertex at a time).
    """
    assignment = dict(_list_schedule(arch, cost, units, link, None).unit)
    best = simulate(arch, assignment, cost, units, link).makespan
    movable = [str(v) for v in topological_order(arch) if v not in (INPUT, OUTPUT)]
    for _ in range(refine):
        improved = False
        for v in movable:
            home = assignment[v]
            for p in range(units):
                if p == home:
                    continue
                assignment[v] = p
                makespan = simulate(arch, assignment, cost, units, link).makespan
                if makespan < best * (1 - 1e-9):
                    best, home, improved = makespan, p, True
            assignment[v] = home
        if not improved:
            break
    return assignment


def _list_schedule(arch, cost, units, link, fixed) -> Schedule:
    names = {str(v): v for v in arch.nodes}
    position = {str(v): i for i, v in enumerate(topological_order(arch))}
    rank = upward_rank(arch, cost, link, units)
    preds = {s: [str(u) for u in arch.predecessors(v)] for s, v in names.items()}
    waiting = {s: len(p) for s, p in preds.items()}
    free = [0.0] * units
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    placed: dict[str, int] = {}
    arrival: dict[tuple[str, int], float] = {}
    image_s = link.transfer_s(_nbytes(image_shape(arch)))

    def data_ready(s: str, p: int) -> float:
        ready = 0.0 if s != INPUT or p == ROOT else image_s
        for u in preds[s]:
            if placed[u] == p:
                ready = max(ready, finish[u])
            else:
                ready = max(ready, arrival.get((u, p), finish[u] + link.transfer_s(_nbytes(tensor_shape(arch, names[u])))))
        return ready

    ready = {INPUT}
    while ready:
        best = None
        for s in ready:
            if fixed is not None:
                candidates = fixed(s, None)
            else:
                candidates = [ROOT] if s in (INPUT, OUTPUT) else range(units)
            for p in candidates:
                est = max(free[p], data_ready(s, p))
                # fixed units: the vertex that can start first; HEFT: highest rank first, then earliest finish
                key = (est, -rank[s], position[s]) if fixed is not None else (-rank[s], est + cost[s], position[s])
                if best is None or key < best[0]:
                    best = (key, s, p, est)
        _, s, p, est = best
        for u in preds[s]:
            if placed[u] != p:
                arrival.setdefault((u, p), finish[u] + link.transfer_s(_nbytes(tensor_shape(arch, names[u]))))
        placed[s], start[s], finish[s] = p, est, est + cost[s]
        free[p] = finish[s]
        ready.discard(s)
        for w in arch.successors(names[s]):
            waiting[str(w)] -= 1
            if waiting[str(w)] == 0:
                ready.add(str(w))
    end = finish[OUTPUT]
    if placed[OUTPUT] != ROOT:
        end += link.transfer_s(_nbytes(tensor_shape(arch, OUTPUT)))
    return Schedule(start, finish, placed, end)
