"""experiment=edge_search: its target, objectives and baselines, and the memory constraint on a Pi's memory."""

from __future__ import annotations

import pytest

from app.config import validate
from nas.factory import baseline_architecture
from search.analysis import analyze_architecture
from search.objectives import create_objectives, deployment_prediction
from search.preflight import check_baselines
from tests.conftest import compose_config


def edge(*extra: str):
    return validate(compose_config("experiment=edge_search", "analysis.plots=false", *extra, tiny=False))


def test_edge_search_targets_four_pis_and_ranks_by_deploys_prediction():
    cfg = edge()
    assert (cfg.data.name, cfg.hw.name, cfg.hw.units, cfg.deploy.costs) == (
        "fashion_mnist",
        "rpi3b_wifi",
        4,
        "predictor",
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
    cfg = edge()
    predicted = deployment_prediction(baseline_architecture("lcp:splits=4", cfg), cfg)
    assert 0 < predicted["deploy_latency_ms"] < predicted["deploy_single_ms"]


def test_a_baseline_parameter_is_checked():
    with pytest.raises(ValueError, match="generator lcp has no parameter 'split'"):
        baseline_architecture("lcp:split=4", edge())
