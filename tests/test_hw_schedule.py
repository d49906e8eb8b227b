"""The list-scheduling simulator against schedules computed by hand."""
import networkx as nx
import pytest

from hw.schedule import complete_assignment, simulate
from hw.target import Target

# 1 MB/s links with 0.1 s latency: a 100 kB tensor takes 0.1 + 0.1 = 0.2 s to move.
KB100 = 100_000
T = 0.2


def target(units=2, contention=False, bandwidth_bps=8e6, latency_s=0.1):
    return Target("test", units, 1e9, bandwidth_bps, latency_s, contention)


def dag(edges, nbytes=KB100):
    graph = nx.DiGraph()
    graph.add_edges_from(edges, bytes=nbytes)
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


def test_chain_split_in_two_pays_one_transfer():
    schedule = simulate(chain(), {"input": 0, 0: 0, 1: 1, "output": 1}, CHAIN_TIMES, target())
    # 1 + 2, then 0.2 s on the link, then 3 + 4
    assert schedule.makespan == pytest.approx(1 + 2 + T + 3 + 4)
    assert schedule.start[1] == pytest.approx(3 + T)
    assert len(schedule.transfers) == 1 and schedule.transfers[0].nbytes == KB100


def test_fork_join_overlaps_branches_on_two_units():
    assignment = {"input": 0, "a": 0, "b": 1, "output": 0}
    schedule = simulate(fork_join(), assignment, FORK_TIMES, target())
    # b: starts at 1 + T, ends 4.2, its output reaches unit 0 at 4.4; a ends at 6
    assert schedule.finish["b"] == pytest.approx(1 + T + 3)
    assert schedule.start["output"] == pytest.approx(6.0)
    assert schedule.makespan == pytest.approx(7.0)  # single unit: 10
    assert sum(FORK_TIMES.values()) / schedule.makespan == pytest.approx(10 / 7)


def test_fork_join_with_a_slow_link_is_slower_than_one_unit():
    slow = target(latency_s=3.0, bandwidth_bps=8e9)  # ~3 s per message
    assignment = {"input": 0, "a": 0, "b": 1, "output": 0}
    schedule = simulate(fork_join(), assignment, FORK_TIMES, slow)
    t = 3.0 + 8 * KB100 / 8e9
    # input → b: arrives 1 + t; b ends 4 + t; back at 4 + 2t = 10.0002 > a's end (6)
    assert schedule.start["output"] == pytest.approx(4 + 2 * t)
    assert schedule.makespan == pytest.approx(5 + 2 * t)
    assert schedule.makespan > sum(FORK_TIMES.values())


def test_tensor_is_sent_once_per_destination_unit():
    graph = dag([("input", "x"), ("input", "y"), ("input", "z"), ("x", "output"), ("y", "output"), ("z", "output")])
    times = {"input": 1.0, "x": 1.0, "y": 1.0, "z": 1.0, "output": 1.0}
    schedule = simulate(graph, {"input": 0, "x": 1, "y": 1, "z": 1, "output": 1}, times, target())
    assert [(t.tensor, t.source, t.destination) for t in schedule.transfers] == [("input", 0, 1)]
    assert schedule.start["x"] == pytest.approx(1 + T)
    assert schedule.makespan == pytest.approx(1 + T + 3 + 1)  # x, y, z one after another


def test_contention_serialises_a_units_outgoing_transfers():
    graph = dag([("input", "x"), ("input", "y"), ("x", "output"), ("y", "output")])
    times = {"input": 1.0, "x": 1.0, "y": 1.0, "output": 1.0}
    assignment = {"input": 0, "x": 1, "y": 2, "output": 1}
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


def test_missing_terminals_are_placed_with_their_neighbours():
    full = complete_assignment(fork_join(), {"a": 1, "b": 1}, units=2)
    assert full["input"] == 1 and full["output"] == 1


@pytest.mark.parametrize("assignment,match", [
    ({"input": 0, "a": 0, "b": 2, "output": 0}, "units"),
    ({"input": 0, "a": 0, "output": 0}, "misses"),
    ({"input": 0, "a": 0, "b": 0, "output": 0, "zz": 0}, "not in the architecture"),
])
def test_bad_assignments_are_rejected(assignment, match):
    with pytest.raises(ValueError, match=match):
        simulate(fork_join(), assignment, FORK_TIMES, target())
