"""The schedule model the workers follow, against hand-computed schedules."""
import pytest

from hw.runtime.plan import build_plan, execution_order
from hw.runtime.schedule import Link, fit_link, heft_assignment, simulate
from nas.arch import from_json

NO_BANDWIDTH_COST = 1e30


def bare(nodes, edges):
    return from_json({"nodes": [{"id": v} for v in nodes], "edges": [{"source": u, "target": v} for u, v in edges],
                      "graph": {"input_size": 8, "num_classes": 3}})


def test_chain_alternating_units_pays_every_hop():
    arch = bare([0, 1], [(0, 1)])  # input → 0 → 1 → output
    costs = {"input": 1.0, "0": 1.0, "1": 1.0, "output": 1.0}
    link = Link(latency_s=0.5, bandwidth_bytes_s=NO_BANDWIDTH_COST)
    schedule = simulate(arch, {"input": 0, "0": 1, "1": 0, "output": 0}, costs, 2, link)
    # input 0–1 | hop | 0 on unit 1: 1.5–2.5 | hop | 1: 3–4 | output 4–5
    assert schedule.start == {"input": 0.0, "0": 1.5, "1": 3.0, "output": 4.0}
    assert schedule.makespan == pytest.approx(5.0)


def test_fork_join_overlaps_the_branches():
    arch = bare([0, 1], [])  # input → {0, 1} → output
    costs = {"input": 1.0, "0": 2.0, "1": 2.0, "output": 1.0}
    link = Link(latency_s=0.5, bandwidth_bytes_s=NO_BANDWIDTH_COST)
    schedule = simulate(arch, {"0": 1, "1": 0}, costs, 2, link)
    # branch 0 on unit 1: 1.5–3.5, back at 4; branch 1 on unit 0: 1–3; output 4–5
    assert schedule.start["0"] == 1.5 and schedule.start["1"] == 1.0
    assert schedule.makespan == pytest.approx(5.0)
    assert sum(costs.values()) / schedule.makespan == pytest.approx(1.2)
    assert heft_assignment(arch, costs, 2, link)["0"] != heft_assignment(arch, costs, 2, link)["1"]


def test_slow_link_keeps_everything_on_one_unit():
    arch = bare([0, 1], [])
    costs = {"input": 1.0, "0": 2.0, "1": 2.0, "output": 1.0}
    slow = Link(latency_s=10.0, bandwidth_bytes_s=NO_BANDWIDTH_COST)
    assignment = heft_assignment(arch, costs, 2, slow)
    assert set(assignment.values()) == {0}
    assert simulate(arch, assignment, costs, 2, slow).makespan == pytest.approx(6.0)
    assert simulate(arch, {"0": 1, "1": 0}, costs, 2, slow).makespan == pytest.approx(1 + 2 + 10 + 10 + 1)


def test_bandwidth_term_counts_each_tensor_once_per_unit():
    arch = bare([0, 1, 2], [(0, 1), (0, 2)])  # vertex 0 feeds 1 and 2, both on the other unit
    costs = {v: 1.0 for v in ("input", "0", "1", "2", "output")}
    nbytes = arch.edges[0, 1]["bytes"]
    link = Link(latency_s=0.0, bandwidth_bytes_s=nbytes / 3.0)  # 3 s per copy of vertex 0's tensor
    schedule = simulate(arch, {"0": 0, "1": 1, "2": 1}, costs, 2, link)
    # 0 ends at 2; one copy arrives at 5; 1: 5–6, 2: 6–7 (not a second 3 s transfer)
    assert sorted([schedule.start["1"], schedule.start["2"]]) == [5.0, 6.0]


def test_schedule_order_is_a_valid_execution_order():
    from nas.factory import create_architecture

    arch = create_architecture("dp", 20, 1, staging="probabilistic", staging_params={"channels": 8, "max_channels": 32},
                               input_size=16, num_classes=10)
    costs = {str(v): 1e-3 + d["macs"] * 1e-9 for v, d in arch.nodes(data=True)}
    assignment = heft_assignment(arch, costs, 3, Link())
    order = simulate(arch, assignment, costs, 3, Link()).order
    assert execution_order(arch, order) == order
    plan = build_plan(arch, assignment, 3, order)
    assert [s.vertex for r in plan.ranks for s in r.steps if s.vertex in order]  # builds
    with pytest.raises(ValueError, match="before its input"):
        execution_order(arch, list(reversed(order)))


def test_link_fit_recovers_latency_and_bandwidth():
    sizes = [1000, 100_000, 1_000_000]
    samples = {n: [0.05 + n / 2e9 * 1e3] * 5 for n in sizes}  # ms: 50 µs + bytes / 2 GB/s
    link = fit_link(samples)
    assert link.latency_s == pytest.approx(5e-5, rel=1e-6) and link.bandwidth_bytes_s == pytest.approx(2e9, rel=1e-6)
