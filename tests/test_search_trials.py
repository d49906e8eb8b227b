"""From search to deployment: a trial's saved architecture and state_dict, named by `trial=`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import optuna
import pytest
import torch
from mlflow.tracking import MlflowClient

from app import TASKS
from app.config import validate
from search.study import run_search
from search.trials import resolve_trial
from tests.conftest import compose_config
from tests.test_hw_testbed import needs_host

STUDY = "trials"
# where task=deploy runs the trial: local processes, or units of the emulated testbed (needs root)
DEPLOY_ON = ["none", pytest.param("emulated", marks=needs_host)]


def overrides(tmp: Path, *extra: str) -> list[str]:
    return [
        f"search.storage=sqlite:///{tmp}/optuna.db",
        f"search.mlflow.tracking_uri=sqlite:///{tmp}/mlflow.db",
        f"search.artifacts_dir={tmp}/artifacts",
        f"search.study_name={STUDY}",
        "search.objectives=[accuracy,latency]",
        "hw.units=2",
        "deploy.costs=predictor",
        "data.fraction=0.3",
        "train.epochs=1",
        *extra,
    ]


def run_task(name: str, tmp: Path, out: str, monkeypatch, *extra: str) -> dict:
    """`python run.py task=<name> ...` in-process, its outputs into tmp/out."""
    (tmp / out).mkdir()
    monkeypatch.chdir(tmp / out)
    return TASKS.get(name)(validate(compose_config(*overrides(tmp, f"task={name}", *extra))))


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A 2-trial, 1-epoch study on digits: the CifarNet baseline (trial 0) and a tiny DP."""
    tmp = tmp_path_factory.mktemp("trials")
    run_search(
        validate(
            compose_config(
                *overrides(tmp, "search.n_trials=2", "space.nodes={low: 5, high: 7}", "search.baselines=[cifarnet]")
            )
        )
    )
    return tmp, optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp}/optuna.db").get_trials()


def test_every_trial_saves_its_architecture_and_a_safe_state_dict(searched):
    tmp, trials = searched
    client = MlflowClient(f"sqlite:///{tmp}/mlflow.db")
    for t in trials:
        folder = Path(t.user_attrs["artifacts"])
        state = torch.load(folder / "weights.pt", weights_only=True)  # plain tensors: no pickled code
        assert any(k.startswith("vertices.") for k in state) and (folder / "architecture.json").is_file()
        logged = {a.path for a in client.list_artifacts(t.user_attrs["mlflow_run_id"])}
        assert {"weights.pt", "architecture.json"} <= logged
    experiment = client.get_experiment_by_name("concurrent-nas")
    assert len(client.search_logged_models([experiment.experiment_id])) == 2  # the pickled models stay


@pytest.mark.parametrize("testbed", DEPLOY_ON)
def test_deploying_a_trial_runs_its_weights_as_one_process_would(searched, tmp_path, monkeypatch, testbed):
    tmp, trials = searched
    extra = [f"deploy.testbed={testbed}", f"deploy.testbed_name=tr{os.getpid() % 100000}"]
    result = run_task(
        "deploy",
        tmp,
        f"deploy-{testbed}",
        monkeypatch,
        f"trial={STUDY}:0",
        "deploy.repeats=2",
        "deploy.warmup=1",
        *extra,
    )
    assert result["workers"] == 2 and result["trial"]["number"] == 0
    assert result["weights"] == str(Path(trials[0].user_attrs["artifacts"]) / "weights.pt")
    assert result["max_abs_diff"] <= 1e-5  # 2 workers' logits == one process's, same weights
    # the latency objective is what deploy predicts (same costs, placement, schedule), also on
    # a testbed whose units run at the target's speed (2 local units on 2 cores cannot: capped slower)
    if testbed == "none" or result["testbed"]["faithful"]:
        assert (
            trials[0].values[1]
            == result["predicted"]["predicted_distributed_ms"]
            == trials[0].user_attrs["deploy_latency_ms"]
        )
    else:
        assert (
            result["testbed"]["unit_slowdown"] > 1
            and trials[0].values[1] < result["predicted"]["predicted_distributed_ms"]
        )


