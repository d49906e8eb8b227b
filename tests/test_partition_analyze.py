"""The analysis API and task=analyze's concurrency report (task=survey: test_partition_survey.py)."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import validate
from nas.factory import create_architecture
from partition import metrics
from partition.analyze import Analyzer, PartitionOption, analyze, best_option, prepare
from partition.config import AnalysisConfig
from partition.task import concurrency_report
from tests.conftest import compose_config
from tests.test_partition_metrics import chains


@pytest.fixture(scope="module")
def dp_arch():
    return create_architecture("dp", 40, 1, staging="probabilistic", input_size=16)


def naive_communication(arch, assignment) -> int:
    """Λ straight from the DAG: each producer's tensor goes once to every other unit."""
    total = 0
    for u in arch:
        consumers = list(arch.successors(u))
        if consumers:
            units = {assignment[v] for v in consumers} | {assignment[u]}
            total += arch.edges[u, consumers[0]]["bytes"] * (len(units) - 1)
    return total


def test_analyze_reports_the_best_balanced_option(dp_arch):
    cfg = AnalysisConfig()
    result = analyze(dp_arch, 4, cfg)
    options = result.options
    assert [o.epsilon for o in options] == cfg.epsilons  # all ε < 4: one option each
    balanced = [o for o in options if o.balanced]
    assert balanced and result.cs == min(o.cs for o in balanced)
    best = options[result.best_option]
    assert result.assignment == best.assignment
    assert set(result.assignment) == set(dp_arch.nodes)  # canonical vertex ids, not str()-ed
    assert result.comm == naive_communication(dp_arch, result.assignment)
    for o in options:  # every option carries every metric, consistent with its assignment
        assert o.comm == naive_communication(dp_arch, o.assignment)
        assert sum(o.loads) == sum(dp_arch.nodes[v]["macs"] for v in dp_arch)
        assert o.imbalance == pytest.approx(max(o.loads) / (sum(o.loads) / 4))
        assert o.cs == pytest.approx(metrics.concurrency_score(o.imbalance, max(o.comm_norm, 1 / 4), result.eta))
    assert result.critical_path.vertices * 4 / 40 == pytest.approx(result.eta)
    assert 1.0 <= result.speedup_bound <= 4.0
    assert result.critical_path.flops <= result.total_flops


@settings(max_examples=25, deadline=None)
@given(
    generator=st.sampled_from(["er", "ba", "ws", "dp", "fb"]),
    seed=st.integers(0, 50),
    units=st.integers(2, 7),
    data=st.data(),
)
def test_communication_matches_the_dag_for_any_assignment(generator, seed, units, data):
    arch = create_architecture(generator, 16, seed, staging="probabilistic", input_size=16)
    prep = prepare(arch)
    parts = np.array(data.draw(st.lists(st.integers(0, units - 1), min_size=len(arch), max_size=len(arch))))
    assignment = dict(zip(prep.hypergraph.vertices, parts.tolist(), strict=True))
    assert metrics.communication(prep.hypergraph, parts, units) == naive_communication(arch, assignment)


def test_one_unit_has_no_communication_but_a_guarded_score(dp_arch):
    result = analyze(dp_arch, 1)
    assert result.comm == 0 and result.imbalance == 1.0 and result.speedup_bound == 1.0
    assert result.cs > 0  # Λ′ floored at comm_floor / n = 1
    assert set(result.assignment.values()) == {0}


def test_epsilons_that_allow_one_unit_are_skipped(dp_arch):
    result = analyze(dp_arch, 2)
    assert [o.epsilon for o in result.options] == [1.03, 1.1, 1.2, 1.3, 1.5]


def test_pure_chain_has_eta_n_and_no_speedup():
    for units in (2, 4):
        result = analyze(chains(1, 12), units)
        assert result.eta == pytest.approx(units)
        assert result.speedup_bound == pytest.approx(1.0)


def test_analyzer_runs_every_partitioner_and_the_heuristic_once(dp_arch):
    cfg = AnalysisConfig(partitioners=["metis", "heuristic"], epsilons=[1.1, 1.5])
    result = Analyzer(cfg)(dp_arch, 4, assignments=False)
    assert [(o.partitioner, o.epsilon) for o in result.options] == [("metis", 1.1), ("metis", 1.5), ("heuristic", None)]
    assert result.assignment is None and all(o.assignment is None for o in result.options)


def test_concurrency_report_writes_partition_and_plots(tmp_path):
    cfg = validate(compose_config("task=analyze", "hw.units=3", "nodes=12"))
    arch = create_architecture("dp", 12, 0, staging="probabilistic", input_size=16)
    concurrency = concurrency_report(arch, cfg, tmp_path / "architecture.json")
    assigned = concurrency.analysis.assignment
    assert set(assigned) == set(arch.nodes) and set(assigned.values()) <= {0, 1, 2}
    report = json.loads(json.dumps(concurrency.to_json()))  # the task's result must be JSON
    assert list(report) == [
        "eta",
        "cs",
        "comm",
        "comm_norm",
        "imbalance",
        "entropy",
        "critical_path",
        "speedup_bound",
        "total_flops",
        "min_edge_bytes",
        "partitioner",
        "epsilon",
        "units",
        "depth",
        "max_width",
        "width_profile",
        "options",
        "partition_path",
        "plots",
    ]
    assert report["units"] == 3 and list(report["critical_path"]) == ["vertices", "flops"]
    assert all("assignment" not in o for o in report["options"])
    saved = json.loads((tmp_path / "partition.json").read_text())
    assert saved["assignment"] == {str(v): u for v, u in assigned.items()}  # str() only in the file
    assert len(saved["options"]) == len(report["options"])
    assert saved["options"][saved["best_option"]]["assignment"] == saved["assignment"]
    for name in ("width_depth.png", "partition.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_units_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="hw.units must be >= 1"):  # the hw schema's check
        validate(compose_config("task=analyze", "hw.units=0"))
    cfg = validate(compose_config("task=analyze"))
    cfg.hw.units = 0  # bypass the schema to test the analysis's own guard
    arch = create_architecture("dp", 8, 0, input_size=16)
    with pytest.raises(ValueError, match="units must be >= 1, got 0"):
        concurrency_report(arch, cfg, tmp_path / "architecture.json")


def test_best_option_prefers_balanced_then_most_balanced():
    def option(cs, imbalance, balanced, comm=1):
        return PartitionOption("metis", 1.1, cs, comm, 1.0, imbalance, 1.0, 1, [1], balanced, None)

    # the piled-up option has the lowest CS but broke its bound
    assert best_option([option(3.0, 1.1, True), option(1.0, 3.5, False), option(2.5, 1.3, True)]) == 2
    assert best_option([option(2.0, 1.2, True, comm=5), option(2.0, 1.2, True, comm=4)]) == 1
    assert best_option([option(1.0, 3.5, False), option(4.0, 1.4, False)]) == 1
