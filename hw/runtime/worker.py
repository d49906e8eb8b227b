"""Worker process: `python -m hw.runtime.worker JOBFILE`, one per unit, torchrun-compatible.

Reads the standard torch.distributed environment (MASTER_ADDR, MASTER_PORT, RANK,
WORLD_SIZE), so the same command runs under `torchrun`, the local launcher
(`hw.runtime.launch`), or by hand on separate edge devices that share the job file, the
architecture file and the weights file:

    MASTER_ADDR=10.0.0.1 MASTER_PORT=29500 RANK=1 WORLD_SIZE=4 GLOO_SOCKET_IFNAME=wlan0 \
        python -m hw.runtime.worker job.json

The job file (JSON) lists jobs; each names an architecture file, a weights file and one
or more *variants* (vertex → unit assignments) that are timed interleaved, repeat by
repeat, so slow drifts of a shared machine hit every variant alike. Rank 0 holds the
input image, gathers the logits and writes all results to the job's `result` path
(a torch file of plain tensors/lists, loadable with `weights_only=True`).

TESTBED_DELAY_MS (set by the launcher on an emulated testbed without netem): every
tensor this worker sends leaves that long after `isend` is called, through a
`hw.testbed.DelayLine` (the link's one-way latency; the compute thread does not wait).
TESTBED_CAP_FD/_ON/_OFF: the unit's deferred CPU cap, engaged around each job's
inferences only (`hw.testbed.UnitCap`); the ping-pong measures the link uncapped.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from hw.runtime.executor import PeerError, RankExecutor, gloo_message
from hw.runtime.plan import IMAGE, ROOT, build_plan
from hw.runtime.weights import build_vertex_modules
from hw.schedule import tensor_shape
from hw.testbed import DelayLine, UnitCap

Send = Callable[..., Any]  # dist.isend's signature; returns something with .wait(timeout)
SWITCH_INTERVAL_S = 2e-4  # lets the DelayLine's thread take the GIL on time (hw/testbed/delay.py)


class ConnectError(RuntimeError):
    """The process group could not be formed (a peer never connected)."""


def rendezvous_store(rank: int, world_size: int, timeout: timedelta) -> dist.Store | None:
    """The rendezvous store, listening on MASTER_ADDR only (None under torchrun: its agent's).

    TCPStore's server listens on every interface whatever host it is given (`LISTEN
    *:port`, no authentication), so rank 0 binds the socket to MASTER_ADDR itself and hands
    it over (`master_listen_fd`): loopback for local runs, unit 0's veth address on the
    emulated testbed, the address the peers dial on real devices.
    """
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True":  # torchrun's agent already serves it
        return None
    host, port = os.environ.get("MASTER_ADDR", ""), env_int("MASTER_PORT")
    if not host:
        raise ValueError("environment variable MASTER_ADDR must name rank 0's address (torchrun sets it)")
    if rank != ROOT:
        return dist.TCPStore(host, port, world_size, False, timeout=timeout)
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        server = socket.create_server(address[:2], family=family, backlog=max(world_size, 128))
    except OSError as err:
        raise ConnectError(f"rank 0: cannot listen on MASTER_ADDR {host}:{port} ({err.strerror or err})") from None
    # detach: the store owns the descriptor from now on (the socket object would close it)
    return dist.TCPStore(host, port, world_size, True, timeout=timeout, master_listen_fd=server.detach())


def connect(rank: int, world_size: int, timeout_s: float) -> None:
    """Join the gloo process group from the env:// variables, failing after `timeout_s`."""
    address = f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
    timeout = timedelta(seconds=timeout_s)
    try:
        store = rendezvous_store(rank, world_size, timeout)
        dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=timeout)
    except ConnectError:
        raise
    except (RuntimeError, ValueError) as err:  # DistStoreError is a RuntimeError
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConnectError(
            f"rank {rank}: the {world_size} workers did not all connect to {address} within {timeout_s:g} s ({detail})"
        ) from None


class DelayedWork:
    """A gloo send that a DelayLine releases later: `wait` waits for the release, then the send."""

    def __init__(self, future: Future) -> None:
        self.future = future

    def wait(self, timeout: timedelta | None = None) -> bool:
        seconds = None if timeout is None else timeout.total_seconds()
        try:
            work = self.future.result(seconds)
        except FutureTimeout:
            raise RuntimeError(f"the delayed send was not released within {seconds:g} s") from None
        return work.wait() if timeout is None else work.wait(timeout)


def delayed_sender(line: DelayLine) -> Send:
    """`dist.isend` through `line`: returns at once, the tensor leaves `line.delay_s` later."""

    def send(tensor: torch.Tensor, dst: int, tag: int = 0) -> DelayedWork:
        return DelayedWork(line.submit(dist.isend, tensor, dst, tag=tag))

    return send


def transport_delay_s() -> float:
    value = os.environ.get("TESTBED_DELAY_MS", "0")
    try:
        delay_ms = float(value)
    except ValueError:
        raise ValueError(f"environment variable TESTBED_DELAY_MS must be a number of ms, got {value!r}") from None
    if delay_ms < 0:
        raise ValueError(f"environment variable TESTBED_DELAY_MS must be >= 0, got {value!r}")
    return delay_ms / 1e3


def make_image(job: dict[str, Any], shape: tuple[int, ...]) -> torch.Tensor:
    if job.get("input"):
        return torch.load(job["input"], map_location="cpu", weights_only=True)
    generator = torch.Generator().manual_seed(int(job.get("input_seed", 0)))
    return torch.randn((int(job.get("batch", 1)), *shape), generator=generator)


def plan_of(arch, variant: dict[str, Any], world_size: int):
    """A variant is an assignment (vertex → unit), or {"assignment": …, "order": [...]};
    the job file (JSON) names vertices by `str(v)`."""
    by_name = {str(v): v for v in arch.nodes}
    nested = isinstance(variant.get("assignment"), dict)
    assignment = {by_name.get(str(v), v): u for v, u in (variant["assignment"] if nested else variant).items()}
    order = variant.get("order") if nested else None
    return build_plan(arch, assignment, world_size, None if order is None else [by_name.get(str(v), v) for v in order])


def run_job(
    job: dict[str, Any], rank: int, world_size: int, timeout_s: float, send: Send = dist.isend
) -> dict[str, Any] | None:
    """Build this rank's modules for every variant, run warm-up + repeats, return root's stats."""
    from nas.arch import load

    arch = load(job["arch"])
    plans = {name: plan_of(arch, variant, world_size) for name, variant in job["variants"].items()}
    owned = list(dict.fromkeys(v for plan in plans.values() for v in plan.ranks[rank].vertices))
    channels_last = job.get("memory_format", "contiguous") == "channels_last"
    modules = build_vertex_modules(arch, owned, job["weights"], channels_last) if owned else {}
    batch = int(job.get("batch", 1))
    fast_path = bool(job.get("fast_path", False))
    executors = {
        name: RankExecutor(plan.ranks[rank], modules, batch, timeout_s, channels_last, fast_path, send=send)
        for name, plan in plans.items()
    }
    image = make_image(job, tensor_shape(arch, IMAGE)) if rank == ROOT else None
    warmup, repeats = int(job.get("warmup", 2)), int(job.get("repeats", 10))
    latency: dict[str, list[float]] = {name: [] for name in plans}
    busy: dict[str, list[float]] = {name: [] for name in plans}
    outputs: dict[str, torch.Tensor] = {}
    with torch.inference_mode(), UnitCap.from_env():  # an emulated unit's CPU cap, if any
        for i in range(warmup + repeats):
            for name, executor in executors.items():
                executor.post_receives()
                dist.barrier()
                start = time.perf_counter()
                out = executor.run(image)
                elapsed = time.perf_counter() - start
                if i >= warmup:
                    latency[name].append(elapsed * 1e3)
                    busy[name].append(executor.busy_s * 1e3)
                if out is not None:
                    outputs[name] = out
    runs = warmup + repeats
    stats = {
        name: {
            "busy_ms": busy[name],
            "trace": executors[name].trace,
            "origin": executors[name].origin,
            "messages": executors[name].messages_sent // runs,
            "bytes": executors[name].bytes_sent // runs,
        }
        for name in plans
    }
    gathered: list[Any] = [None] * world_size
    dist.all_gather_object(gathered, stats)
    if rank != ROOT:
        return None
    return {
        "latency_ms": latency,
        "outputs": outputs,
        "busy_ms": {name: [g[name]["busy_ms"] for g in gathered] for name in plans},
        "traces": {name: [g[name]["trace"] for g in gathered] for name in plans},  # last inference, per rank
        # each rank's start on its own monotonic clock: comparable only between workers of one host
        "trace_origins": {name: [g[name]["origin"] for g in gathered] for name in plans},
        "messages": {name: sum(g[name]["messages"] for g in gathered) for name in plans},
        "bytes": {name: sum(g[name]["bytes"] for g in gathered) for name in plans},
        "planned_messages": {name: plan.messages for name, plan in plans.items()},
        "planned_bytes": {name: plan.bytes * batch for name, plan in plans.items()},
        "vertices_per_rank": {name: [len(p.vertices) for p in plan.ranks] for name, plan in plans.items()},
    }


def ping_pong(job: dict[str, Any], rank: int, send: Send = dist.isend) -> dict[str, Any] | None:
    """One-way message time between ranks 0 and 1 per size (half a round trip): the link model."""
    sizes = [int(n) for n in job.get("sizes", [1024, 65536, 1 << 20])]
    repeats, warmup = int(job.get("repeats", 30)), int(job.get("warmup", 5))
    times: dict[int, list[float]] = {}
    for size in sizes:
        buffer = torch.zeros(size // 4)
        samples = []
        for i in range(warmup + repeats):
            dist.barrier()
            if rank > 1:
                continue
            start = time.perf_counter()
            if rank == 0:
                send(buffer, 1, tag=1).wait()
                dist.recv(buffer, 1, tag=2)
            else:
                dist.recv(buffer, 0, tag=1)
                send(buffer, 0, tag=2).wait()
            if i >= warmup:
                samples.append((time.perf_counter() - start) / 2 * 1e3)
        times[size] = samples
    return {"one_way_ms": times} if rank == ROOT else None


def isolate(spec: dict[str, Any], rank: int) -> None:
    """Optional: raise this worker's priority (`nice`, root only) and pin it to one core
    (`pin_cpus`), before the gloo threads start so they inherit both."""
    if spec.get("nice"):
        os.setpriority(os.PRIO_PROCESS, 0, int(spec["nice"]))
    if spec.get("pin_cpus"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[int(os.environ.get("LOCAL_RANK", rank)) % len(cpus)]})


def yield_to_transport(spec: dict[str, Any]) -> None:
    """Put this (compute) thread under SCHED_IDLE once gloo's transport threads exist.

    A message that lands while the receiver computes waits for its transport thread to
    be scheduled; between two normal threads the kernel lets the running one finish its
    slice (~1 ms per message measured on 2 busy cores). A SCHED_IDLE thread is preempted
    at once by any normal one, so sends and receives progress the moment data moves.
    The transport threads were created by `connect` and keep the normal policy; they
    sleep otherwise, so the compute thread still has its core.
    """
    if spec.get("compute_policy", "normal") == "idle" and hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # pid 0 = this thread only


def compute_policy() -> str:
    """This thread's scheduling policy as reported back: idle | normal | other."""
    if not hasattr(os, "sched_getscheduler"):
        return "normal"
    policy = os.sched_getscheduler(0)
    return {os.SCHED_IDLE: "idle", os.SCHED_OTHER: "normal"}.get(policy, "other")


def serve(spec: dict[str, Any], rank: int, world_size: int) -> dict[str, Any] | None:
    timeout_s = float(spec.get("timeout_s", 60.0))
    threads = int(spec.get("threads", 1))
    torch.set_num_threads(threads)
    delay_s = transport_delay_s()
    isolate(spec, rank)
    connect(rank, world_size, timeout_s)
    # before yield_to_transport: the line's thread must not inherit SCHED_IDLE
    line = DelayLine(delay_s) if delay_s > 0 else None
    send: Send = dist.isend
    if line is not None:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        send = delayed_sender(line)
    yield_to_transport(spec)
    print(f"worker rank {rank}/{world_size}: connected", flush=True)
    try:
        results = {}
        for job in spec["jobs"]:
            if job.get("kind") == "ping_pong":
                results[job["name"]] = ping_pong(job, rank, send) if world_size > 1 else None
            else:
                results[job["name"]] = run_job(job, rank, world_size, timeout_s, send)
        dist.barrier()
    finally:
        if line is not None:
            line.close()
        dist.destroy_process_group()
    if rank != ROOT:
        return None
    report = {
        "world_size": world_size,
        "threads": threads,
        "compute_policy": compute_policy(),
        "transport_delay_ms": delay_s * 1e3,
        "jobs": results,
    }
    if spec.get("result"):
        Path(spec["result"]).parent.mkdir(parents=True, exist_ok=True)
        torch.save(report, spec["result"])
    return report


def env_int(name: str) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip().isdigit():
        raise ValueError(
            f"environment variable {name} must be a non-negative integer (torchrun sets it), got {value!r}"
        )
    return int(value)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(
            "usage: python -m hw.runtime.worker JOBFILE  (env: MASTER_ADDR MASTER_PORT RANK WORLD_SIZE)",
            file=sys.stderr,
        )
        return 2
    rank = os.environ.get("RANK", "?")
    try:
        rank_i, world_size = env_int("RANK"), env_int("WORLD_SIZE")
        rank = str(rank_i)
        spec = json.loads(Path(argv[0]).read_text())
        serve(spec, rank_i, world_size)
    except (ConnectError, PeerError, ValueError, FileNotFoundError, OSError) as err:
        print(f"worker rank {rank}: error: {err}", file=sys.stderr, flush=True)
        return 1
    except RuntimeError as err:  # gloo errors from barriers and collectives
        print(f"worker rank {rank}: error: {gloo_message(err)}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