def test_training_a_trial_for_zero_epochs_reproduces_its_test_accuracy(searched, monkeypatch):
    tmp, trials = searched
    result = run_task("train", tmp, "train", monkeypatch, f"trial={STUDY}:1", "train.epochs=0")
    assert result["epochs"] == 0 and result["init"].endswith("trial-1/weights.pt")
    assert result["test_acc"] == pytest.approx(trials[1].user_attrs["test_acc"], abs=1e-6)
    saved = torch.load(result["weights"], weights_only=True)
    trained = torch.load(Path(trials[1].user_attrs["artifacts"]) / "weights.pt", weights_only=True)
    assert all(torch.equal(saved[k], trained[k]) for k in trained)  # tested as found: no BN recalibration


def test_analyzing_a_trial_analyzes_its_architecture(searched, monkeypatch):
    tmp, trials = searched
    result = run_task("analyze", tmp, "analyze", monkeypatch, f"trial={STUDY}:1")
    assert result["trial"]["number"] == 1 and result["params"] == trials[1].user_attrs["params"]
    assert result["cs"] == trials[1].user_attrs["cs"]


def test_a_run_id_fetches_the_files_from_mlflow(searched, tmp_path):
    tmp, trials = searched
    cfg = validate(compose_config(*overrides(tmp, f"search.artifacts_dir={tmp_path}/elsewhere")))
    shutil.move(trials[0].user_attrs["artifacts"], tmp_path / "moved")  # the local folder is gone
    try:
        found = resolve_trial(trials[0].user_attrs["mlflow_run_id"], cfg)
        assert (found.study, found.number) == (STUDY, 0)
        assert found.weights_path == tmp_path / "elsewhere" / STUDY / "trial-0" / "weights.pt"
        assert found.weights_path.read_bytes() == (tmp_path / "moved" / "weights.pt").read_bytes()
        assert resolve_trial(f"{STUDY}:0", cfg).weights_path == found.weights_path  # by number, too
    finally:
        shutil.move(tmp_path / "moved", trials[0].user_attrs["artifacts"])


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nosuch:0", "no study 'nosuch' in"),
        (f"{STUDY}:9", f"study {STUDY} has trials 0..1"),
        ("best", "expected <study>:<number>, <number>"),
        ("7", "trial=trials:7: study trials has trials 0..1"),  # of search.study_name's study
        ("0123456789abcdef0123456789abcdef", "no MLflow run with this id"),
    ],
)
def test_a_bad_trial_name_is_one_line(searched, spec, message):
    tmp, _ = searched
    with pytest.raises(ValueError, match=message):
        resolve_trial(spec, validate(compose_config(*overrides(tmp))))


def test_a_trial_only_runs_on_the_data_it_was_built_for(searched):
    tmp, _ = searched
    with pytest.raises(ValueError, match="was built for input_size=16 \\(config: 20\\)"):
        resolve_trial(f"{STUDY}:0", validate(compose_config(*overrides(tmp, "input_size=20"))))


def test_a_pickled_model_as_deploy_weights_is_one_line(searched, monkeypatch):
    tmp, _ = searched
    pickled = next(tmp.rglob("model.pth"))  # what mlflow.pytorch logged
    with pytest.raises(
        ValueError, match="is a pickled whole model .* give the trial's weights.pt .* trial=<study>:<number>"
    ):
        run_task("deploy", tmp, "pickled", monkeypatch, f"deploy.weights={pickled}")


def test_trial_and_arch_together_are_refused():
    with pytest.raises(ValueError, match="arch=<file> or trial=<study>:<number>, not both"):
        validate(compose_config("trial=s:0", "arch=a.json"))


def test_the_report_lists_front_and_baselines_with_measured_latency(searched, monkeypatch):
    tmp, trials = searched
    result = run_task(
        "report", tmp, "report", monkeypatch, "search.report_measure=true", "deploy.repeats=2", "deploy.warmup=1"
    )
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp}/optuna.db")
    rows = {r["number"]: r for r in result["front"]}
    front = {t.number for t in study.best_trials}
    assert set(rows) == front | {0} and rows[0]["baseline"] == "cifarnet"  # the baseline, on the front or not
    for number, row in rows.items():
        assert row["on_front"] == (number in front) and row["feasible"]
        assert row["predicted_ms"] == trials[number].user_attrs["deploy_latency_ms"] and row["measured_ms"] > 0
    assert (tmp / "report" / "front.md").read_text().count("\n") == len(rows) + 2
