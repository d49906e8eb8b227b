"""Predicted latency of a deployment, next to which the measured one is reported.

Two predictions:
- `hw_prediction`: the hardware package's own — its unit latency model (`hw.backends`,
  the operation-wise predictor of a `task=profile` run, or its FLOPs stand-in, flagged)
  and its list scheduler (`hw.analyze.latency_report`) on the `hw` target with
  `units` = the number of workers and, when measured, the loopback link of this run;
- `planned`: the runtime's own schedule model (`schedule.simulate`, the order the
  workers really follow) with the costs used to place the vertices (e.g. a profile).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import networkx as nx

from hw.runtime.schedule import Link, simulate


def hw_prediction(arch: nx.DiGraph, assignment: dict[str, int], units: int, hw_cfg: Any,
                  link: Link | None = None, backend: Any = None) -> dict[str, Any] | None:
    """hw/'s predicted single-unit and distributed latency, or None if hw/ cannot predict."""
    try:
        from hw.analyze import latency_report
        from hw.backends import create_backend
        from hw.target import target_from_config
    except ImportError:
        return None
    if hw_cfg is None or not hasattr(hw_cfg, "compute"):
        return None
    target = dataclasses.replace(target_from_config(hw_cfg), units=units)
    if link is not None:
        target = dataclasses.replace(target, link_latency_s=link.latency_s, bandwidth_bps=8 * link.bandwidth_bytes_s)
    backend = backend or create_backend(hw_cfg)
    by_name = {str(v): v for v in arch.nodes}
    report = latency_report(arch, {by_name[v]: u for v, u in assignment.items()}, target, backend,
                            getattr(hw_cfg, "schedule_order", "ready"))
    keep = ("predicted_latency_ms", "predicted_distributed_ms", "predicted_speedup", "transfers", "communication_bytes")
    return {"source": "hw predictor", "target": hw_cfg.name, **{k: report[k] for k in keep},
            "latency_model": backend.describe()}


def planned(arch: nx.DiGraph, assignment: dict[str, int], units: int, costs: dict[str, float],
            link: Link, source: str) -> dict[str, Any]:
    """Single-unit and distributed latency (ms) under the runtime's schedule model."""
    single = sum(costs.values())
    schedule = simulate(arch, assignment, costs, units, link)
    return {"source": source, "single_ms": single * 1e3, "distributed_ms": schedule.makespan * 1e3,
            "speedup": single / schedule.makespan,
            "link": {"latency_ms": link.latency_s * 1e3, "bandwidth_mbps": link.bandwidth_bytes_s * 8 / 1e6}}
