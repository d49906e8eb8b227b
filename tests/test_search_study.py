"""The search end to end on digits: Optuna storage + MLflow runs, checked through their APIs."""

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from app.config import validate
from search.study import run_search
from tests.conftest import compose_config

ROOT = Path(__file__).resolve().parents[1]


def tiny_search(tmp_path: Path, *extra: str) -> list[str]:
    return [
        f"search.storage=sqlite:///{tmp_path}/optuna.db",
        f"search.mlflow.tracking_uri=sqlite:///{tmp_path}/mlflow.db",
        f"search.artifacts_dir={tmp_path}/artifacts",
        "search.study_name=tiny",
        "search.n_trials=2",
        "train.epochs=2",
        "data.fraction=0.3",
        "space.nodes={low: 5, high: 7}",
        "staging.channels=8",
        "staging.max_channels=16",
        *extra,
    ]


def run(tmp_path: Path, *extra: str) -> dict:
    cfg = validate(compose_config(*tiny_search(tmp_path, *extra), tiny=False))
    return run_search(cfg)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("search")
    summary = run(tmp_path, "search.baselines=[cifarnet]")
    return tmp_path, summary


def test_study_has_every_trial_complete_with_metrics(finished):
    tmp_path, summary = finished
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path}/optuna.db")
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert summary["complete"] == 2 and summary["pareto"]
    baseline = [t for t in trials if t.user_attrs.get("baseline") == "cifarnet"]
    assert len(baseline) == 1 and baseline[0].params == {}
    sampled = next(t for t in trials if not t.user_attrs.get("baseline"))
    assert 5 <= sampled.params["nodes"] <= 7 and set(sampled.params) == {"nodes", "dp.alpha", "dp.beta", "dp.p"}
    assert isinstance(sampled.user_attrs["arch_seed"], int)  # derived from the trial, not tuned
    assert (
        sorted(sampled.intermediate_values) == [0, 1]
        and sampled.intermediate_values[1] == sampled.user_attrs["val_acc"]
    )
    for t in trials:
        assert 0 <= t.values[0] <= 100 and t.values[1] > 0  # accuracy %, CS
        assert t.values[0] == t.user_attrs["test_acc"] and t.values[1] == t.user_attrs["cs"]


def test_mlflow_parent_and_nested_runs(finished):
    tmp_path, summary = finished
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name("concurrent-nas")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == summary["mlflow_run_id"]]
    assert len(parents) == 1 and parents[0].info.run_id == summary["mlflow_run_id"]
    assert parents[0].info.status == "FINISHED"
    assert {"pareto_front.png", "trials.csv", "summary.json"} <= {
        a.path for a in client.list_artifacts(parents[0].info.run_id)
    }
    assert len(children) == 2
    for child in children:
        assert child.info.status == "FINISHED"
        tags = child.data.tags
        assert tags["generator"] == "dp" and tags["staging"] == "probabilistic" and tags["dataset"] == "digits"
        assert "hardware" in tags
        for key in (
            "test_acc",
            "val_acc",
            "params",
            "acc_per_param",
            "eta",
            "cs",
            "comm",
            "imbalance",
            "entropy",
            "speedup_bound",
        ):
            assert key in child.data.metrics, key
        for key in ("val_acc", "train_acc", "train_loss"):  # one per epoch, both from step 0
            assert [m.step for m in client.get_metric_history(child.info.run_id, key)] == [0, 1], key
        assert "cfg.train.epochs" in child.data.params and child.data.params["cfg.train.epochs"] == "2"
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert "architecture.json" in artifacts and any(a.endswith(".png") for a in artifacts)
        assert any("partition" in a and a.endswith(".json") for a in artifacts)
    models = client.search_logged_models([experiment.experiment_id])
    assert {m.source_run_id for m in models} == {c.info.run_id for c in children}
    assert all(m.model_id and client.get_logged_model(m.model_id) for m in models)


