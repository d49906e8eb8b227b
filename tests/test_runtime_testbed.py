"""task=deploy on the emulated testbed (deploy.testbed=emulated): exact, sized to the target,
and nothing left behind after a run, a failed run or a killed launcher.

Tests that build namespaces need root, iproute2, network namespaces and a cgroup cpu
controller; they are skipped with the missing piece named otherwise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from app.config import validate
from hw import testbed as tb
from hw.runtime.emulate import emulation_for
from hw.runtime.launch import launch_local
from tests.conftest import compose_config
from tests.test_hw_testbed import alive, needs_host, snapshot
from tests.test_runtime_exact import check, make_jobs

ROOT = Path(__file__).resolve().parents[1]
TINY_DEPLOY = ("task=deploy", "deploy.testbed=emulated", "deploy.repeats=2", "deploy.warmup=1", "deploy.timeout_s=30")


@pytest.fixture
def name():
    """A testbed name of this test; whatever a failed test left under it is removed."""
    prefix = f"td{os.getpid() % 100000}"
    yield prefix
    tb.clean_stale(tb.STATE_DIR, prefix)


def deploy_cfg(*overrides: str):
    return validate(compose_config(*TINY_DEPLOY, *overrides))


# -- without privileges ---------------------------------------------------------------------
def test_the_cap_comes_from_the_targets_compute_model():
    rpi = validate(compose_config("hw=rpi3b_wifi", "hw.predictor=/nonexistent")).hw
    emulation = emulation_for(rpi, 4, cores=2)
    # no local profile: the FLOPs stand-in's AlexNet time (71.4 ms) makes the factor, flagged
    assert emulation.slowdown == pytest.approx(2801 / 71.4188, rel=1e-3) and emulation.fallback == "flops"
    assert emulation.cpu.faithful and emulation.cpu.quota == pytest.approx(1 / emulation.slowdown)
    assert (emulation.bandwidth_mbps, emulation.latency_ms) == (62.24, 8.83)
    assert emulation.scale({"a": 0.001})["a"] == pytest.approx(0.001 * emulation.slowdown)  # timed here
    assert emulation.scale({"a": 0.04}, emulation.slowdown)["a"] == pytest.approx(0.04)  # already the target's
    t2 = validate(compose_config("hw=aws_t2micro")).hw  # 10 units as fast as a core here: cannot fit on 2
    crowded = emulation_for(t2, cores=2)
    assert not crowded.cpu.faithful and crowded.unit_slowdown == pytest.approx(10 / 1.8)
    assert crowded.to_json()["faithful"] is False and "1.80 usable of 2 cores" in crowded.to_json()["cpu_note"]


def test_deploy_without_privileges_is_a_one_line_user_error(monkeypatch, tmp_path):
    from app.tasks import USER_ERRORS
    from hw.runtime.task import deploy_task

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(tb.TestbedUnavailable) as err:
        deploy_task(deploy_cfg("hw.units=2", "deploy.costs=macs"), tmp_path)
    assert "\n" not in str(err.value) and "root (running as uid 1000)" in str(err.value)
    assert isinstance(err.value, USER_ERRORS)  # run.py prints `error: ...`, no traceback


def test_a_delayed_send_waits_for_its_release_then_for_the_send():
    from hw.runtime.worker import DelayedWork, delayed_sender

    class Work:
        def wait(self, timeout=None):
            return True

    with tb.DelayLine(0.02) as line:
        work = DelayedWork(line.submit(Work))
        start = time.monotonic()
        assert work.wait(timedelta(seconds=1)) and time.monotonic() - start > 0.01
        stuck = DelayedWork(line.submit(time.sleep, 0.3))
        with pytest.raises(RuntimeError, match="not released within 0.05 s"):
            stuck.wait(timedelta(seconds=0.05))
        assert callable(delayed_sender(line))


# -- on the host ----------------------------------------------------------------------------
@needs_host
def test_emulated_workers_match_one_process_and_leave_nothing(tmp_path, name):
    """Exactness through the whole emulation: namespaces, shaped links, CPU caps and every
    tensor sent by the DelayLine's thread (gloo isend from a second thread)."""
    before = snapshot(tb.STATE_DIR, name)
    jobs, refs = make_jobs(tmp_path, ["dp", "lcp", "cifarnet"], units=2)
    with tb.Testbed(2, cpu_quota=0.4, bandwidth_mbps=100.0, latency_ms=2.0, name_prefix=name) as bed:
        assert bed.transport_delay_ms == (0.0 if bed.kernel_delay else 2.0)
        report = launch_local(
            {"jobs": jobs, "timeout_s": 30, "threads": 1}, 2, workdir=tmp_path / "run", deadline_s=300, testbed=bed
        )
    check(report, refs, 2)
    assert report["transport_delay_ms"] == bed.transport_delay_ms
    assert any(report["jobs"][g]["messages"]["metis"] > 0 for g in refs)  # really sent over the links
    assert snapshot(tb.STATE_DIR, name) == before


