"""Concurrency metrics against hand-computed answers (docs/method.md §2)."""

import math

import networkx as nx
import numpy as np
import pytest

from nas.arch import from_json
from partition import metrics
from partition.hypergraph import Hypergraph, from_architecture
from partition.paths import path_stats


def bare(dag: nx.DiGraph) -> nx.DiGraph:
    """A bare DAG completed into an annotated architecture (uniform blocks)."""
    return from_json(nx.node_link_data(dag, edges="edges"), input_size=16, num_classes=10)


def chains(k: int, length: int) -> nx.DiGraph:
    dag = nx.DiGraph()
    for c in range(k):
        nx.add_path(dag, range(c * length, (c + 1) * length))
    return bare(dag)


def layered(widths: list[int]) -> nx.DiGraph:
    """Consecutive layers fully connected to each other."""
    dag, start, previous = nx.DiGraph(), 0, []
    for w in widths:
        layer = list(range(start, start + w))
        dag.add_nodes_from(layer)
        dag.add_edges_from((u, v) for u in previous for v in layer)
        previous, start = layer, start + w
    return bare(dag)


# Five vertices; net 0 is a tensor of vertex 0 consumed by 1, 2 and 3.
HG = Hypergraph.from_nets(
    weights=[4, 2, 2, 2, 6],
    nets=[[0, 1, 2, 3], [1, 4], [2, 4], [3, 4]],
    costs=[10, 4, 6, 8],
)


def test_communication_with_a_tensor_on_three_units():
    parts = np.array([0, 1, 2, 0, 1])  # net 0 touches units {0, 1, 2}: sent to 2 other units
    assert list(metrics.connectivity(HG, parts, 3)) == [3, 1, 2, 2]
    assert metrics.communication(HG, parts, 3) == 10 * 2 + 0 + 6 + 8  # = 34
    assert HG.min_cost == 4
    assert metrics.comm_norm(34, HG.min_cost, 3) == pytest.approx(34 / 12)


def test_tensor_sent_once_per_unit_not_per_consumer():
    # consumers 1, 2, 3 all on unit 1, producer on 0: one send of net 0; nets 1-3 stay local
    parts = np.array([0, 1, 1, 1, 1])
    assert metrics.communication(HG, parts, 2) == 10
    # every pin of net 0 on its own unit: γ = 4, three sends
    parts = np.array([0, 1, 2, 3, 3])
    assert metrics.communication(HG, parts, 4) == 10 * 3 + 4 + 6


def test_uncut_partition_has_no_communication():
    assert metrics.communication(HG, np.zeros(5, dtype=np.int64), 1) == 0


def test_loads_imbalance_and_entropy():
    parts = np.array([0, 1, 2, 0, 1])
    loads = metrics.loads(HG.weights, parts, 3)
    assert list(loads) == [6, 8, 2]  # 4+2, 2+6, 2
    assert metrics.imbalance(loads) == pytest.approx(8 / (16 / 3))
    assert metrics.imbalance(np.array([3.0, 3.0, 3.0])) == 1.0
    assert metrics.imbalance(np.array([9.0, 0.0, 0.0])) == pytest.approx(3.0)
    assert metrics.load_entropy(np.array([1.0, 1.0, 1.0, 1.0])) == pytest.approx(1.0)
    assert metrics.load_entropy(np.array([4.0, 0.0, 0.0, 0.0])) == pytest.approx(0.0)
    expected = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)) / math.log(3)
    assert metrics.load_entropy(np.array([2.0, 1.0, 1.0])) == pytest.approx(expected)  # ≈ 0.9464


def test_concurrency_score_from_given_inputs():
    # (1.2 · 4^1.5 · 2)^(1/3) = (1.2 · 8 · 2)^(1/3) = 19.2^(1/3)
    assert metrics.concurrency_score(1.2, 4.0, 2.0) == pytest.approx(19.2 ** (1 / 3))
    # exponents a=2, b=1, c=0: (1.44 · 4)^(1/3)
    assert metrics.concurrency_score(1.2, 4.0, 2.0, a=2, b=1, c=0) == pytest.approx(5.76 ** (1 / 3))
    # zero Λ′ floored at 1/4: (1.2 · 0.25^1.5 · 2)^(1/3) = 0.3^(1/3)
    assert metrics.concurrency_score(1.2, 0.0, 2.0, min_comm_norm=0.25) == pytest.approx(0.3 ** (1 / 3))
    assert metrics.concurrency_score(1.2, 0.0, 2.0) == 0.0  # unguarded: the degenerate zero
    assert metrics.concurrency_score(1.2, 4.0, 2.0, min_comm_norm=0.25) == pytest.approx(19.2 ** (1 / 3))


