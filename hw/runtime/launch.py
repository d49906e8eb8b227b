"""Local launcher: n worker processes on loopback (127.0.0.1), watched until they finish.

It sets the same environment torchrun would (MASTER_ADDR/PORT, RANK, WORLD_SIZE,
LOCAL_RANK) plus GLOO_SOCKET_IFNAME=lo so no traffic leaves the machine. On an emulated
testbed (`testbed=`, a started `hw.testbed.Testbed`) worker r runs in unit r instead:
MASTER_ADDR is unit 0's address, GLOO_SOCKET_IFNAME the unit's link, MASTER_PORT fixed
(every unit has its own ports), plus `Testbed.unit_env` (TESTBED_DELAY_MS: the latency
the workers' sender adds where the kernel has no netem; a deferred CPU cap). The same process layer starts them: `Testbed.command`
wraps the worker's argv (join the cgroup, enter the namespace, exec), so no second,
Popen-based path is needed. A worker that
exits non-zero (or is killed) stops the whole run at once: the others are terminated
and `WorkerError` names the rank and its last error line. Workers also time out on
their own (connect/receive), so an edge deployment without this launcher cannot hang
either; `deadline_s` bounds the whole run as a last resort.

Starting, logging and stopping the processes is torchrun's own process layer
(`torch.distributed.elastic.multiprocessing.start_processes`: per-rank environment,
stdout/stderr files, own session, SIGTERM then SIGKILL). What it cannot do is kept:
- torchrun's agent (`torch.distributed.launcher.api.elastic_launch`) blocks until the
  end and hands out no process handles, has no deadline, starts all local ranks (a
  test starts rank 0 alone, as a peer that never connects), and reports a failure as
  an exit code plus an error file that only `@record`-decorated entry points write;
- `PContext.wait` stops the survivors the moment one rank fails, so their own error
  lines (often the clearer ones: "connection closed by peer ...") never reach the logs
  and they read as killed by SIGTERM. So this module polls itself, gives the peers
  0.2 s, names every failed rank with its last error line, killed ones first;
- `start_processes` installs SIGTERM/SIGINT handlers in the calling process that raise
  `SignalException`; the caller's handlers are restored (Ctrl-C stays KeyboardInterrupt).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.distributed.elastic.multiprocessing import (
    DefaultLogsSpecs,
    Std,
    start_processes,
)

from hw.testbed import Testbed

LOOPBACK = "127.0.0.1"
TESTBED_PORT = 29500  # torchrun's default; free in every unit's own namespace
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)  # what start_processes takes over


class WorkerError(RuntimeError):
    """A worker failed, died or the run passed its deadline."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def worker_env(rank: int, world_size: int, port: int, threads: int, testbed: Testbed | None = None) -> dict[str, str]:
    """What a worker's environment adds to this process's (start_processes inherits the rest)."""
    root = str(Path(__file__).resolve().parents[2])
    network = (
        {"MASTER_ADDR": LOOPBACK, "GLOO_SOCKET_IFNAME": "lo"}
        if testbed is None
        else {"MASTER_ADDR": testbed.address(0), "GLOO_SOCKET_IFNAME": testbed.interface, **testbed.unit_env(rank)}
    )
    return dict(
        **network,
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(world_size),
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        TORCH_CPP_LOG_LEVEL="ERROR",
        PYTHONPATH=os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))),
    )


