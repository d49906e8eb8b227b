"""A hardware target: `units` identical units (memory) joined by identical links.

One unit convention inside hw/: seconds and bytes (a link's bandwidth is bytes/s);
the config's ms and Mbit/s are converted once, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Link:
    """Every pair of units: a message of n bytes takes `latency_s + n / bandwidth_bytes_s`."""

    latency_s: float = 1e-4
    bandwidth_bytes_s: float = 1.25e8

    def transfer_s(self, nbytes: float) -> float:
        return self.latency_s + nbytes / self.bandwidth_bytes_s

    def to_json(self) -> dict[str, float]:
        return {"latency_ms": self.latency_s * 1e3, "bandwidth_mbps": self.bandwidth_bytes_s * 8 / 1e6}


def link_from_config(link: Any) -> Link:
    """`Link` of a `hw.link` config (latency_ms, bandwidth_mbps)."""
    return Link(link.latency_ms * 1e-3, link.bandwidth_mbps * 1e6 / 8)


def fit_link(one_way_ms: Mapping[int, list[float]], quantile: float = 0.25) -> Link:
    """Latency + bytes/bandwidth fitted (least squares) to measured one-way message times."""
    import numpy as np

    sizes = np.array(sorted(one_way_ms), dtype=float)
    times = np.array([np.quantile(one_way_ms[int(n)], quantile) / 1e3 for n in sizes])
    slope, intercept = np.polyfit(sizes, times, 1) if len(sizes) > 1 else (0.0, float(times[0]))
    return Link(latency_s=max(float(intercept), 0.0), bandwidth_bytes_s=1.0 / max(float(slope), 1e-12))


@dataclass(frozen=True)
class Target:
    """What the scheduler and the memory check need to know about a target."""

    name: str
    units: int
    memory_bytes: float  # usable by the model on each unit (RAM minus the reserved part)
    link: Link = field(default_factory=Link)
    contention: bool = False  # a unit's outgoing transfers are sent one after another


def target_from_config(hw: Any) -> Target:
    """`Target` of a composed/validated `hw` config (HWConfig or DictConfig)."""
    return Target(
        hw.name,
        int(hw.units),
        (hw.memory_mb - hw.reserved_mb) * 2**20,
        link_from_config(hw.link),
        bool(hw.link.contention),
    )