def test_logged_model_has_a_signature_and_predicts(finished):
    import mlflow
    import numpy as np

    tmp_path, _ = finished
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    client = MlflowClient()
    experiment = client.get_experiment_by_name("concurrent-nas")
    model = client.search_logged_models([experiment.experiment_id])[0]
    loaded = mlflow.pyfunc.load_model(f"models:/{model.model_id}")
    assert loaded.metadata.signature is not None
    out = loaded.predict(np.random.rand(2, 1, 16, 16).astype("float32"))
    assert np.asarray(out).shape == (2, 10)


def test_rerun_resumes_the_study(tmp_path):
    first = run(tmp_path)
    storage = f"sqlite:///{tmp_path}/optuna.db"
    before = [
        (t.number, t.values, t.params) for t in optuna.load_study(study_name="tiny", storage=storage).get_trials()
    ]
    second = run(tmp_path, "search.n_trials=1")
    after = optuna.load_study(study_name="tiny", storage=storage).get_trials()
    assert len(after) == 3 and [(t.number, t.values, t.params) for t in after[:2]] == before
    assert second["mlflow_run_id"] == first["mlflow_run_id"]  # the parent run is resumed
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name("concurrent-nas")
    children = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{first['mlflow_run_id']}'"
    )
    assert len(children) == 3


def test_third_objective_and_other_samplers(tmp_path):
    summary = run(tmp_path, "search.objectives=[accuracy,cs,params]", "search.sampler=random", "search.n_trials=1")
    assert summary["objectives"] == ["accuracy", "cs", "params"] and summary["complete"] == 1


def test_objectives_conflicting_with_an_existing_study_are_refused(tmp_path):
    run(tmp_path, "search.n_trials=1", "search.objectives=[accuracy,cs]")
    with pytest.raises(ValueError, match="pick another search.study_name"):
        run(tmp_path, "search.n_trials=1", "search.objectives=[accuracy]")


@pytest.mark.slow
def test_multirun_two_generators_two_policies_then_report(tmp_path):
    overrides = [o for o in tiny_search(tmp_path) if not o.startswith("search.study_name")]
    sweep = subprocess.run(
        [
            sys.executable,
            "run.py",
            "-m",
            "generator=er,dp",
            "staging=greedy,probabilistic",
            *overrides,
            "search.n_trials=1",
            "search.mlflow.log_models=false",
            f"hydra.sweep.dir={tmp_path}/multirun",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    storage = f"sqlite:///{tmp_path}/optuna.db"
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
    assert names == [
        "dp-greedy-digits-local",
        "dp-probabilistic-digits-local",
        "er-greedy-digits-local",
        "er-probabilistic-digits-local",
    ]
    report = subprocess.run(
        [
            sys.executable,
            "run.py",
            "task=report",
            f"search.storage={storage}",
            "search.report_studies=[*]",
            f"hydra.run.dir={tmp_path}/report",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    (line,) = report.stdout.strip().splitlines()  # stdout is the JSON line only; the table is for a person
    result = json.loads(line)
    assert {row["model"] for row in result["rows"]} == {"er", "dp"}
    assert all(row["trials"] == 2 for row in result["rows"])
    assert "| model " in report.stderr and (tmp_path / "report" / "table.md").exists()


def test_a_resampled_architecture_is_not_trained_again(tmp_path):
    # a single-valued space makes every trial sample the same parameters and seed
    run(
        tmp_path,
        "search.n_trials=2",
        "search.sampler=random",
        "space=sampling",
        "space.nodes=6",
        "space.seed=[3]",
        "search.mlflow.log_models=false",
    )
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path}/optuna.db")
    first, second = study.get_trials()
    assert second.user_attrs["duplicate_of"] == first.number and second.values == first.values
    assert "train_seconds" not in second.user_attrs  # it did not train
    assert not (tmp_path / "artifacts" / "tiny" / "trial-1" / "architecture.json").exists()
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    run_id = second.user_attrs["mlflow_run_id"]
    assert client.get_run(run_id).data.tags["duplicate_of"] == "0"
