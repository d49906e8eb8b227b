"""`Testbed`: n emulated units (namespace + CPU cap + shaped link), torn down on every exit.

Clean-up: `close()` (the context manager's exit, also after an exception) stops the
units' processes and deletes their namespaces and cgroups; SIGTERM and SIGHUP are turned
into `SystemExit` while the testbed is up (SIGINT already raises KeyboardInterrupt), so
they unwind through it too. A SIGKILLed launcher cannot clean up: every run first writes
a state file (owner pid + start time, its namespaces and cgroup) to `STATE_DIR`, and the
next testbed to start removes whatever a dead owner left, with a log line.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hw.testbed import net
from hw.testbed.cgroups import CpuController, find_cpu_cgroup
from hw.testbed.system import TestbedError, require_host

STATE_DIR = Path("/run/concurrent-nas-testbed")
SIGNALS = (signal.SIGTERM, signal.SIGHUP)
CAP_FD = 3  # a deferred cap's file, open in the unit's programs
log = logging.getLogger(__name__)


def _process_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): tells a live owner from a reused pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _raise_exit(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


class Testbed:
    """`units` emulated devices on this host, each in its own network namespace.

    cpu_quota: cores each unit may use (e.g. 0.25: four times slower than a core here;
    None: uncapped); bandwidth_mbps: each unit's upload and download rate (None:
    unshaped); latency_ms: one-way latency, added by netem where the kernel has it, else
    left to the runtime's transport (`transport_delay_ms`, see `hw.testbed.delay`);
    defer_cap: start the units uncapped, each program engaging its own cap around what it
    measures (`unit_env`, `cgroups.UnitCap`); cpu_weight: the run's scheduling weight
    against the host's other jobs, in default weights (`CpuController.weigh`).
    """

    def __init__(
        self,
        units: int,
        cpu_quota: float | None = None,
        bandwidth_mbps: float | None = None,
        latency_ms: float = 0.0,
        name_prefix: str = "cnas",
        state_dir: str | Path = STATE_DIR,
        subnet: str | None = None,
        defer_cap: bool = False,
        cpu_weight: float = 1.0,
    ) -> None:
        # Not nas.checks.require: importing `nas` imports torch (~1-10 s), which neither the
        # testbed nor the units' small programs need.
        if not 1 <= units <= 250:
            raise ValueError(f"units must be in 1..250, got {units}")
        if cpu_quota is not None and not 0 < cpu_quota <= (os.cpu_count() or 1):
            raise ValueError(f"cpu_quota must be in (0, {os.cpu_count()}] cores, got {cpu_quota}")
        if (bandwidth_mbps is not None and bandwidth_mbps <= 0) or latency_ms < 0:
            raise ValueError(f"need bandwidth_mbps > 0, latency_ms >= 0; got {bandwidth_mbps}, {latency_ms}")
        if not re.fullmatch(r"[a-z][a-z0-9]{0,11}", name_prefix):
            raise ValueError(f"name_prefix must be 1-12 lowercase letters/digits from a letter, got {name_prefix!r}")
        self.units, self.cpu_quota, self.defer_cap, self.cpu_weight = units, cpu_quota, defer_cap, cpu_weight
        self.bandwidth_mbps, self.latency_ms = bandwidth_mbps, latency_ms
        self.prefix, self.state_dir = name_prefix, Path(state_dir)
        self.subnet = ipaddress.IPv4Network(subnet) if subnet else None
        self.switch = f"{name_prefix}-sw"
        self.namespaces = [f"{name_prefix}-u{rank}" for rank in range(units)]
        self.kernel_delay = False  # netem applies latency_ms (else the transport must)
        self.cgroups: CpuController | None = None
        self.processes: list[subprocess.Popen] = []
        self._handlers: dict[int, Any] = {}  # signal number → the handler signal.signal replaced
        self._up = False

    # -- the API the launcher uses ------------------------------------------------------
    interface = net.INTERFACE

    def address(self, rank: int) -> str:
        """The unit's IPv4 address, reachable from every other unit of this testbed only."""
        assert self.subnet is not None, "the testbed has no subnet before start()"
        return net.unit_address(self.subnet, self._rank(rank))

    def namespace(self, rank: int) -> str:
        return self.namespaces[self._rank(rank)]

    @property
    def transport_delay_ms(self) -> float:
        """What the runtime's sender must delay each message by (0 where netem does it)."""
        return 0.0 if self.kernel_delay else self.latency_ms

    def unit_env(self, rank: int) -> dict[str, str]:
        """Environment for unit `rank`'s program: the latency its sender adds
        (`TESTBED_DELAY_MS`), and with `defer_cap` its cap to engage (`cgroups.UnitCap`)."""
        env = {"TESTBED_DELAY_MS": str(self.transport_delay_ms)}
        if self.defer_cap and self.cpu_quota is not None:
            cgroups = self._controller()
            on = cgroups.cap_text(self.cpu_quota)
            env.update(
                TESTBED_CAP_FD=str(CAP_FD),
                TESTBED_CAP_ON=on,
                TESTBED_CAP_OFF=cgroups.cap_text(None, int(on.split()[-1]) if cgroups.version == 2 else None),
            )
        return env

    def _controller(self) -> CpuController:
        assert self.cgroups is not None, "the testbed has no cgroup before start()"
        return self.cgroups

    def command(self, rank: int, argv: Sequence[str]) -> list[str]:
        """`argv` wrapped to run in the unit's namespace and cgroup (children inherit both),
        for any process starter (`popen`, torch's `start_processes`).

        A shell joins the cgroup and execs `ip netns exec`, which execs `argv`: the
        started process's pid is the program's own."""
        if not self._up:
            raise TestbedError("the testbed is not running (use `with Testbed(...) as bed`)")
        cgroup = self._cgroup(self._rank(rank))
        join, files = 'echo $$ > "$0" && exec "$@"', [str(cgroup / "cgroup.procs")]
        if self.defer_cap and self.cpu_quota is not None:  # the cap file as descriptor CAP_FD (`cgroups.UnitCap`)
            join = f'echo $$ > "$0" && exec {CAP_FD}>"$1" && shift && exec "$@"'
            files.append(str(self._controller().cap_file(cgroup)))
        enter = [shutil.which("ip") or "ip", "netns", "exec", self.namespace(rank)]
        return ["/bin/sh", "-c", join, *files, *enter, *argv]

    def popen(self, rank: int, argv: Sequence[str], env: Mapping[str, str] | None = None, **kwargs) -> subprocess.Popen:
        """Start `argv` in the unit (see `command`); extra kwargs go to Popen."""
        proc = subprocess.Popen(self.command(rank, argv), env=None if env is None else dict(env), **kwargs)
        self.processes.append(proc)
        return proc

    # -- life cycle ---------------------------------------------------------------------
    def __enter__(self) -> Testbed:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.close()

    def start(self) -> Testbed:
        require_host()
        self.cgroups = find_cpu_cgroup()
        assert self.cgroups is not None  # require_host() found one
        self._catch_signals()
        try:
            clean_stale(self.state_dir, self.prefix)
            self.subnet = self.subnet or net.pick_subnet()
            self._write_state()
            self._up = True
            self.cgroups.create(self._cgroup(), None)
            if self.cpu_weight != 1.0:
                self.cgroups.weigh(self._cgroup(), self.cpu_weight)
            for rank in range(self.units):
                self.cgroups.create(self._cgroup(rank), self.cpu_quota, self.defer_cap)
            for ns in [self.switch, *self.namespaces]:
                net.add_namespace(ns)
            self.kernel_delay = self.latency_ms > 0 and net.netem_available(self.switch)
            net.build(
                self.namespaces,
                self.switch,
                self.subnet,
                self.bandwidth_mbps,
                self.latency_ms if self.kernel_delay else 0.0,
            )
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop the processes, remove namespaces, cgroups and the state file; idempotent."""
        main = threading.current_thread() is threading.main_thread()
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, *SIGNALS}) if main else None
        try:
            if self._up:
                self._stop_processes()
                remove_objects([self.switch, *self.namespaces], self.cgroups, self._cgroup())
                self._state_file().unlink(missing_ok=True)
                self._up = False
        finally:
            for signum, handler in self._handlers.items():
                signal.signal(signum, handler)
            self._handlers = {}
            if mask is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    # -- internals ----------------------------------------------------------------------
    def _rank(self, rank: int) -> int:
        if not 0 <= rank < self.units:
            raise IndexError(f"rank {rank} not in 0..{self.units - 1}")
        return rank

    def _cgroup(self, rank: int | None = None) -> Path:
        assert self.cgroups is not None, "the testbed has no cgroup before start()"
        run_dir = self.cgroups.root / self.prefix
        return run_dir if rank is None else run_dir / f"u{rank}"

    def _state_file(self) -> Path:
        return self.state_dir / f"{self.prefix}.json"

    def _write_state(self) -> None:
        """Record what this run will create before creating any of it (see `clean_stale`)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "pid": os.getpid(),
            "start": _process_start(os.getpid()),
            "namespaces": [self.switch, *self.namespaces],
            "cgroup": str(self._cgroup()),
        }
        tmp = self._state_file().with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self._state_file())

    def _catch_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            if signal.getsignal(signum) is signal.SIG_DFL:
                self._handlers[signum] = signal.signal(signum, _raise_exit)

    def _stop_processes(self, grace_s: float = 2.0) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes = []


