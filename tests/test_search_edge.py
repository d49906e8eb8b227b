"""experiment=edge_search: its target, objectives and baselines, and the memory constraint on a Pi's memory."""

from __future__ import annotations

import pandas as pd
import pytest

from app.config import validate
from hw.runtime.emulate import emulation_for
from nas.factory import baseline_architecture
from search.analysis import analyze_architecture
from search.front import headline
from search.objectives import create_objectives, deployment_prediction
from search.preflight import check_baselines
from tests.conftest import compose_config


def edge(*extra: str):
    return validate(compose_config("experiment=edge_search", "analysis.plots=false", *extra, tiny=False))


def test_edge_search_targets_four_pis_and_ranks_by_deploys_prediction():
    cfg = edge()
    assert (cfg.data.name, cfg.hw.name, cfg.hw.units, cfg.deploy.costs, cfg.deploy.testbed) == (
        "fashion_mnist",
        "rpi3b_wifi",
        4,
        "profile",  # this machine's per-vertex times, on the emulated unit: where the front is measured
        "emulated",
    )
    assert [(o.name, o.direction, o.metric) for o in create_objectives(cfg.search)] == [
        ("accuracy", "maximize", "test_acc"),
        ("latency", "minimize", "deploy_latency_ms"),
    ]
    assert list(cfg.search.baselines) == ["fb", "lcp:splits=4", "cifarnet"]
    check_baselines(cfg)  # each builds, LCP with 4 splits
    lcp = baseline_architecture("lcp:splits=4", cfg)
    assert lcp.graph["generator_params"]["splits"] == 4 and lcp.out_degree("input") == 4


@pytest.mark.parametrize("baseline", ["fb", "lcp:splits=4", "cifarnet"])
def test_baselines_fit_a_pi_and_not_a_tenth_of_a_megabyte(baseline, tmp_path):
    for memory_mb, fits in ((1024, True), (300.1, False)):  # 300 MB reserved for the OS and PyTorch
        cfg = edge(f"hw.memory_mb={memory_mb}")
        metrics = analyze_architecture(baseline_architecture(baseline, cfg), cfg, tmp_path)
        assert metrics["hw"]["memory_available_mb"] == pytest.approx(memory_mb - 300)
        assert (metrics["hw"]["memory_constraint"] <= 0) == fits  # the Optuna constraint of the trial


def test_lcp_split4_is_predicted_faster_distributed_than_on_one_pi():
    cfg = edge("deploy.costs=macs")  # the edge search's profiled costs are timed here: noisy under load
    predicted = deployment_prediction(baseline_architecture("lcp:splits=4", cfg), cfg)
    assert 0 < predicted["deploy_latency_ms"] < predicted["deploy_single_ms"]


def test_a_baseline_parameter_is_checked():
    with pytest.raises(ValueError, match="generator lcp has no parameter 'split'"):
        baseline_architecture("lcp:split=4", edge())


def test_the_objective_predicts_for_the_emulated_unit_deploy_runs_on():
    """deploy.testbed=emulated: the costs are the capped unit's (this machine's x 1/quota),
    as task=deploy scales them; on loopback workers they stay this machine's."""
    arch = baseline_architecture("cifarnet", edge())
    here = deployment_prediction(arch, edge("deploy.costs=macs", "deploy.testbed=none"))
    cfg = edge("deploy.costs=macs")
    emulated = deployment_prediction(arch, cfg)
    slowdown = emulation_for(cfg.hw).unit_slowdown
    assert slowdown > 10 and emulated["deploy_single_ms"] == pytest.approx(
        here["deploy_single_ms"] * slowdown, rel=1e-3
    )


def front(*rows):
    columns = ["number", "baseline", "on_front", "test_acc", "measured_ms"]
    return pd.DataFrame([dict(zip(columns, row, strict=True)) for row in rows])


def test_the_headline_is_the_fastest_front_member_near_the_best_baseline():
    table = front(
        (0, "fb", False, 82.0, 100.0),
        (1, "cifarnet", True, 85.0, 60.0),
        (2, "", True, 84.2, 40.0),  # within 1 point: the fastest such
        (3, "", True, 84.5, 50.0),
        (4, "", True, 80.0, 10.0),  # faster, but 5 points off
        (5, "", False, 84.9, 5.0),  # dominated: not on the front
    )
    found = headline(table)
    assert (found.best_baseline, found.found, found.speedup, found.best_sampled_acc) == ("cifarnet", 2, 1.5, 84.5)
    assert "trial 2: 84.20 % (-0.80)" in found.text()
    none = headline(table[table["number"].isin([0, 1, 4])])
    assert none.found is None and none.speedup is None and "no sampled front member within 1 point" in none.text()
