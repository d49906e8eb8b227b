"""Emulated edge testbed: n slow devices joined by a slow network, on one Linux host.

Mininet's method: each unit is a network namespace made by the run, CPU-capped by a
cgroup (`cgroups`), linked through a bridge in a switch namespace by veth pairs shaped
with `tbf` (`net`). One-way latency comes from netem where the kernel has it, else from
the runtime's sender (`delay.DelayLine`). `calibrate` measures how faithful it is.
Needs root, iproute2 and a cgroup cpu controller (`system.require_host`). Torch-free.
"""

from hw.testbed.bed import STATE_DIR, Testbed, clean_stale
from hw.testbed.cgroups import CpuPlan, UnitCap, cpu_quota_for
from hw.testbed.delay import DelayLine
from hw.testbed.system import (
    TestbedError,
    TestbedUnavailable,
    missing_requirements,
    require_host,
)

__all__ = [
    "STATE_DIR",
    "CpuPlan",
    "DelayLine",
    "Testbed",
    "TestbedError",
    "TestbedUnavailable",
    "UnitCap",
    "clean_stale",
    "cpu_quota_for",
    "missing_requirements",
    "require_host",
]