def remove_objects(namespaces: list[str], cgroups: CpuController | None, cgroup: Path | None) -> list[str]:
    """Delete namespaces (killing what runs in them) and a cgroup tree; return the names of
    those that existed. One failure does not stop the others: the first is raised after."""
    present = set(net.namespaces())
    found = [ns for ns in namespaces if ns in present]
    errors: list[Exception] = []
    for ns in found:
        try:
            net.remove_namespace(ns)
        except (TestbedError, OSError) as err:
            errors.append(err)
    if cgroups is not None and cgroup is not None and cgroup.is_dir():
        try:
            cgroups.remove(cgroup)
        except OSError as err:
            errors.append(err)
        found.append(str(cgroup))
    if errors:
        raise errors[0]
    return found


def clean_stale(state_dir: Path, prefix: str) -> list[str]:
    """Remove what runs whose launcher died left behind; return the names removed.

    A state file whose owner still runs is left alone, unless it has our prefix: then two
    live runs would share names, which is an error. Objects named with our prefix that no
    state file lists (its file deleted by hand) are removed too."""
    removed: list[str] = []
    cgroups = find_cpu_cgroup()
    for path in sorted(Path(state_dir).glob("*.json")):
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if state.get("start") is not None and _process_start(state["pid"]) == state["start"]:
            if path.stem == prefix:
                raise TestbedError(f"testbed prefix {prefix!r} is in use by pid {state['pid']} ({path})")
            continue
        gone = remove_objects(state["namespaces"], cgroups, Path(state["cgroup"]))
        path.unlink(missing_ok=True)
        log.warning(
            "testbed: removed what the dead run %s (pid %s) left: %s",
            path.stem,
            state["pid"],
            ", ".join(gone) or "nothing but its state file",
        )
        removed += gone
    strays = [ns for ns in net.namespaces() if ns.startswith(f"{prefix}-")]
    gone = remove_objects(strays, cgroups, cgroups.root / prefix if cgroups else None)
    if gone:
        log.warning("testbed: removed objects named %s that no state file listed: %s", prefix, ", ".join(gone))
    return removed + gone
