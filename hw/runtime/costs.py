"""Per-vertex cost estimates (seconds, batch 1) that order and place a deployment.

- `profiled_costs`: time every vertex module of the real model on this machine, one
  thread, on the calling thread's CPU clock (descheduling by other jobs is not
  counted), a low quantile over interleaved repeats, in the layout and on the path
  (eager, or one frozen graph per vertex) the deployment runs — what a deployment
  would do on the device before choosing its schedule;
- `predicted_costs`: the unit latency model of `hw/` (`hw.backends`: the
  operation-wise predictor), no torch run needed;
- `mac_costs`: MACs at a nominal rate; a last resort that ignores memory-bound ops.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import torch

from nas.builder import build_model
from nas.fast import inference_model, to_layout


def profiled_costs(
    arch: nx.DiGraph,
    weights: str | Path | None = None,
    repeats: int = 7,
    quantile: float = 0.25,
    threads: int = 1,
    seed: int = 0,
    channels_last: bool = False,
    fast_path: bool = False,
) -> dict[Hashable, float]:
    """Seconds each vertex takes in this process (one thread), in the memory layout and on
    the path the deployment will use."""
    torch.set_num_threads(threads)
    built = build_model(arch)
    if weights is not None:
        built.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model = inference_model(built, fast_path, channels_last, per_vertex=True)
    size = arch.graph["input_size"]
    image = torch.randn(
        (1, arch.graph.get("in_channels", 3), size, size), generator=torch.Generator().manual_seed(seed)
    )
    image = to_layout(image, channels_last)
    samples: dict[str, list[float]] = {step.vertex: [] for step in built.plan}
    start = [0.0]

    def begin(step: Any, values: dict) -> None:
        start[0] = time.thread_time()

    def end(step: Any, out: Any) -> None:
        samples[step.vertex].append(time.thread_time() - start[0])

    with torch.inference_mode():
        model(image)  # warm-up
        for _ in range(repeats):
            model(image, begin, end)
    return {v: float(np.quantile(samples[str(v)], quantile)) for v in arch}


def predicted_costs(arch: nx.DiGraph, predictor: Any) -> dict[Hashable, float]:
    """Seconds per vertex from hw/'s unit latency model (anything with `vertex_latencies`)."""
    return {v: float(t) for v, t in predictor.vertex_latencies(arch).items()}


def mac_costs(arch: nx.DiGraph, macs_per_s: float = 2e10, per_vertex_s: float = 5e-5) -> dict[Hashable, float]:
    return {v: d["macs"] / macs_per_s + per_vertex_s for v, d in arch.nodes(data=True)}