@pytest.mark.parametrize("length, units", [(6, 3), (10, 4), (5, 1)])
def test_eta_of_a_pure_chain_is_n(length, units):
    stats = path_stats(chains(1, length))
    assert stats.longest_path == length and stats.compute_vertices == length
    assert metrics.eta(stats.longest_path, stats.compute_vertices, units) == pytest.approx(units)


def test_eta_of_parallel_chains():
    stats = path_stats(chains(3, 4))  # |V| = 12, longest path 4 → η = 4 · n / 12
    assert (stats.longest_path, stats.compute_vertices) == (4, 12)
    assert metrics.eta(4, 12, 3) == pytest.approx(1.0)
    assert metrics.eta(4, 12, 6) == pytest.approx(2.0)


def test_eta_and_width_profile_of_a_layered_graph():
    stats = path_stats(layered([2, 4, 3]))  # |V| = 9, longest path 3
    assert (stats.longest_path, stats.compute_vertices) == (3, 9)
    assert metrics.eta(stats.longest_path, stats.compute_vertices, 4) == pytest.approx(3 * 4 / 9)
    assert stats.width_profile() == {1: 2, 2: 4, 3: 3}
    assert stats.depth["input"] == 0 and stats.depth["output"] == 4


def test_critical_path_and_speedup_bound_by_hand():
    # input(2) → a(5) → output(3); input → b(7) → c(1) → output: heaviest 2+7+1+3 = 13
    dag = nx.DiGraph()
    dag.add_edges_from([("input", "a"), ("a", "output"), ("input", "b"), ("b", "c"), ("c", "output")])
    nx.set_node_attributes(dag, {"input": 2, "a": 5, "b": 7, "c": 1, "output": 3}, "macs")
    stats = path_stats(dag, ["input", "a", "b", "c", "output"])
    assert stats.critical_macs == 13 and stats.total_macs == 18
    assert stats.critical_path == ["input", "b", "c", "output"]
    assert stats.longest_path == 2 and stats.compute_vertices == 3
    assert metrics.speedup_bound(4, 18, 13) == pytest.approx(18 / 13)
    assert metrics.speedup_bound(1, 18, 13) == 1.0


def test_chain_speedup_bound_is_one_and_parallel_chains_approach_k():
    chain = path_stats(chains(1, 8))
    assert metrics.speedup_bound(4, chain.total_macs, chain.critical_macs) == pytest.approx(1.0)
    wide = path_stats(chains(4, 8))
    bound = metrics.speedup_bound(4, wide.total_macs, wide.critical_macs)
    assert 2.0 < bound < 4.0  # the shared stem and head keep it below k


def test_hypergraph_of_an_architecture_has_one_net_per_producer():
    arch = layered([2, 3])
    hg = from_architecture(arch)
    producers = [v for v in arch if arch.out_degree(v) > 0]
    assert hg.num_nets == len(producers)  # input, 2 + 3 compute vertices (output produces nothing)
    for j in range(hg.num_nets):
        net = [hg.vertices[i] for i in hg.net(j)]
        assert set(net[1:]) == set(arch.successors(net[0]))
        assert hg.costs[j] == arch.edges[net[0], net[1]]["bytes"]
    assert int(hg.weights.sum()) == sum(arch.nodes[v]["macs"] for v in arch)
    assert [hg.vertices[i] for i in np.flatnonzero(~hg.compute)] == ["input", "output"]


def test_from_nets_rejects_bad_nets():
    with pytest.raises(ValueError, match="net"):
        Hypergraph.from_nets([1, 1], [[0]], [1])
    with pytest.raises(ValueError, match="net"):
        Hypergraph.from_nets([1, 1], [[0, 2]], [1])
