"""`deploy.testbed=emulated`: size the emulated testbed (`hw.testbed`) to the `hw` target.

Each unit is capped at 1 / slowdown of a core here, where slowdown is hw/'s compute
model of the target's unit against this machine: the `scaled` backend's factor
(published latency of a reference model on the device / this machine's time of it,
from the local profile, or the FLOPs stand-in's time when there is no profile, which
is flagged), 1 for `local`. `cpu_quota_for` keeps all caps within the cores and says
when they do not fit (`faithful`). The links are shaped to `hw.link.bandwidth_mbps`,
its `latency_ms` comes from netem or the workers' `DelayLine` (`Testbed`).

Per-vertex costs measured or modelled for this machine run `1 / quota` times slower
in a unit; `scale` turns them into the emulated unit's, so placement, order and the
prediction are made for the units that really run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from hw.testbed import CpuPlan, Testbed, cpu_quota_for

CPU_WEIGHT = 8.0


@dataclass(frozen=True)
class Emulation:
    """The testbed a deployment of `units` units of a target runs on."""

    units: int
    slowdown: float  # the target unit's time / this machine's, by hw/'s compute model
    basis: str  # where `slowdown` comes from
    fallback: str | None  # "flops": no local profile, the stand-in made `slowdown`
    cpu: CpuPlan
    bandwidth_mbps: float
    latency_ms: float

    @property
    def unit_slowdown(self) -> float:
        """How much slower than a core here an emulated unit runs (the cap applied)."""
        return 1.0 / self.cpu.quota

    def scale(self, costs: dict[Any, float], model_slowdown: float = 1.0) -> dict[Any, float]:
        """Costs on the emulated unit; `model_slowdown`: the factor `costs` already carry
        (hw/'s scaled predictor: `slowdown`; costs timed or counted here: 1)."""
        factor = self.unit_slowdown / model_slowdown
        return {v: c * factor for v, c in costs.items()}

    def testbed(self, name_prefix: str = "cnas") -> Testbed:
        """Units capped only while they run inferences (`hw.runtime.worker`): start-up at a
        Pi's 1/40 of a core would take minutes and is not measured. The run weighs
        `CPU_WEIGHT` default jobs, so a busy host does not starve the units below their
        caps (which bound what they take: at most 0.9 of the cores, see `cpu_quota_for`)."""
        return Testbed(
            self.units,
            self.cpu.quota,
            self.bandwidth_mbps,
            self.latency_ms,
            name_prefix=name_prefix,
            defer_cap=True,
            cpu_weight=CPU_WEIGHT,
        )

    def to_json(self, bed: Testbed | None = None) -> dict[str, Any]:
        out = {
            "testbed": "emulated",
            "units": self.units,
            "target_slowdown": round(self.slowdown, 4),
            "slowdown_basis": self.basis,
            "slowdown_fallback": self.fallback,
            "cpu_quota": round(self.cpu.quota, 5),
            "unit_slowdown": round(self.unit_slowdown, 4),
            "faithful": self.cpu.faithful,
            "cpu_note": self.cpu.note,
            "host_cores": os.cpu_count(),
            "bandwidth_mbps": self.bandwidth_mbps,
            "latency_ms": self.latency_ms,
        }
        if bed is not None:
            out["latency_via"] = "netem" if bed.kernel_delay else "transport DelayLine (no netem in this kernel)"
        return out


def target_slowdown(hw: Any) -> tuple[float, str, str | None]:
    """(slowdown, its basis, fallback) of the `hw` target's unit against this machine."""
    from hw.backends import ScaledBackend, create_backend

    backend = create_backend(hw)
    about = backend.describe()
    if isinstance(backend, ScaledBackend):
        return float(backend.slowdown), about["slowdown_basis"], about.get("fallback")
    return 1.0, f"{about['backend']} backend: this machine's own speed", about.get("fallback")


def emulation_for(hw: Any, units: int | None = None, cores: int | None = None) -> Emulation:
    """The testbed for `units` (default `hw.units`) units of the `hw` target on `cores`."""
    units = hw.units if units is None else units
    slowdown, basis, fallback = target_slowdown(hw)
    plan = cpu_quota_for(slowdown, units, cores or os.cpu_count() or 1)
    return Emulation(units, slowdown, basis, fallback, plan, float(hw.link.bandwidth_mbps), float(hw.link.latency_ms))
