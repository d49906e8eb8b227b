"""The one list scheduler (hw/schedule.py) and HEFT against schedules computed by hand."""

import networkx as nx
import pytest

from hw.runtime.plan import build_plan, execution_order
from hw.schedule import IMAGE, OUTPUT, ROOT, complete_assignment, heft_assignment, root_first, simulate
from hw.target import Link, Target, fit_link

# 1 MB/s links with 0.1 s latency: a 100 kB tensor takes 0.1 + 0.1 = 0.2 s to move.
KB100 = 100_000
T = 0.2
FREE = 1e30  # a bandwidth that makes bytes free: messages cost their latency only


def target(units=2, contention=False, bandwidth=1e6, latency_s=0.1):
    return Target("test", units, 1e9, Link(latency_s, bandwidth), contention)


def dag(edges, nbytes=KB100):
    """Every vertex outputs a flat tensor of `nbytes` bytes; a 1-channel 1-px image."""
    graph = nx.DiGraph(input_size=1, in_channels=1)
    graph.add_edges_from(edges)
    nx.set_node_attributes(graph, nbytes // 4, "channels")
    nx.set_node_attributes(graph, 0, "size")
    return graph


def chain():
    return dag([("input", 0), (0, 1), (1, "output")])


def fork_join():
    return dag([("input", "a"), ("input", "b"), ("a", "output"), ("b", "output")])


CHAIN_TIMES = {"input": 1.0, 0: 2.0, 1: 3.0, "output": 4.0}
FORK_TIMES = {"input": 1.0, "a": 5.0, "b": 3.0, "output": 1.0}


def test_chain_on_one_unit_is_the_sum():
    schedule = simulate(chain(), {v: 0 for v in chain()}, CHAIN_TIMES, target())
    assert schedule.makespan == pytest.approx(10.0)
    assert schedule.start == pytest.approx({"input": 0.0, 0: 1.0, 1: 3.0, "output": 6.0})
    assert schedule.transfers == []


def test_chain_split_in_two_pays_one_transfer_and_the_logits_return():
    schedule = simulate(chain(), {"input": 0, 0: 0, 1: 1, "output": 1}, CHAIN_TIMES, target())
    # 1 + 2, then 0.2 s on the link, then 3 + 4, then the logits back to the root
    assert schedule.start[1] == pytest.approx(3 + T)
    assert schedule.makespan == pytest.approx(1 + 2 + T + 3 + 4 + T)
    assert [(t.tensor, t.src, t.dst, t.nbytes) for t in schedule.transfers] == [
        (0, 0, 1, KB100),
        (OUTPUT, 1, ROOT, KB100),
    ]


def test_a_stem_off_the_root_first_receives_the_image():
    schedule = simulate(chain(), {v: 1 for v in chain()}, CHAIN_TIMES, target(bandwidth=FREE))
    assert schedule.start["input"] == pytest.approx(0.1)
    assert [(t.tensor, t.src, t.dst) for t in schedule.transfers] == [(IMAGE, ROOT, 1), (OUTPUT, 1, ROOT)]
    assert root_first({v: 1 for v in chain()}) == {v: 0 for v in chain()}


def test_fork_join_overlaps_branches_on_two_units():
    assignment = {"input": 0, "a": 0, "b": 1, "output": 0}
    schedule = simulate(fork_join(), assignment, FORK_TIMES, target())
    # b: starts at 1 + T, ends 4.2, its output reaches unit 0 at 4.4; a ends at 6
    assert schedule.finish["b"] == pytest.approx(1 + T + 3)
    assert schedule.start["output"] == pytest.approx(6.0)
    assert schedule.makespan == pytest.approx(7.0)  # single unit: 10


def test_fork_join_with_a_slow_link_is_slower_than_one_unit():
    assignment = {"input": 0, "a": 0, "b": 1, "output": 0}
    schedule = simulate(fork_join(), assignment, FORK_TIMES, target(latency_s=3.0, bandwidth=1e9))
    t = 3.0 + KB100 / 1e9
    # input → b: arrives 1 + t; b ends 4 + t; back at 4 + 2t > a's end (6)
    assert schedule.start["output"] == pytest.approx(4 + 2 * t)
    assert schedule.makespan == pytest.approx(5 + 2 * t) and schedule.makespan > sum(FORK_TIMES.values())


def test_tensor_is_sent_once_per_destination_unit():
    graph = dag([("input", "x"), ("input", "y"), ("input", "z"), ("x", "output"), ("y", "output"), ("z", "output")])
    times = {"input": 1.0, "x": 1.0, "y": 1.0, "z": 1.0, "output": 1.0}
    schedule = simulate(graph, {"input": 0, "x": 1, "y": 1, "z": 1, "output": 0}, times, target())
    assert [(t.tensor, t.src, t.dst) for t in schedule.transfers][0] == ("input", 0, 1)
    assert [t.tensor for t in schedule.transfers].count("input") == 1
    assert schedule.start["x"] == pytest.approx(1 + T)


def test_contention_serialises_a_units_outgoing_transfers():
    graph = dag([("input", "x"), ("input", "y"), ("x", "output"), ("y", "output")])
    times = {"input": 1.0, "x": 1.0, "y": 1.0, "output": 1.0}
    assignment = {"input": 0, "x": 1, "y": 2, "output": 0}
    free = simulate(graph, assignment, times, target(units=3))
    shared = simulate(graph, assignment, times, target(units=3, contention=True))
    assert free.start["y"] == pytest.approx(1 + T)
    # the second send waits for the first one's wire time (0.1 s)
    assert shared.start["y"] == pytest.approx(1 + 0.1 + T)


def test_ready_order_runs_what_can_start_first():
    # unit 0 holds a (needs a remote input) and z (local); topological order puts a first
    graph = dag([("input", "r"), ("r", "a"), ("input", "z"), ("a", "output"), ("z", "output")])
    times = {"input": 1.0, "r": 1.0, "a": 1.0, "z": 2.0, "output": 1.0}
    assignment = {"input": 0, "r": 1, "a": 0, "z": 0, "output": 0}
    ready = simulate(graph, assignment, times, target(), order="ready")
    static = simulate(graph, assignment, times, target(), order="topological")
    # ready: z runs 1-3 while r's output travels (arrives 1 + T + 1 + T = 2.4), a 3-4
    assert ready.start["z"] == pytest.approx(1.0) and ready.start["a"] == pytest.approx(3.0)
    # topological: a waits for its input (2.4-3.4), then z 3.4-5.4
    assert static.start["a"] == pytest.approx(2.4) and static.start["z"] == pytest.approx(3.4)
    assert ready.makespan == pytest.approx(5.0) and static.makespan == pytest.approx(6.4)


def test_ties_go_to_the_longest_remaining_path():
    # unit 0 can start a (short tail, first in topological order) and b (long tail) at 1: b goes first
    graph = dag([("input", "a"), ("input", "b"), ("b", "c"), ("a", "output"), ("c", "output")])
    times = {"input": 1.0, "a": 1.0, "b": 1.0, "c": 5.0, "output": 1.0}
    schedule = simulate(graph, {"input": 0, "a": 0, "b": 0, "c": 1, "output": 0}, times, target(bandwidth=FREE))
    assert schedule.start["b"] == pytest.approx(1.0) and schedule.start["a"] == pytest.approx(2.0)


def test_missing_terminals_go_to_the_root():
    full = complete_assignment(fork_join(), {"a": 1, "b": 1}, units=2)
    assert full["input"] == full["output"] == ROOT


@pytest.mark.parametrize(
    "assignment,match",
    [
        ({"input": 0, "a": 0, "b": 2, "output": 0}, r"units \[2\], but units are integers 0..1"),
        ({"input": 0, "a": True, "b": 0, "output": 0}, "units are integers"),
        ({"input": 0, "a": 0, "output": 0}, "1 compute vertices without a unit"),
        ({"input": 0, "a": 0, "b": 0, "output": 0, "zz": 0}, "not in the architecture"),
    ],
)
def test_bad_assignments_are_rejected(assignment, match):
    with pytest.raises(ValueError, match=match):
        simulate(fork_join(), assignment, FORK_TIMES, target())


def test_heft_splits_a_fork_and_keeps_a_slow_link_on_one_unit():
    costs = {"input": 1.0, "a": 2.0, "b": 2.0, "output": 1.0}
    fast = heft_assignment(fork_join(), costs, target(latency_s=0.5, bandwidth=FREE))
    assert fast["a"] != fast["b"] and fast["input"] == fast["output"] == ROOT
    slow = target(latency_s=10.0, bandwidth=FREE)
    assert set(heft_assignment(fork_join(), costs, slow).values()) == {0}
    assert simulate(fork_join(), {"a": 1, "b": 0}, costs, slow).makespan == pytest.approx(1 + 10 + 2 + 10 + 1)


def test_schedule_order_is_a_valid_execution_order():
    from nas.factory import create_architecture

    arch = create_architecture(
        "dp",
        20,
        1,
        staging="probabilistic",
        staging_params={"channels": 8, "max_channels": 32},
        input_size=16,
        num_classes=10,
    )
    costs = {v: 1e-3 + d["macs"] * 1e-9 for v, d in arch.nodes(data=True)}
    assignment = heft_assignment(arch, costs, target(units=3))
    schedule = simulate(arch, assignment, costs, target(units=3))
    assert execution_order(arch, schedule.order) == schedule.order
    plan = build_plan(arch, assignment, 3, schedule.order)
    # the plan sends exactly the messages the schedule counts
    assert {(t.tensor, t.src, t.dst) for t in plan.transfers} == {(t.tensor, t.src, t.dst) for t in schedule.transfers}
    assert plan.bytes == schedule.communication_bytes()
    with pytest.raises(ValueError, match="before its input"):
        execution_order(arch, list(reversed(schedule.order)))


def test_link_fit_recovers_latency_and_bandwidth():
    sizes = [1000, 100_000, 1_000_000]
    samples = {n: [0.05 + n / 2e9 * 1e3] * 5 for n in sizes}  # ms: 50 µs + bytes / 2 GB/s
    link = fit_link(samples)
    assert link.latency_s == pytest.approx(5e-5, rel=1e-6) and link.bandwidth_bytes_s == pytest.approx(2e9, rel=1e-6)
    assert link.to_json() == pytest.approx({"latency_ms": 0.05, "bandwidth_mbps": 16000.0})
