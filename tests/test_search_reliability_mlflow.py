"""MLflow unreachable during a search: trials complete into the storage, one warning;
`task=sync` later logs the missing runs, and a second sync logs nothing twice."""

from __future__ import annotations

import json
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
from tests.reliability_support import nested_runs, start_mlflow_server, stop_mlflow_server, tiny_config, trials
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


@pytest.mark.filterwarnings("ignore:MLflow unavailable:RuntimeWarning")
def test_each_call_to_a_server_gone_down_fails_in_seconds_not_minutes(tmp_path):
    """MLflow's client retries a refused call ~4 min by default; search.mlflow.request_* bound it."""
    import threading
    import time

    from search.study import Search

    tracker = Search(tiny_config(tmp_path)).tracker
    run_id = tracker.start_trial(0, {})
    tracker._client = MlflowClient(f"http://127.0.0.1:{closed_port()}")  # the tracking server has gone
    took: list[float] = []

    def log() -> None:
        start = time.monotonic()
        tracker.log_params(run_id, {"lr": 0.1})
        took.append(time.monotonic() - start)

    call = threading.Thread(target=log, daemon=True)
    call.start()
    call.join(60)
    assert took and took[0] < 20, f"the call stalled {took or 'over 60'} s"
    assert tracker.available is False  # the trials go on untracked, task=sync logs them later


def test_sync_completes_a_finished_run_that_lost_its_params_and_files(tmp_path, monkeypatch):
    """A call lost mid-trial (the server was down a moment): the run is FINISHED with its
    metrics but none of its params, tags or files; task=sync compares and adds them."""
    from search.tracking import Tracker
    from tests.reliability_support import analysis_only

    analysis_only(monkeypatch)
    lost: dict[str, str] = {}
    describe, log_artifacts = Tracker.describe_trial, Tracker.log_artifacts

    def describe_trial(self, run_id, name, params, tags):
        if name.startswith("t001"):
            lost[run_id] = name
            return None
        return describe(self, run_id, name, params, tags)

    monkeypatch.setattr(Tracker, "describe_trial", describe_trial)
    monkeypatch.setattr(
        Tracker, "log_artifacts", lambda self, run_id, paths: run_id in lost or log_artifacts(self, run_id, paths)
    )
    summary = run_search(tiny_config(tmp_path))
    [run_id] = lost
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    before = client.get_run(run_id)
    assert before.info.status == "FINISHED" and "test_acc" in before.data.metrics and not before.data.params
    monkeypatch.undo()

    first = sync_task(tiny_config(tmp_path))
    assert (first["completed"], first["already_synced"], first["errors"]) == (1, 1, 0)
    after = client.get_run(run_id)
    record = json.loads((tmp_path / "artifacts" / "rel" / "trial-1" / "mlflow_run.json").read_text())
    assert after.data.params == {k: v[:6000] for k, v in record["params"].items()}
    assert after.data.tags["arch_generator"] == record["tags"]["arch_generator"]
    assert after.info.run_name == lost[run_id] and after.info.status == "FINISHED"
    files = {p.name for p in (tmp_path / "artifacts" / "rel" / "trial-1").iterdir()}
    assert files <= {a.path for a in client.list_artifacts(run_id)}
    assert summary["complete"] == 2
    second = sync_task(tiny_config(tmp_path))
    assert (second["completed"], second["created"], second["already_synced"]) == (0, 0, 2)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:MLflow unavailable:RuntimeWarning")
def test_mlflow_server_stopped_mid_search_then_restarted_and_synced(tmp_path, monkeypatch):
    """The server stops as trial 1 starts: the search goes on (each failing call bounded in
    seconds), trial 1's run is left without params; after a restart task=sync completes it."""
    import time

    from tests.reliability_support import analysis_only

    analysis_only(monkeypatch)
    port = closed_port()
    server = start_mlflow_server(
        f"sqlite:///{tmp_path}/server.db", tmp_path / "mlartifacts", port, tmp_path / "server.log"
    )
    real_sample, stopped = search.study.sample_architecture, []

    def sample(trial, cfg):
        if trial.number == 1:
            stop_mlflow_server(server)
            stopped.append(time.monotonic())
        return real_sample(trial, cfg)

    monkeypatch.setattr(search.study, "sample_architecture", sample)
    uri = f"http://127.0.0.1:{port}"
    try:
        summary = run_search(tiny_config(tmp_path, "search.n_trials=3", mlflow=uri))
        after_stop = time.monotonic() - stopped[0]
    finally:
        if server.poll() is None:
            stop_mlflow_server(server)
    assert summary["complete"] == 3 and summary["mlflow_available"] is False
    assert after_stop < 60, f"the search ran {after_stop:.0f} s after the server stopped"
    done = trials(str(tmp_path / "optuna.journal"))
    assert [t.user_attrs["mlflow_synced"] for t in done] == [True, False, False]

    server = start_mlflow_server(
        f"sqlite:///{tmp_path}/server.db", tmp_path / "mlartifacts", port, tmp_path / "server.log"
    )
    try:
        first = sync_task(tiny_config(tmp_path, mlflow=uri))
        _, runs = nested_runs(uri)
        second = sync_task(tiny_config(tmp_path, mlflow=uri))
        client = MlflowClient(uri)
        artifacts = {r.data.tags["cnas.trial"]: {a.path for a in client.list_artifacts(r.info.run_id)} for r in runs}
    finally:
        stop_mlflow_server(server)
    assert (first["created"], first["completed"], first["already_synced"]) == (1, 1, 1)
    assert (second["created"], second["completed"], second["already_synced"]) == (0, 0, 3)
    by_trial = {int(r.data.tags["cnas.trial"]): r for r in runs}
    for number in (1, 2):
        folder = tmp_path / "artifacts" / "rel" / f"trial-{number}"
        record = json.loads((folder / "mlflow_run.json").read_text())
        run = by_trial[number]
        assert run.info.status == "FINISHED"
        assert run.data.params == {k: v[:6000] for k, v in record["params"].items()}
        assert run.data.metrics["test_acc"] == done[number].user_attrs["test_acc"]
        assert {p.name for p in folder.iterdir()} <= artifacts[str(number)]
