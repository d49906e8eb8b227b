"""Several worker processes on one study: a journal file on one machine, PostgreSQL +
an MLflow server on a cluster; Ctrl-C stops every worker cleanly."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from app.config import validate
from app.search import run as run_search
from search.workers import shares
from tests.conftest import compose_config
from tests.reliability_support import (
    ROOT,
    STUDY,
    nested_runs,
    popen_run_py,
    start_mlflow_server,
    stop_mlflow_server,
    tiny_config,
    tiny_overrides,
    trials,
)


def test_trials_are_shared_out_evenly():
    assert shares(8, 2) == [4, 4] and shares(5, 3) == [2, 2, 1] and shares(1, 3) == [1, 0, 0]


def test_sqlite_is_refused_for_several_workers_before_anything_is_created(tmp_path):
    with pytest.raises(ValueError) as err:
        validate(compose_config(f"search.storage=sqlite:///{tmp_path}/optuna.db", "search.n_workers=2"))
    assert str(err.value) == (
        f"search.storage=sqlite:///{tmp_path}/optuna.db cannot be shared by search.n_workers=2 "
        "processes (SQLite locks); use search.storage=optuna.journal on one machine "
        "or postgresql://user@host/db on a cluster"
    )
    assert not (tmp_path / "optuna.db").exists()


def check_shared_study(storage: str, tracking_uri: str, summary: dict, err: str, n: int = 8) -> None:
    """n complete trials, 4 per worker, n FINISHED nested runs under one FINISHED parent."""
    done = trials(storage)
    assert [t.state for t in done] == [TrialState.COMPLETE] * n
    assert sorted(t.user_attrs["worker"] for t in done) == [0] * (n // 2) + [1] * (n // 2)
    assert all(t.user_attrs["mlflow_synced"] is True for t in done)
    assert len({tuple(sorted(t.params.items())) for t in done}) == n  # the workers sample different trials
    parents, children = nested_runs(tracking_uri)
    assert len(parents) == 1 and parents[0].info.run_id == summary["mlflow_run_id"]
    assert parents[0].info.status == "FINISHED"
    assert sorted(int(c.data.tags["cnas.trial"]) for c in children) == list(range(n))
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {summary["mlflow_run_id"]}
    assert all(c.info.status == "FINISHED" and "test_acc" in c.data.metrics for c in children)
    assert summary["workers"] == [{"worker": 0, "exit_code": 0}, {"worker": 1, "exit_code": 0}]
    for trouble in ("database is locked", "MLflow unavailable", "MLflow refused", "Traceback"):
        assert trouble not in err, trouble


@pytest.mark.slow
def test_two_workers_share_a_journal_study(tmp_path, capfd):
    cfg = tiny_config(tmp_path, "search.n_workers=2", "search.n_trials=8")
    summary = run_search(cfg)
    _, err = capfd.readouterr()  # the workers' output too (same file descriptors)
    check_shared_study(str(tmp_path / "optuna.journal"), f"sqlite:///{tmp_path}/mlflow.db", summary, err)


@pytest.mark.slow
def test_two_independent_run_py_processes_on_one_journal_study(tmp_path):
    """As on two machines: no launcher, no search.worker, the same command twice at once."""
    args = [*tiny_overrides(tmp_path, "search.n_trials=3")]
    processes = [popen_run_py(*args, f"hydra.run.dir={tmp_path}/run{i}") for i in range(2)]
    results = [p.communicate(timeout=900) for p in processes]
    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err[-3000:]
    done = trials(str(tmp_path / "optuna.journal"))
    assert [t.state for t in done] == [TrialState.COMPLETE] * 6  # exactly 3 + 3
    architectures = {(t.user_attrs["arch_seed"], tuple(sorted(t.params.items()))) for t in done}
    assert len(architectures) == 6 and not any("duplicate_of" in t.user_attrs for t in done)
    parents, children = nested_runs(f"sqlite:///{tmp_path}/mlflow.db")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(int(c.data.tags["cnas.trial"]) for c in children) == list(range(6))
    assert all(c.info.status == "FINISHED" and "test_acc" in c.data.metrics for c in children)
    assert {c.info.run_id for c in children} == {t.user_attrs["mlflow_run_id"] for t in done}


# ------------------------------------------------------------------ PostgreSQL + MLflow server


@pytest.fixture(scope="module")
def postgres():
    """A local PostgreSQL (scripts/postgres.sh installs Debian's package if missing)."""
    folder = tempfile.mkdtemp(prefix="cnas-pg-")
    script = str(ROOT / "scripts" / "postgres.sh")
    started = subprocess.run([script, "start", folder], capture_output=True, text=True, timeout=900)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip().splitlines()[-1]
    yield url
    subprocess.run([script, "stop", folder], capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def mlflow_server(postgres, tmp_path_factory):
    """`mlflow server` on the PostgreSQL database `mlflow`, as on a cluster's head node."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    artifacts = tmp_path_factory.mktemp("mlartifacts")
    server = start_mlflow_server(postgres.rsplit("/", 1)[0] + "/mlflow", artifacts, port, artifacts / "server.log")
    uri = f"http://127.0.0.1:{port}"
    yield uri
    stop_mlflow_server(server)


@pytest.mark.slow
def test_two_workers_on_postgresql_and_an_mlflow_server(tmp_path, capfd, postgres, mlflow_server):
    cfg = tiny_config(tmp_path, "search.n_workers=2", "search.n_trials=8", storage=postgres, mlflow=mlflow_server)
    summary = run_search(cfg)
    _, err = capfd.readouterr()
    check_shared_study(postgres, mlflow_server, summary, err)


# ------------------------------------------------------------------ Ctrl-C


def wait_until(condition, process: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"run.py exited early ({process.returncode}): {err[-3000:]}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def training(tmp_path: Path, count: int) -> bool:
    """At least `count` trials are RUNNING and have logged an epoch to MLflow."""
    from mlflow.tracking import MlflowClient

    storage = tmp_path / "optuna.journal"
    if not storage.exists():
        return False
    running = [t for t in trials(str(storage)) if t.state == TrialState.RUNNING and t.user_attrs.get("mlflow_run_id")]
    if len(running) < count:
        return False
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    return all(client.get_run(t.user_attrs["mlflow_run_id"]).data.metrics.get("val_acc") is not None for t in running)


@pytest.mark.slow
def test_ctrl_c_stops_every_worker_and_records_their_trials_failed(tmp_path):
    process = popen_run_py(
        *tiny_overrides(tmp_path, "search.n_workers=2", "search.n_trials=8", "train.epochs=25"),
        f"hydra.run.dir={tmp_path}/run",
    )
    wait_until(lambda: training(tmp_path, 2), process)
    process.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends (the workers have their own group)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 2, err[-3000:]
    assert f"error: study {STUDY} interrupted (Ctrl-C); the running trial is recorded FAIL" in err
    done = trials(str(tmp_path / "optuna.journal"))
    assert not [t for t in done if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    failed = [t for t in done if t.state == TrialState.FAIL]
    assert len(failed) == 2 and all(t.user_attrs["fail_reason"] == "interrupted (Ctrl-C)" for t in failed)
    parents, children = nested_runs(f"sqlite:///{tmp_path}/mlflow.db")
    assert [p.info.status for p in parents] == ["KILLED"]
    assert sorted(c.info.status for c in children if c.info.status != "FINISHED") == ["KILLED", "KILLED"]


@pytest.mark.slow
def test_ctrl_c_with_stdout_a_closed_pipe_prints_one_error_line_and_kills_the_runs(tmp_path):
    process = popen_run_py(
        *tiny_overrides(tmp_path, "search.n_trials=3", "train.epochs=25"), f"hydra.run.dir={tmp_path}/run"
    )
    process.stdout.close()  # `python run.py | head -0`: every write to stdout fails
    wait_until(lambda: training(tmp_path, 1), process)
    process.send_signal(signal.SIGINT)
    err = process.stderr.read()
    assert process.wait(timeout=300) == 2
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors == [line for line in err.splitlines() if "error:" in line] and len(errors) == 1
    assert errors[0].startswith(f"error: study {STUDY} interrupted (Ctrl-C); the running trial is recorded FAIL")
    assert "KeyboardInterrupt" not in err and "Trial 0 failed" not in err  # no Optuna traceback first
    [trial] = trials(str(tmp_path / "optuna.journal"))
    assert trial.state == TrialState.FAIL and trial.user_attrs["fail_reason"] == "interrupted (Ctrl-C)"
    parents, children = nested_runs(f"sqlite:///{tmp_path}/mlflow.db")
    assert [p.info.status for p in parents] == ["KILLED"] and [c.info.status for c in children] == ["KILLED"]


def test_several_workers_that_complete_no_trial_exit_with_the_reason(tmp_path, monkeypatch):
    """The launcher judges the run: every worker's trials failed, so the search fails."""
    import multiprocessing

    import search.study
    import search.workers
    from nas.arch import ArchitectureError
    from search.errors import SearchError

    def unbuildable(trial, cfg):
        raise ArchitectureError("vertex 3: channels must be a positive integer, got 0")

    monkeypatch.setattr(search.study, "sample_architecture", unbuildable)
    fork = multiprocessing.get_context("fork")  # the workers keep this process's patch (spawn would not)
    monkeypatch.setattr(search.workers.multiprocessing, "get_context", lambda method: fork)
    with pytest.raises(SearchError, match="none of this run's 2 trials completed .2 failed.; last reason: Arch"):
        run_search(tiny_config(tmp_path, "search.n_workers=2"))
    assert [t.state for t in trials(str(tmp_path / "optuna.journal"))] == [TrialState.FAIL] * 2
