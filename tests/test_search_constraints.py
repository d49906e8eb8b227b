"""The memory constraint: a trial whose architecture does not fit a unit is infeasible for Optuna."""

from __future__ import annotations

import optuna

import search.study
from search.analysis import analyze_architecture
from search.storage import create_storage
from search.study import run_search
from tests.reliability_support import STUDY, tiny_config


def test_an_architecture_too_big_for_a_unit_is_infeasible_and_off_the_front(tmp_path, monkeypatch):
    """NSGA-II, TPE and `best_trials` all read Optuna's `trial.constraints`, which the trial sets."""

    def evaluate(arch, cfg, out_dir, *args):  # the real analysis; training replaced by a fixed accuracy
        best = arch.graph["generator"] == "cifarnet"
        return {
            **analyze_architecture(arch, cfg, out_dir),
            "test_acc": 90.0 if best else 50.0 + arch.number_of_nodes(),
        }, None

    monkeypatch.setattr(search.study, "evaluate", evaluate)
    # 0.5 MB per unit: cifarnet (about 2 MB) cannot fit however it is split; the 4-6 vertex samples (< 0.1 MB) do
    cfg = tiny_config(
        tmp_path,
        "search.sampler=nsga2",
        "search.objectives=[accuracy]",
        "search.n_trials=3",
        "search.baselines=[cifarnet]",
        "hw.memory_mb=0.5",
        "hw.reserved_mb=0",
    )
    summary = run_search(cfg)
    study = optuna.load_study(study_name=STUDY, storage=create_storage(str(tmp_path / "optuna.journal"), None))
    baseline, *sampled = study.trials
    assert baseline.user_attrs["baseline"] == "cifarnet" and len(sampled) == 2
    assert baseline.constraints["memory"] == baseline.user_attrs["hw.memory_constraint"] > 0
    assert all(t.constraints["memory"] <= 0 for t in sampled)
    assert baseline.values[0] > max(t.values[0] for t in sampled)  # the best accuracy, yet infeasible:
    assert baseline.number not in {t.number for t in study.best_trials}
    assert baseline.number not in {p["number"] for p in summary["pareto"]} and summary["infeasible"] == 1
