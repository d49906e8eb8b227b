"""A rerun started right after a worker was killed (its trial's heartbeat still fresh):
the run waits out the grace period, fails the lost trial (its MLflow run too), runs
its retry and reports it; a trial another live process is running is reported, not
failed, and keeps the parent run open."""

from __future__ import annotations

import threading
import time

import pytest
from optuna.trial import TrialState

from search.space import sample_architecture
from search.study import Search, run_search
from tests.reliability_support import analysis_only, nested_runs, tiny_config, trials

# The tests start trials by hand (ask) to play another worker; Optuna warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")


def other_worker_trial(cfg):
    """A trial as another worker leaves it: parameters sampled, its MLflow run RUNNING,
    one heartbeat recorded just now."""
    other = Search(cfg)
    trial = other.study.ask()
    sample_architecture(trial, cfg)
    run_id = other.tracker.start_trial(trial.number, {})
    trial.set_user_attr("mlflow_run_id", run_id)
    other.study._storage.record_heartbeat(trial._trial_id)
    return other, trial, run_id


def test_a_rerun_right_after_a_kill_fails_the_lost_trial_and_runs_its_retry(tmp_path, monkeypatch):
    analysis_only(monkeypatch)
    # grace 10 s: the rerun's one trial (~3 s) ends before the lost trial is stale
    cfg = tiny_config(tmp_path, "search.heartbeat_interval=5", "search.n_trials=1")
    _, killed, run_id = other_worker_trial(cfg)  # ... then that worker is SIGKILLed: no more beats
    start = time.monotonic()
    summary = run_search(cfg)  # at once: the lost trial is not stale yet when the rerun starts
    assert time.monotonic() - start < 60

    done = trials(str(tmp_path / "optuna.journal"))
    assert not [t for t in done if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert done[killed.number].state == TrialState.FAIL
    retry = next(t for t in done if t.system_attrs.get("failed_trial") == killed.number)
    assert retry.state == TrialState.COMPLETE and retry.params == done[killed.number].params
    assert summary["lost_trials"] == [{"trial": killed.number, "retry": retry.number}]
    assert summary["running_elsewhere"] == [] and summary["failed"] == 1 and summary["complete"] == 2
    parents, runs = nested_runs(f"sqlite:///{tmp_path}/mlflow.db")
    lost = next(r for r in runs if r.info.run_id == run_id)
    assert lost.info.status == "FAILED" and lost.data.tags["fail_reason"].startswith("worker lost: no heartbeat")
    assert [p.info.status for p in parents] == ["FINISHED"]


def test_a_trial_another_live_process_runs_is_reported_and_left_running(tmp_path, monkeypatch):
    analysis_only(monkeypatch)
    cfg = tiny_config(tmp_path, "search.heartbeat_interval=1", "search.n_trials=1")
    other, trial, run_id = other_worker_trial(cfg)
    stop = threading.Event()

    def beat() -> None:  # the other worker is alive: it beats every interval
        while not stop.wait(0.5):
            other.study._storage.record_heartbeat(trial._trial_id)

    beating = threading.Thread(target=beat)
    beating.start()
    try:
        start = time.monotonic()
        summary = run_search(cfg)
        waited = time.monotonic() - start
    finally:
        stop.set()
        beating.join()
    assert summary["running_elsewhere"] == [trial.number] and summary["lost_trials"] == []
    assert waited < 30
    assert trials(str(tmp_path / "optuna.journal"))[trial.number].state == TrialState.RUNNING
    parents, runs = nested_runs(f"sqlite:///{tmp_path}/mlflow.db")
    assert next(r for r in runs if r.info.run_id == run_id).info.status == "RUNNING"
    assert [p.info.status for p in parents] == ["RUNNING"]  # closed by whoever finishes last
