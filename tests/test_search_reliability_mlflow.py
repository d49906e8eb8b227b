"""MLflow unreachable during a search: trials complete into the storage, one warning;
`task=sync` later logs the missing runs, and a second sync logs nothing twice."""

from __future__ import annotations

import socket
import warnings

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

import search.study
from search.storage import create_storage
from search.study import run_search
from search.sync import sync_task
from tests.reliability_support import nested_runs, tiny_config, trials
from tests.test_search_reliability_trials import huge_lr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once it is closed


def test_search_without_mlflow_then_sync(tmp_path, monkeypatch):
    real = search.study.evaluate

    def evaluate(arch, cfg, *args):  # the first trial diverges: a FAIL trial to sync too
        if not getattr(evaluate, "called", False):
            evaluate.called = True
            cfg = huge_lr(cfg)
        return real(arch, cfg, *args)

    monkeypatch.setattr(search.study, "evaluate", evaluate)
    down = f"http://127.0.0.1:{closed_port()}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = run_search(tiny_config(tmp_path, "search.n_trials=3", "search.max_failure_rate=1", mlflow=down))
    mlflow_warnings = [w for w in caught if "MLflow unavailable" in str(w.message)]
    assert len(mlflow_warnings) == 1 and "task=sync" in str(mlflow_warnings[0].message)
    assert summary["complete"] == 2 and summary["mlflow_available"] is False
    done = trials(str(tmp_path / "optuna.journal"))
    assert [t.state for t in done] == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    assert all(t.user_attrs["mlflow_synced"] is False and t.user_attrs["mlflow_run_id"] is None for t in done)
    assert all(0 <= t.user_attrs["test_acc"] <= 100 for t in done[1:])

    up = f"sqlite:///{tmp_path}/mlflow.db"
    first = sync_task(tiny_config(tmp_path, mlflow=up))
    assert (first["trials"], first["created"], first["already_synced"], first["errors"]) == (3, 3, 0, 0)
    parents, runs = nested_runs(up)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert {r.data.tags["mlflow.parentRunId"] for r in runs} == {parents[0].info.run_id}
    by_trial = {int(r.data.tags["cnas.trial"]): r for r in runs}
    assert sorted(by_trial) == [0, 1, 2]
    assert by_trial[0].info.status == "FAILED" and "DivergedError" in by_trial[0].data.tags["fail_reason"]
    client = MlflowClient(up)
    for number in (1, 2):
        run, trial = by_trial[number], done[number]
        assert run.info.status == "FINISHED"
        assert run.data.metrics["test_acc"] == trial.user_attrs["test_acc"] and "cs" in run.data.metrics
        assert run.data.params["cfg.train.epochs"] == "1" and run.data.tags["dataset"] == "digits"
        assert "architecture.json" in {a.path for a in client.list_artifacts(run.info.run_id)}
        assert run.info.start_time == int(trial.datetime_start.timestamp() * 1000)
    assert {"trials.csv", "summary.json"} <= {a.path for a in client.list_artifacts(parents[0].info.run_id)}

    second = sync_task(tiny_config(tmp_path, mlflow=up))
    assert (second["created"], second["completed"], second["already_synced"]) == (0, 0, 3)
    assert len(nested_runs(up)[1]) == 3


def test_sync_refuses_a_missing_storage_or_study_without_creating_them(tmp_path):
    cfg = tiny_config(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sync_task(cfg)
    assert not (tmp_path / "optuna.journal").exists()
    optuna.create_study(study_name="other", storage=create_storage(str(tmp_path / "optuna.journal")))
    with pytest.raises(ValueError, match="no study 'rel' in .* \\(studies there: other\\); set search.study_name"):
        sync_task(cfg)
    assert [s.study_name for s in optuna.get_all_study_summaries(create_storage(str(tmp_path / "optuna.journal")))] == [
        "other"
    ]


def test_workers_starting_together_end_up_under_one_parent_run(tmp_path, monkeypatch):
    """Two workers both found no parent and both created one: each keeps the oldest."""
    from search.tracking import PARENT_TAG, Tracker

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    first = Tracker(uri, "concurrent-nas", "race", {})
    real_parents = Tracker._parents
    calls = []

    def parents_after_the_race(self):
        calls.append(1)
        return [] if len(calls) == 1 else real_parents(self)  # the first look happened before `first` existed

    monkeypatch.setattr(Tracker, "_parents", parents_after_the_race)
    second = Tracker(uri, "concurrent-nas", "race", {})
    assert second.parent_id == first.parent_id
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("concurrent-nas")
    live = client.search_runs([experiment.experiment_id], filter_string=f"tags.`{PARENT_TAG}` = 'race'")
    assert [r.info.run_id for r in live] == [first.parent_id]  # the duplicate was deleted


# One of several processes opening the same new store at one moment: imports first, then waits for "go".
RACER = """
import json, pathlib, sys, time, warnings
import mlflow.tracking
from search.tracking import Tracker
folder = pathlib.Path(sys.argv[2])
(folder / f"ready-{sys.argv[3]}").touch()
while not (folder / "go").exists():
    time.sleep(0.002)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    tracker = Tracker(sys.argv[1], "concurrent-nas", "race", {})
print(json.dumps([tracker.available, tracker.parent_id, [str(w.message) for w in caught if "MLflow" in str(w.message)]]))
"""


def test_processes_opening_a_new_sqlite_store_at_once_all_track(tmp_path):
    """MLflow creates its tables on first use; racing processes lost tracking (duplicate column name)."""
    import json
    import subprocess
    import sys
    import time

    from tests.reliability_support import ROOT

    n, uri = 4, f"sqlite:///{tmp_path}/mlflow.db"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, uri, str(tmp_path), str(i)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    deadline = time.monotonic() + 300
    while len(list(tmp_path.glob("ready-*"))) < n:
        assert time.monotonic() < deadline and all(r.poll() is None for r in racers), "a racer did not start"
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outcomes = []
    for racer in racers:
        out, err = racer.communicate(timeout=300)
        assert racer.returncode == 0, err[-2000:]
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    assert [warned for _, _, warned in outcomes] == [[]] * n
    assert all(available for available, _, _ in outcomes)
    assert len({parent for _, parent, _ in outcomes}) == 1  # one parent run for all
    parents, _ = nested_runs(uri)
    assert [p.info.run_id for p in parents] == [outcomes[0][1]]
