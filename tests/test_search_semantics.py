"""What a study means (issue 16): its identity, how many trials a run adds, duplicates,
a sync with nothing to do, and what optuna-dashboard and MLflow show. Training is
replaced by a made-up accuracy (the analysis is real), so each test takes seconds."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from search.objectives import create_objectives
from search.storage import create_storage
from search.study import open_study, run_search
from search.sync import sync_task
from tests.reliability_support import STUDY, analysis_only, nested_runs, tiny_config, trials


def storage(tmp_path) -> str:
    return str(tmp_path / "optuna.journal")


def mlflow_uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/mlflow.db"


# ------------------------------------------------------------------ 2: identity


def open_with(tmp_path, *overrides: str, name: str = STUDY) -> optuna.Study:
    cfg = tiny_config(tmp_path, *overrides)
    return open_study(cfg, name, create_objectives(cfg.search))


def test_resuming_with_another_training_config_is_refused_naming_the_difference(tmp_path):
    open_with(tmp_path)
    open_with(tmp_path, "train.threads=2", "data.num_workers=0", "search.population_size=6")  # execution only
    with pytest.raises(ValueError) as err:
        open_with(tmp_path, "train.batch_size=32", "data.val_fraction=0.2")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"study '{STUDY}' in {storage(tmp_path)} was run with ")
    assert message.endswith(
        "was run with data.val_fraction=0.1 (now 0.2), train.batch_size=64 (now 32): its trials "
        "would not be comparable; rerun with the study's settings to resume it, or set another "
        "search.study_name"
    )
    open_with(tmp_path, "train.batch_size=32", name="other")  # another name: another study


# ------------------------------------------------------------------ 3: n_trials vs total_trials


def test_n_trials_adds_trials_and_total_trials_tops_the_study_up(tmp_path, monkeypatch):
    analysis_only(monkeypatch)
    run_search(tiny_config(tmp_path, "search.n_trials=2"))
    run_search(tiny_config(tmp_path, "search.n_trials=1"))
    assert len(trials(storage(tmp_path))) == 3  # n_trials: this many more
    summary = run_search(tiny_config(tmp_path, "search.total_trials=5"))
    assert summary["complete"] == 5
    run_search(tiny_config(tmp_path, "search.total_trials=5", "search.n_trials=4"))  # complete: nothing to add
    assert len(trials(storage(tmp_path))) == 5


# ------------------------------------------------------------------ 4: duplicates


def test_a_duplicate_is_marked_everywhere_and_counted_once(tmp_path, monkeypatch):
    analysis_only(monkeypatch)
    # a one-point space: every trial samples the same architecture
    summary = run_search(tiny_config(tmp_path, "search.n_trials=3", "space=sampling", "space.nodes=5", "space.seed=3"))
    first, *again = trials(storage(tmp_path))
    assert [t.user_attrs.get("duplicate_of") for t in again] == [0, 0] and all(t.values == first.values for t in again)
    assert "train_seconds" in first.user_attrs and not any("train_seconds" in t.user_attrs for t in again)
    assert [p["number"] for p in summary["pareto"]] == [0] and summary["duplicates"] == 2
    _, runs = nested_runs(mlflow_uri(tmp_path))
    by_number = {int(r.data.tags["cnas.trial"]): r for r in runs}
    assert by_number[1].data.tags["duplicate_of"] == "0" and by_number[1].info.run_name == "t001-dp5-dup-t000"
    assert by_number[1].data.tags["duplicate_of_run"] == first.user_attrs["mlflow_run_id"]
    assert "train_seconds" not in by_number[1].data.metrics and "train_seconds" in by_number[0].data.metrics


# ------------------------------------------------------------------ 6: sync with nothing to sync


def test_sync_with_nothing_to_sync_leaves_the_parent_run_alone(tmp_path, monkeypatch):
    analysis_only(monkeypatch)
    summary = run_search(tiny_config(tmp_path))
    client = MlflowClient(mlflow_uri(tmp_path))
    parent_id = summary["mlflow_run_id"]

    def parent_state():
        run = client.get_run(parent_id)
        history = {k: len(client.get_metric_history(parent_id, k)) for k in run.data.metrics}
        return run.info.status, run.info.start_time, run.info.end_time, history

    before = parent_state()
    result = sync_task(tiny_config(tmp_path))
    assert (result["created"], result["completed"], result["already_synced"]) == (0, 0, 2)
    assert parent_state() == before


# ------------------------------------------------------------------ 10, 11: optuna-dashboard and MLflow


def test_dashboard_and_mlflow_show_names_settings_and_tables(tmp_path, monkeypatch):
    analysis_only(monkeypatch)
    summary = run_search(tiny_config(tmp_path, "search.baselines=[cifarnet]", "search.n_trials=3"))
    study = optuna.load_study(study_name=STUDY, storage=create_storage(storage(tmp_path), heartbeat_interval=None))
    assert study.metric_names == ["accuracy", "cs"]
    sampled = [t for t in study.trials if not t.user_attrs.get("baseline")]
    assert all("arch_seed" not in t.params and isinstance(t.user_attrs["arch_seed"], int) for t in sampled)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    client = MlflowClient(mlflow_uri(tmp_path))
    parent = client.get_run(summary["mlflow_run_id"])
    params = parent.data.params
    assert params["search.sampler"] == "random" and json.loads(params["search.objectives"]) == ["accuracy", "cs"]
    assert params["train.epochs"] == "1" and params["data.fraction"] == "0.3" and params["hw.units"] == "4"
    assert params["space.nodes.low"] == "4" and params["generator.name"] == "dp"
    _, runs = nested_runs(mlflow_uri(tmp_path))
    names = sorted(r.info.run_name for r in runs)
    assert names[0] == "t000-cifarnet" and [n[:5] for n in names] == ["t000-", "t001-", "t002-"]
    for number, name in enumerate(names[1:], start=1):
        nodes = study.trials[number].params["nodes"]
        assert name == f"t{number:03d}-dp{nodes}"
    run = next(r for r in runs if r.info.run_name != "t000-cifarnet")
    assert not [k for k in run.data.metrics if k.startswith(("width_profile", "hw.memory_per_unit_mb"))]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"width_profile.json", "hw.memory_per_unit_mb.json"} <= artifacts
    table = json.loads(Path(client.download_artifacts(run.info.run_id, "width_profile.json")).read_text())
    assert table["columns"] == ["depth", "width"] and len(table["data"]) >= 1
