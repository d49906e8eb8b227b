"""Latency figures of one architecture on a target, for `task=analyze` and the search."""
from __future__ import annotations

from typing import Any, Mapping

import networkx as nx

from hw.memory import unit_memory
from hw.schedule import simulate
from hw.target import Target, target_from_config


def latency_report(arch: nx.DiGraph, assignment: Mapping[Any, int], target: Target, predictor: Any,
                   order: str = "ready") -> dict:
    """Predicted single-unit and distributed latency, speed-up and memory per unit.

    `predictor` is any unit latency model (`hw.backends`): it gives each vertex's
    seconds on one unit; the distributed latency is the list schedule of the DAG under
    `assignment` (vertex → unit) on `target`.
    """
    latency = predictor.vertex_latencies(arch)
    single = predictor.predict(arch)
    schedule = simulate(arch, assignment, latency, target, order)
    per_call = single - sum(latency.values())  # the model call's own overhead, paid once
    distributed = schedule.makespan + per_call
    memory = unit_memory(arch, schedule.unit, target.units)
    worst = max(r["total"] for r in memory.values())
    return {
        "target": target.name,
        "units": target.units,
        "units_used": len(set(schedule.unit.values())),
        "predicted_latency_ms": round(single * 1e3, 4),
        "predicted_distributed_ms": round(distributed * 1e3, 4),
        "predicted_speedup": round(single / distributed, 4) if distributed > 0 else None,
        "communication_bytes": schedule.communication_bytes(),
        "transfers": len(schedule.transfers),
        "memory_per_unit_mb": {int(u): round(r["total"] / 2**20, 3) for u, r in memory.items()},
        "memory_available_mb": round(target.memory_bytes / 2**20, 1),
        "memory_constraint": round(worst / target.memory_bytes - 1.0, 6),
    }


def single_unit_assignment(arch: nx.DiGraph) -> dict[Any, int]:
    return {v: 0 for v in arch}


def hardware_report(cfg: Any, arch: nx.DiGraph, assignment: Mapping[Any, int] | None = None) -> dict:
    """`latency_report` for the configured target; without an assignment, one unit."""
    from hw.backends import create_backend

    target = target_from_config(cfg.hw)
    backend = create_backend(cfg.hw)
    report = latency_report(arch, assignment or single_unit_assignment(arch), target, backend,
                            cfg.hw.schedule_order)
    report["latency_model"] = backend.describe()
    return report


ANALYZE_KEYS = ("predicted_latency_ms", "predicted_distributed_ms", "predicted_speedup")


def analyze_summary(cfg: Any, arch: nx.DiGraph, assignment: Mapping[Any, int] | None) -> dict:
    """What `task=analyze` adds: the three predicted figures, the rest under `hw`."""
    report = hardware_report(cfg, arch, assignment)
    return {**{k: report.pop(k) for k in ANALYZE_KEYS}, "hw": report}