class LocalLauncher:
    """Start n workers on one job file; `wait()` returns rank 0's report or raises WorkerError."""

    def __init__(
        self,
        spec: dict[str, Any],
        world_size: int,
        workdir: str | Path | None = None,
        port: int = 0,
        deadline_s: float | None = None,
        ranks: list[int] | None = None,
        testbed: Testbed | None = None,
    ) -> None:
        if world_size < 1:
            raise ValueError(f"workers must be >= 1, got {world_size}")
        if testbed is not None and testbed.units != world_size:
            raise ValueError(f"the testbed has {testbed.units} units for {world_size} workers")
        self.testbed = testbed
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="deploy-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.spec = {**spec, "result": str(self.workdir / "result.pt")}
        self.world_size = world_size
        self.port = port or (free_port() if testbed is None else TESTBED_PORT)
        self.deadline_s = deadline_s
        self.ranks = list(range(world_size)) if ranks is None else ranks  # a subset: tests of missing peers
        self.processes: dict[int, subprocess.Popen] = {}  # rank → process, once started

    def start(self) -> LocalLauncher:
        job_file = self.workdir / "job.json"
        job_file.write_text(json.dumps(self.spec, indent=1))
        threads = int(self.spec.get("threads", 1))
        handlers = {sig: signal.getsignal(sig) for sig in HANDLED_SIGNALS}
        argv = {
            i: self._command(rank, [sys.executable, "-m", "hw.runtime.worker", str(job_file)])
            for i, rank in enumerate(self.ranks)
        }
        try:
            self.context = start_processes(
                "deploy",
                argv[0][0],
                {i: tuple(command[1:]) for i, command in argv.items()},
                {
                    i: worker_env(rank, self.world_size, self.port, threads, self.testbed)
                    for i, rank in enumerate(self.ranks)
                },
                DefaultLogsSpecs(log_dir=str(self.workdir / "logs"), redirects=Std.ALL),
            )
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        # torch types start_processes as PContext; with an entrypoint string it is a SubprocessContext
        self.processes = {rank: self.context.subprocess_handlers[i].proc for i, rank in enumerate(self.ranks)}  # type: ignore[attr-defined]
        self.started = time.monotonic()
        return self

    def _command(self, rank: int, argv: list[str]) -> list[str]:
        return argv if self.testbed is None else self.testbed.command(rank, argv)

    def log(self, rank: int) -> str:
        """The worker's stdout and stderr."""
        i = self.ranks.index(rank)
        return "".join(
            Path(f).read_text(errors="replace") if Path(f).is_file() else ""
            for f in (self.context.stdouts[i], self.context.stderrs[i])
        )

    def log_tail(self, rank: int) -> str:
        """The worker's last error line, if it logged one."""
        errors = [line for line in self.log(rank).strip().splitlines() if "error" in line.lower()]
        return errors[-1].strip() if errors else ""

    def stop(self) -> None:
        self.context.close(timeout=3)

    def _describe(self, failed: list[tuple[int, int]]) -> str:
        """One line per failed worker, killed ones first (they are the likely cause)."""
        parts = []
        for rank, code in sorted(failed, key=lambda item: (item[1] >= 0, item[0])):
            how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
            tail = self.log_tail(rank)
            parts.append(f"worker rank {rank} {how}" + (f" ({tail})" if tail else ""))
        return "; ".join(parts) + f"; logs in {self.workdir}"

    def wait(self) -> dict[str, Any]:
        try:
            while True:
                codes = {rank: proc.poll() for rank, proc in self.processes.items()}
                failed = [(rank, code) for rank, code in codes.items() if code not in (None, 0)]
                if failed:
                    time.sleep(0.2)  # let the peers' own errors land in their logs
                    raise WorkerError(self._describe(failed))
                if all(code == 0 for code in codes.values()):
                    break
                if self.deadline_s is not None and time.monotonic() - self.started > self.deadline_s:
                    raise WorkerError(f"run passed its {self.deadline_s:g} s deadline (logs in {self.workdir})")
                time.sleep(0.02)
        finally:
            self.stop()
        if 0 not in self.processes:
            return {}
        return torch.load(self.spec["result"], map_location="cpu", weights_only=True)


def launch_local(spec: dict[str, Any], world_size: int, **kwargs: Any) -> dict[str, Any]:
    """Run a job spec on `world_size` loopback workers and return rank 0's report."""
    return LocalLauncher(spec, world_size, **kwargs).start().wait()
