"""A hardware target: `units` identical units (compute model, memory) and their links."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """What the scheduler and the memory check need to know about a target."""

    name: str
    units: int
    memory_bytes: float  # usable by the model on each unit (RAM minus the reserved part)
    bandwidth_bps: float  # bits per second on a link
    link_latency_s: float  # per message
    contention: bool = False  # a unit's outgoing transfers are sent one after another

    def transfer_time(self, nbytes: float) -> float:
        """Seconds to move one tensor of `nbytes` bytes between two units."""
        return self.link_latency_s + 8.0 * nbytes / self.bandwidth_bps


def target_from_config(hw: Any) -> Target:
    """`Target` of a composed/validated `hw` config (HWConfig or DictConfig)."""
    return Target(
        name=hw.name,
        units=int(hw.units),
        memory_bytes=(hw.memory_mb - hw.reserved_mb) * 2**20,
        bandwidth_bps=hw.link.bandwidth_mbps * 1e6,
        link_latency_s=hw.link.latency_ms * 1e-3,
        contention=bool(hw.link.contention),
    )
