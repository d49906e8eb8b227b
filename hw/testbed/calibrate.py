"""How faithful the emulation is: a capped unit's slowdown, a link's throughput and latency.

Each measurement runs small Python programs inside the units (`Testbed.popen`) that print
one JSON line; the benchmark `benchmarks/testbed_calibration.py` prints them against the
targets. The CPU workload is a fixed single-threaded loop: pure Python (no memory
traffic to speak of: the cap alone), or torch 3x3 convolutions (what a deployed unit
runs; the child imports torch, this module does not).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hw.testbed.bed import Testbed

ROOT = str(Path(__file__).resolve().parents[2])
PORT = 5201  # inside the run's namespaces only: nothing else listens there

SPIN = """
import json, sys, time
n = int(sys.argv[1]); start = time.perf_counter(); cpu = time.process_time(); x = 0
for i in range(n):
    x += i * i % 7
print(json.dumps({"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}))
"""

CONV = """
import json, sys, time
import torch
torch.set_num_threads(1); conv = torch.nn.Conv2d(32, 32, 3, padding=1); x = torch.randn(1, 32, 56, 56)
with torch.inference_mode():
    conv(x); start = time.perf_counter(); cpu = time.process_time()
    for _ in range(int(sys.argv[1]) // 20_000):
        conv(x)
print(json.dumps({"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}))
"""
WORKLOADS = {"python": SPIN, "torch": CONV}

SINK = """
import json, socket, sys, time
srv = socket.create_server((sys.argv[1], int(sys.argv[2]))); print("ready", flush=True)
conn, _ = srv.accept(); first = conn.recv(1 << 16); start = time.perf_counter(); total = len(first)
while chunk := conn.recv(1 << 16):
    total += len(chunk)
print(json.dumps({"bytes": total - len(first), "seconds": time.perf_counter() - start}), flush=True)
"""

SOURCE = """
import socket, sys, time
for _ in range(200):
    try:
        sock = socket.create_connection((sys.argv[1], int(sys.argv[2]))); break
    except OSError:
        time.sleep(0.01)
sock.sendall(bytes(int(sys.argv[3]))); sock.close()
"""

# Both ends pass every message through a DelayLine of argv[3] seconds: one round trip
# then takes two one-way latencies plus the link's own time.
ECHO = """
import socket, sys
from hw.testbed.delay import DelayLine
srv = socket.create_server((sys.argv[1], int(sys.argv[2]))); print("ready", flush=True)
conn, _ = srv.accept(); conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
with DelayLine(float(sys.argv[3])) as line:
    while data := conn.recv(1 << 16):
        line.submit(conn.sendall, data)
"""

PING = """
import json, socket, sys, time
from hw.testbed.delay import DelayLine
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
size, rounds, samples = int(sys.argv[4]), int(sys.argv[5]), []
with DelayLine(float(sys.argv[3])) as line:
    for _ in range(rounds):
        start = time.perf_counter(); line.submit(sock.sendall, bytes(size)).result(); got = 0
        while got < size:
            got += len(sock.recv(1 << 16))
        samples.append((time.perf_counter() - start) / 2 * 1e3)
sock.close(); print(json.dumps({"one_way_ms": samples}))
"""


def _python(bed: Testbed | None, rank: int, code: str, *args: object) -> subprocess.Popen:
    argv = [sys.executable, "-c", code, *map(str, args)]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ROOT}
    if bed is None:
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    return bed.popen(rank, argv, env, stdout=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen, timeout_s: float = 120.0) -> dict:
    out, _ = proc.communicate(timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"calibration program exited with {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1])


@dataclass(frozen=True)
class CpuFidelity:
    """The workload's times uncapped (a subprocess on the host) and in a capped unit (medians).

    The reference is the uncapped run's CPU time: on a shared host its wall time also
    counts the waits for a core that other jobs hold, which no cap asked for."""

    quota: float
    uncapped_cpu_s: float
    uncapped_wall_s: float
    capped_wall_s: float
    capped_cpu_s: float

    @property
    def slowdown(self) -> float:
        return self.capped_wall_s / self.uncapped_cpu_s

    @property
    def share(self) -> float:
        """The core share the capped runs got (CPU / wall time): the cap alone, free of
        the host's speed changes between runs."""
        return self.capped_cpu_s / self.capped_wall_s

    @property
    def error(self) -> float:
        """Relative deviation of the measured slowdown from the target 1 / quota."""
        return self.slowdown * self.quota - 1.0


def cpu_fidelity(
    bed: Testbed, iterations: int = 3_000_000, repeats: int = 3, rank: int = 0, workload: str = "python"
) -> CpuFidelity:
    """Time the same loop uncapped and in unit `rank`, alternately, `repeats` times
    (`iterations` Python steps; the torch workload runs 1 convolution per 20 000)."""
    if bed.cpu_quota is None:
        raise ValueError("cpu_fidelity measures a CPU cap: the testbed needs a cpu_quota")
    code = WORKLOADS[workload]
    runs: list[tuple[float, float, float, float]] = []
    for _ in range(repeats):
        free = _result(_python(None, 0, code, iterations))
        capped = _result(_python(bed, rank, code, iterations))
        runs.append((free["cpu_s"], free["wall_s"], capped["wall_s"], capped["cpu_s"]))
    return CpuFidelity(bed.cpu_quota, *(statistics.median(column) for column in zip(*runs, strict=True)))


def _serve(bed: Testbed, rank: int, code: str, *args: object) -> subprocess.Popen:
    proc = _python(bed, rank, code, bed.address(rank), PORT, *args)
    assert proc.stdout is not None  # started with stdout=PIPE
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the server in unit {rank} did not start")
    return proc


def throughput_mbps(bed: Testbed, nbytes: int = 8 << 20, src: int = 0, dst: int = 1) -> float:
    """A TCP bulk transfer from unit `src` to `dst`, timed from the first to the last byte."""
    sink = _serve(bed, dst, SINK)
    _result_code(_python(bed, src, SOURCE, bed.address(dst), PORT, nbytes))
    got = _result(sink)
    return got["bytes"] * 8 / got["seconds"] / 1e6


def _result_code(proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
    if proc.wait(timeout_s) != 0:
        raise RuntimeError(f"calibration program exited with {proc.returncode}")


def one_way_ms(
    bed: Testbed, delay_ms: float, size: int = 64, rounds: int = 50, src: int = 0, dst: int = 1
) -> list[float]:
    """Half the round-trip times of `size`-byte ping-pongs whose every message passes a
    DelayLine of `delay_ms` (the transport's latency emulation) at its sender."""
    echo = _serve(bed, dst, ECHO, delay_ms / 1e3)
    samples = _result(_python(bed, src, PING, bed.address(dst), PORT, delay_ms / 1e3, size, rounds))["one_way_ms"]
    echo.wait(10)
    return samples
