"""Size limits checked before anything is allocated: one line saying which, and how to raise it.

Without them a mistyped size ends in a hang or the kernel's OOM killer: `nodes=100000`
spends a minute in numpy, a 20,000-vertex file grows networkx past 20 GB, 4096-px inputs
ask a training batch for 120 GB. The vertex limit is fixed (`MAX_VERTICES`, raise it with
`CNAS_MAX_VERTICES`); the memory limit is what this machine has available (raise or lower
it with `CNAS_MAX_MEMORY_GB`). Estimates come from the analytic costs (`nas/shapes.py`),
so no torch is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

MAX_VERTICES = 5000  # compute vertices; an ER graph of 5000 builds in ~9 s with ~1.9 M edges
DTYPE_BYTES = 4  # float32
TRAINING_TASKS = ("train", "search")
GB = 1024**3


def max_vertices() -> int:
    return int(os.environ.get("CNAS_MAX_VERTICES", MAX_VERTICES))


def check_vertex_count(spec: Any, key: str = "nodes") -> None:
    """`spec` (a count, a list of counts or a {low, high} range) stays within the vertex limit."""
    if isinstance(spec, Mapping):
        spec = spec.get("high")
    elif isinstance(spec, Sequence) and not isinstance(spec, str):
        spec = max((v for v in spec if isinstance(v, int)), default=None)
    limit = max_vertices()
    if isinstance(spec, int) and spec > limit:
        raise ValueError(
            f"{key}={spec} is above the limit of {limit} compute vertices; "
            f"set CNAS_MAX_VERTICES={spec} to raise it (time and memory grow with it)"
        )


@dataclass(frozen=True)
class SizeEstimate:
    """Lower bounds of an annotated architecture's memory, in bytes."""

    param_bytes: int
    activation_bytes: int  # every vertex output of one image (what backward keeps)

    def training_bytes(self, batch_size: int) -> int:
        """Weights + gradients, and the batch's vertex outputs with their gradients."""
        return 2 * self.param_bytes + 2 * batch_size * self.activation_bytes


def estimate(arch: nx.DiGraph) -> SizeEstimate:
    params = sum(d["params"] for _, d in arch.nodes(data=True))
    values = sum(d["channels"] * max(d["size"], 1) ** 2 for _, d in arch.nodes(data=True))
    return SizeEstimate(params * DTYPE_BYTES, values * DTYPE_BYTES)


def available_memory() -> int | None:
    """Bytes this process may still allocate: `CNAS_MAX_MEMORY_GB`, else MemAvailable."""
    if "CNAS_MAX_MEMORY_GB" in os.environ:
        return int(float(os.environ["CNAS_MAX_MEMORY_GB"]) * GB)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_memory(arch: nx.DiGraph, cfg: Any) -> nx.DiGraph:
    """Refuse `arch` when a training batch (one image for tasks that do not train) cannot
    fit the available memory; returns `arch` so callers can wrap their return value."""
    batch = cfg.train.batch_size if cfg.task in TRAINING_TASKS else 1
    needed = estimate(arch).training_bytes(batch)
    limit = available_memory()
    if limit is not None and needed > limit:
        raise ValueError(
            f"the architecture needs at least {needed / GB:.1f} GB for a batch of {batch} at "
            f"input_size={arch.graph['input_size']} but {limit / GB:.1f} GB are available; lower "
            f"train.batch_size, input_size or staging.channels, or set CNAS_MAX_MEMORY_GB to override"
        )
    return arch
