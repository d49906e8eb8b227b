"""A dead, stalled or missing peer ends the run with a clear error within the timeout."""
import os
import signal
import time

import pytest

from hw.runtime.launch import LocalLauncher, WorkerError
from hw.runtime.plan import topological_chunks
from hw.runtime.weights import save_random_weights
from nas.arch import save
from nas.factory import create_architecture

TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def long_job(tmp_path_factory):
    """A tiny 2-unit job that keeps both workers busy exchanging tensors for minutes."""
    tmp = tmp_path_factory.mktemp("faults")
    arch = create_architecture("dp", 10, 0, staging="uniform", staging_params={"channels": 8}, input_size=16, num_classes=10)
    job = {"name": "dp", "arch": str(save(arch, tmp / "a.json")), "weights": str(save_random_weights(arch, tmp / "w.pt")),
           "repeats": 10**7, "warmup": 0, "variants": {"split": topological_chunks(arch, 2)}}
    return {"jobs": [job], "timeout_s": TIMEOUT_S, "threads": 1}


def wait_connected(launcher, ranks=(0, 1), limit_s=120.0):
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        logs = [(launcher.workdir / f"rank{r}.log") for r in ranks]
        if all(p.exists() and "connected" in p.read_text() for p in logs):
            return
        assert all(proc.poll() is None for proc in launcher.processes.values()), "a worker ended early"
        time.sleep(0.1)
    raise AssertionError("workers never connected")


def test_a_peer_that_never_connects_fails_within_the_timeout(long_job, tmp_path):
    launcher = LocalLauncher(long_job, 2, workdir=tmp_path, ranks=[0]).start()  # rank 1 never starts
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"rank 0 exited with code 1.*did not all connect .* within 3 s"):
        launcher.wait()
    assert time.monotonic() - start < TIMEOUT_S + 60  # process start-up (importing torch) + timeout


def test_launcher_stops_the_run_when_a_worker_dies(long_job, tmp_path):
    launcher = LocalLauncher(long_job, 2, workdir=tmp_path).start()
    wait_connected(launcher)
    time.sleep(0.5)  # mid-run
    os.kill(launcher.processes[1].pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(WorkerError, match="worker rank 1 was killed by SIGKILL"):
        launcher.wait()
    assert time.monotonic() - start < 10
    assert all(proc.poll() is not None for proc in launcher.processes.values())  # nothing left running


def test_surviving_worker_ends_itself_when_its_peer_dies(long_job, tmp_path):
    """Without any launcher watching (an edge device), rank 0 notices the lost peer."""
    launcher = LocalLauncher(long_job, 2, workdir=tmp_path).start()
    try:
        wait_connected(launcher)
        os.kill(launcher.processes[1].pid, signal.SIGKILL)
        code = launcher.processes[0].wait(timeout=TIMEOUT_S + 10)
        assert code == 1
        assert "worker rank 0: error:" in (tmp_path / "rank0.log").read_text()
    finally:
        launcher.stop()


def test_a_stalled_peer_times_out_instead_of_hanging(long_job, tmp_path):
    """A peer that stays connected but stops sending (SIGSTOP) trips the receive timeout."""
    launcher = LocalLauncher(long_job, 2, workdir=tmp_path).start()
    try:
        wait_connected(launcher)
        os.kill(launcher.processes[1].pid, signal.SIGSTOP)
        start = time.monotonic()
        code = launcher.processes[0].wait(timeout=TIMEOUT_S + 20)
        assert code == 1 and time.monotonic() - start >= TIMEOUT_S * 0.5
        log = (tmp_path / "rank0.log").read_text()
        assert "worker rank 0: error:" in log and "Timed out" in log
    finally:
        os.kill(launcher.processes[1].pid, signal.SIGKILL)
        launcher.stop()
