"""Predicted latency of a deployment: per-vertex costs + the runtime's schedule model.

Per-vertex costs come from the operation-wise predictor of `hw/` when one is saved
(`hw.predictor`, directory `cfg.hw.predictor`), else the caller's own costs (e.g. a
profile). The distributed prediction is `schedule.simulate` — the exact order and
messaging rules the workers follow — with the link model given.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from hw.runtime.schedule import Link, simulate


def load_predictor(hw_cfg: Any) -> Any | None:
    """The saved `hw.predictor.LatencyPredictor` of this target, or None if there is none yet."""
    directory = getattr(hw_cfg, "predictor", None)
    if not directory or not (Path(directory) / "predictor.json").is_file():
        return None
    try:
        from hw.predictor import LatencyPredictor
    except ImportError:
        return None
    return LatencyPredictor.load(directory)


def link_of(hw_cfg: Any, default: Link) -> Link:
    """The target's link (hw.link.bandwidth_mbps / latency_ms), else `default`."""
    link = getattr(hw_cfg, "link", None)
    if link is None or not hasattr(link, "bandwidth_mbps"):
        return default
    return Link(latency_s=link.latency_ms / 1e3, bandwidth_bytes_s=link.bandwidth_mbps * 1e6 / 8)


def predict(arch: nx.DiGraph, assignment: dict[str, int], units: int, costs: dict[str, float],
            link: Link, source: str) -> dict[str, Any]:
    """Single-unit and distributed latency (ms) and speed-up under one cost model."""
    single = sum(costs.values())
    schedule = simulate(arch, assignment, costs, units, link)
    return {"source": source, "single_ms": single * 1e3, "distributed_ms": schedule.makespan * 1e3,
            "speedup": single / schedule.makespan,
            "link": {"latency_ms": link.latency_s * 1e3, "bandwidth_mbps": link.bandwidth_bytes_s * 8 / 1e6}}