@needs_host
def test_emulated_deploy_reports_the_testbed_and_is_exact(tmp_path, name):
    from hw.runtime.task import deploy_task

    before = snapshot(tb.STATE_DIR, name)
    result = deploy_task(deploy_cfg("hw=rpi3b_wifi", "hw.units=2", f"deploy.testbed_name={name}"), tmp_path)
    bed = result["testbed"]
    assert bed["testbed"] == "emulated" and bed["units"] == 2 and bed["faithful"] is True
    assert bed["cpu_quota"] == pytest.approx(1 / bed["target_slowdown"], rel=1e-3)
    assert bed["latency_ms"] == 8.83 and bed["bandwidth_mbps"] == 62.24 and bed["slowdown_fallback"] == "flops"
    assert result["max_abs_diff"] <= 1e-5  # the emulated split == one unit
    assert "scaled to the capped unit" in result["predicted"]["source"]
    # the ping-pong crosses the shaped link and the DelayLine: at least the configured latency
    assert result["ping_pong_link"]["latency_ms"] >= 8.83 * 0.9
    assert result["ping_pong_link"]["bandwidth_mbps"] < 62.24 * 1.15
    assert snapshot(tb.STATE_DIR, name) == before


@needs_host
def test_a_failed_emulated_deploy_leaves_nothing(tmp_path, name):
    from hw.runtime.launch import WorkerError
    from hw.runtime.task import deploy_task
    from hw.runtime.weights import save_random_weights
    from nas.factory import create_architecture

    other = create_architecture("cifarnet", 8, 0, input_size=16, num_classes=10)
    weights = save_random_weights(other, tmp_path / "other.pt")  # the workers cannot load them
    before = snapshot(tb.STATE_DIR, name)
    with pytest.raises(WorkerError, match="do not fit vertex"):
        deploy_task(
            deploy_cfg("hw.units=2", "deploy.costs=macs", f"deploy.weights={weights}", f"deploy.testbed_name={name}"),
            tmp_path,
        )
    assert snapshot(tb.STATE_DIR, name) == before


def start_deploy(name: str, workdir: Path) -> subprocess.Popen:
    """`python run.py task=deploy` on the testbed, running until killed (10⁶ repeats)."""
    argv = [
        sys.executable,
        "run.py",
        *TINY_DEPLOY,
        "nodes=8",
        "input_size=16",
        "staging.channels=8",
        "hw.units=2",
        "deploy.costs=macs",
        "deploy.repeats=1000000",
        f"deploy.testbed_name={name}",
        f"hydra.run.dir={workdir}",
    ]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_workers(name: str, workdir: Path, launcher: subprocess.Popen, limit_s: float = 180.0) -> list[int]:
    """The pids in the units' namespaces once both workers logged `connected`."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        logs = sorted(workdir.glob("deploy/logs/**/stdout.log"))
        if len(logs) == 2 and all("connected" in p.read_text() for p in logs):
            return [
                int(pid)
                for rank in (0, 1)
                for pid in subprocess.run(
                    ["ip", "netns", "pids", f"{name}-u{rank}"], capture_output=True, text=True, check=True
                ).stdout.split()
            ]
        assert launcher.poll() is None, "the deploy ended early"
        time.sleep(0.2)
    raise AssertionError("the emulated workers never connected")


@needs_host
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_deploy_launcher_leaves_nothing(tmp_path, name, signum):
    """SIGTERM: the launcher unwinds and removes the testbed itself. SIGKILL: it cannot;
    its units keep running until the next testbed starts, which removes them."""
    before = snapshot(tb.STATE_DIR, name)
    launcher = start_deploy(name, tmp_path / "run")
    try:
        workers = wait_workers(name, tmp_path / "run", launcher)
        assert workers and all(alive(pid) for pid in workers)
        launcher.send_signal(signum)
        assert launcher.wait(30) != 0
        if signum == signal.SIGKILL:
            assert f"{name}-u1" in snapshot(tb.STATE_DIR, name)["netns"]
            with tb.Testbed(1, name_prefix=name):
                pass
        assert not any(alive(pid) for pid in workers)
        assert snapshot(tb.STATE_DIR, name) == before
    finally:
        if launcher.poll() is None:
            launcher.kill()
