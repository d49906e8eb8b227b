"""CPU caps: one cgroup per unit with CFS bandwidth control (Mininet's CPULimitedHost).

A unit capped at `quota` gets `quota × period` µs of CPU time every `period` µs, summed
over all its threads: a single-threaded job runs `1 / quota` times slower than on a free
core here. cgroup v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) and v2 (`cpu.max`) are
both handled; the controller is found from /proc/self/mounts.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MIN_QUOTA_US = 1000  # the kernel's floor for cfs quota
PERIOD_US = 10_000  # short periods keep a capped unit's slowdown even over ~10 ms steps


@dataclass(frozen=True)
class CpuController:
    """Where unit cgroups are made (a v1 `cpu` mount or a v2 mount with `cpu` enabled)."""

    root: Path
    version: int

    def create(self, path: Path, quota: float | None, defer: bool = False) -> None:
        """Make the cgroup `path` (under `root`), capped at `quota` cores (None: uncapped);
        `defer`: uncapped until its program engages the cap (`UnitCap`)."""
        path.mkdir(exist_ok=True)
        if self.version == 2:
            (path.parent / "cgroup.subtree_control").write_text("+cpu")
        if quota is None:
            return
        if self.version == 1:
            (path / "cpu.cfs_period_us").write_text(str(period_us(quota)))
        if not defer:
            self.cap_file(path).write_text(self.cap_text(quota))

    def weigh(self, path: Path, factor: float) -> None:
        """Give `path` `factor` times the default weight against its siblings (the host's
        other jobs): its units then get their caps on a busy host, and the caps still
        bound what they take."""
        if self.version == 2:
            (path / "cpu.weight").write_text(str(max(1, min(10000, round(100 * factor)))))
        else:
            (path / "cpu.shares").write_text(str(max(2, round(1024 * factor))))

    def cap_file(self, path: Path) -> Path:
        """The one file that caps `path` (v1: the period is written once, by `create`)."""
        return path / ("cpu.max" if self.version == 2 else "cpu.cfs_quota_us")

    def cap_text(self, quota: float | None, period: int | None = None) -> str:
        """What `cap_file` takes to cap at `quota` cores, or to lift the cap (None; `period`
        keeps v2's period, that of the quota)."""
        period = period or (PERIOD_US if quota is None else period_us(quota))
        limit = "max" if quota is None else str(round(quota * period))
        if self.version == 2:
            return f"{limit} {period}"
        return "-1" if quota is None else limit

    @staticmethod
    def procs(path: Path) -> list[int]:
        try:
            return [int(pid) for pid in (path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def remove(self, path: Path, grace_s: float = 2.0) -> None:
        """Kill what still runs in `path` and its children, then delete them (deepest first)."""
        if not path.is_dir():
            return
        for child in [p for p in path.iterdir() if p.is_dir()]:
            self.remove(child, grace_s)
        end = time.monotonic() + grace_s
        while (pids := self.procs(path)) and time.monotonic() < end:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        path.rmdir()


class UnitCap:
    """A unit's own CPU cap, engaged by the program running in it around what it measures.

    A testbed made with `defer_cap=True` starts its units uncapped: start-up (importing
    torch, building modules, loading weights) then takes seconds instead of minutes at a
    Pi's 1/40 of a core, and the measured work still runs capped. `ip netns exec` hides
    the host's cgroup mounts, so the unit's shell opens the cap file as descriptor
    `TESTBED_CAP_FD` before entering the namespace, and `TESTBED_CAP_ON`/`_OFF` say what
    to write (`Testbed.unit_env`). `with UnitCap.from_env():` caps, and lifts the cap
    after; without those variables it does nothing."""

    def __init__(self, fd: int | None = None, on: str = "", off: str = "") -> None:
        self.fd, self.on, self.off = fd, on, off

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> UnitCap:
        values = os.environ if env is None else env
        if not values.get("TESTBED_CAP_FD"):
            return cls()
        return cls(int(values["TESTBED_CAP_FD"]), values["TESTBED_CAP_ON"], values["TESTBED_CAP_OFF"])

    def __enter__(self) -> UnitCap:
        if self.fd is not None:
            os.write(self.fd, self.on.encode())
        return self

    def __exit__(self, *_exc) -> None:
        if self.fd is not None:
            os.write(self.fd, self.off.encode())


def period_us(quota: float) -> int:
    """The CFS period for `quota`: PERIOD_US, longer where the quota would be under 1 ms."""
    return max(PERIOD_US, math.ceil(MIN_QUOTA_US / quota))


def find_cpu_cgroup(mounts: str = "/proc/self/mounts") -> CpuController | None:
    """The host's cpu controller: a v1 `cpu` hierarchy, else a v2 one that offers `cpu`."""
    found = []
    for line in Path(mounts).read_text().splitlines():
        _dev, where, kind, options, *_ = line.split()
        root = Path(where)
        if kind == "cgroup" and "cpu" in options.split(",") and (root / "cpu.cfs_quota_us").exists():
            found.append(CpuController(root, 1))
        elif kind == "cgroup2" and "cpu" in _read(root / "cgroup.controllers").split():
            found.append(CpuController(root, 2))
    return min(found, key=lambda c: c.version, default=None)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@dataclass(frozen=True)
class CpuPlan:
    """The per-unit cap for a target `slowdown`, and whether this machine can honour it."""

    quota: float
    faithful: bool
    note: str


def cpu_quota_for(slowdown: float, units: int, cores: int, usable: float = 0.9) -> CpuPlan:
    """Cap each of `units` single-threaded units at 1 / `slowdown` of a core, all caps
    together within `usable` × `cores` (the rest for the launcher and the host).

    Where they do not fit, every unit gets the same smaller share (units then run slower
    than the target) and `faithful` is False; so is a target faster than one core here
    (`slowdown` < 1), which no cap can emulate.
    """
    if slowdown <= 0 or units < 1 or cores < 1:
        raise ValueError(f"need slowdown > 0, units >= 1, cores >= 1; got {slowdown}, {units}, {cores}")
    want, budget = 1.0 / slowdown, usable * cores
    if want > 1.0:
        return CpuPlan(
            1.0,
            False,
            f"the target unit is {want:.2f}x as fast as a core here: uncapped units are slower than the target",
        )
    if units * want > budget:
        quota = budget / units
        return CpuPlan(
            quota,
            False,
            f"{units} units x {want:.3f} cores = {units * want:.2f} > {budget:.2f} "
            f"usable of {cores} cores: each unit capped at {quota:.3f} "
            f"({1 / quota:.1f}x slower than a core here instead of {slowdown:.1f}x)",
        )
    return CpuPlan(want, True, f"{units} units x {want:.3f} cores = {units * want:.2f} of {cores} cores")
