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
    arch = create_architecture(
        "dp", 10, 0, staging="uniform", staging_params={"channels": 8}, input_size=16, num_classes=10
    )
    job = {
        "name": "dp",
        "arch": str(save(arch, tmp / "a.json")),
        "weights": str(save_random_weights(arch, tmp / "w.pt")),
        "repeats": 10**7,
        "warmup": 0,
        "variants": {"split": topological_chunks(arch, 2)},
    }
    return {"jobs": [job], "timeout_s": TIMEOUT_S, "threads": 1}


def wait_connected(launcher, ranks=(0, 1), limit_s=120.0):
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if all("connected" in launcher.log(r) for r in ranks):
            return
        assert all(proc.poll() is None for proc in launcher.processes.values()), "a worker ended early"
        time.sleep(0.1)
    raise AssertionError("workers never connected")


def test_a_peer_that_never_connects_fails_within_the_timeout(long_job, tmp_path):
    handler = signal.getsignal(signal.SIGINT)
    launcher = LocalLauncher(long_job, 2, workdir=tmp_path, ranks=[0]).start()  # rank 1 never starts
    assert signal.getsignal(signal.SIGINT) is handler  # torch's process layer does not keep Ctrl-C
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"rank 0 exited with code 1.*did not all connect .* within 3 s"):
        launcher.wait()
    assert time.monotonic() - start < TIMEOUT_S + 60  # process start-up (importing torch) + timeout


def test_a_dead_peer_ends_the_survivor_and_the_launcher_names_it(long_job, tmp_path):
    """SIGKILL rank 1 mid-run: rank 0 ends itself (no launcher needed, as on an edge
    device), and the launcher reports the killed rank and leaves nothing running."""
    launcher = LocalLauncher(long_job, 2, workdir=tmp_path).start()
    try:
        wait_connected(launcher)
        time.sleep(0.5)  # mid-run
        os.kill(launcher.processes[1].pid, signal.SIGKILL)
        assert launcher.processes[0].wait(timeout=TIMEOUT_S + 10) == 1
        assert "worker rank 0: error:" in launcher.log(0)
        with pytest.raises(
            WorkerError,
            match=r"worker rank 1 was killed by SIGKILL; worker rank 0 exited with code 1 "
            r"\(worker rank 0: error: .*(Connection|Read error)",
        ):
            launcher.wait()
    finally:
        launcher.stop()
    assert all(proc.poll() is not None for proc in launcher.processes.values())


@pytest.mark.slow  # the default suite covers the required cases: dead and never-connecting peers
def test_a_stalled_peer_times_out_instead_of_hanging(long_job, tmp_path):
    """A peer that stays connected but stops sending (SIGSTOP) trips the receive timeout."""
    launcher = LocalLauncher(long_job, 2, workdir=tmp_path).start()
    try:
        wait_connected(launcher)
        os.kill(launcher.processes[1].pid, signal.SIGSTOP)
        start = time.monotonic()
        code = launcher.processes[0].wait(timeout=TIMEOUT_S + 20)
        assert code == 1 and time.monotonic() - start >= TIMEOUT_S * 0.5
        log = launcher.log(0)
        assert "worker rank 0: error:" in log and "Timed out" in log
    finally:
        os.kill(launcher.processes[1].pid, signal.SIGKILL)
        launcher.stop()
