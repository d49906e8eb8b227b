"""Latency figures of one architecture on a target: task=analyze, the search and task=deploy."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from hw.memory import memory_constraint, unit_memory
from hw.schedule import Schedule, Simulator, Vertex, root_first
from hw.target import Target, target_from_config


@dataclass(frozen=True)
class LatencyReport:
    """Predicted single-unit and distributed latency (seconds), messages and memory per unit."""

    target: str
    units: int
    units_used: int
    single_s: float
    distributed_s: float
    communication_bytes: float
    transfers: int
    memory_per_unit: dict[int, float]  # bytes
    memory_available: float  # bytes per unit

    @property
    def speedup(self) -> float | None:
        return _speedup(self.single_s, self.distributed_s)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "units": self.units,
            "units_used": self.units_used,
            "predicted_latency_ms": round(self.single_s * 1e3, 4),
            "predicted_distributed_ms": round(self.distributed_s * 1e3, 4),
            "predicted_speedup": None if self.speedup is None else round(self.speedup, 4),
            "communication_bytes": self.communication_bytes,
            "transfers": self.transfers,
            "memory_per_unit_mb": {u: round(b / 2**20, 3) for u, b in self.memory_per_unit.items()},
            "memory_available_mb": round(self.memory_available / 2**20, 1),
            "memory_constraint": round(memory_constraint(self.memory_per_unit, self.memory_available), 6),
        }


def _speedup(single_s: float, distributed_s: float) -> float | None:
    return single_s / distributed_s if distributed_s > 0 else None


@dataclass(frozen=True)
class LatencyPrediction:
    """Predicted single-unit and distributed latency (seconds) of one assignment, and its schedule."""

    single_s: float
    distributed_s: float
    schedule: Schedule

    @property
    def speedup(self) -> float | None:
        return _speedup(self.single_s, self.distributed_s)


def predict_latency(
    simulator: Simulator,
    assignment: Mapping[Vertex, int],
    target: Target,
    single_s: float | None = None,
    order: str = "ready",
) -> LatencyPrediction:
    """The list schedule (`hw.schedule`) of `assignment` (vertex → unit) on `target`.

    `simulator`: the architecture with each vertex's seconds on one unit; `single_s`: the
    whole model's on one unit (default: their sum) — its excess over the sum is the model
    call's own overhead, paid once, so it is added to the distributed figure too. Units
    are renumbered stem-first (`root_first`), as task=deploy runs a partition.
    """
    total = simulator.total_cost
    single = total if single_s is None else single_s
    schedule = simulator(root_first(assignment), target, order)
    return LatencyPrediction(single, schedule.makespan + (single - total), schedule)


class TargetLatency:
    """The `hw` target's unit latency model and list scheduler, on any number of its units:
    the survey's predicted latency of each best partition (`partition.survey.LatencyModel`)."""

    def __init__(self, hw: Any) -> None:
        from hw.backends import create_backend

        self.backend = create_backend(hw)
        self.target = target_from_config(hw)
        self.order = hw.schedule_order

    def describe(self) -> dict:
        return {"target": self.target.name, **self.backend.describe()}

    def predictions(
        self, arch: nx.DiGraph, placements: Sequence[tuple[Mapping[Vertex, int], int]], topo: list | None = None
    ) -> list[LatencyPrediction]:
        """One prediction per (assignment, unit count); `topo`: the architecture's
        topological order, if known. The graph is walked once for every unit count."""
        latencies, single = self.backend.latencies(arch)
        simulator = Simulator(arch, latencies, topo)
        return [
            predict_latency(simulator, assignment, dataclasses.replace(self.target, units=units), single, self.order)
            for assignment, units in placements
        ]


def latency_report(
    arch: nx.DiGraph,
    assignment: Mapping[Vertex, int],
    target: Target,
    latency: Mapping[Vertex, float],
    single_s: float | None = None,
    order: str = "ready",
) -> LatencyReport:
    """`predict_latency` of `assignment` (`latency`: each vertex's seconds on one unit), with
    the messages and the memory per unit."""
    predicted = predict_latency(Simulator(arch, latency), assignment, target, single_s, order)
    schedule = predicted.schedule
    memory = unit_memory(arch, assignment, target.units)
    return LatencyReport(
        target.name,
        target.units,
        len(set(schedule.unit.values())),
        predicted.single_s,
        predicted.distributed_s,
        schedule.communication_bytes(),
        len(schedule.transfers),
        {int(u): r["total"] for u, r in memory.items()},
        target.memory_bytes,
    )


ANALYZE_KEYS = ("predicted_latency_ms", "predicted_distributed_ms", "predicted_speedup")


def analyze_summary(cfg: Any, arch: nx.DiGraph, assignment: Mapping[Vertex, int] | None) -> dict:
    """What `task=analyze` adds for the configured target (without an assignment: one unit):
    the three predicted figures, the rest of the report under `hw`."""
    from hw.backends import create_backend

    backend = create_backend(cfg.hw)
    report = latency_report(
        arch,
        assignment or {v: 0 for v in arch},
        target_from_config(cfg.hw),
        backend.vertex_latencies(arch),
        backend.predict(arch),
        cfg.hw.schedule_order,
    )
    summary = {**report.to_json(), "latency_model": backend.describe()}
    return {**{k: summary.pop(k) for k in ANALYZE_KEYS}, "hw": summary}
