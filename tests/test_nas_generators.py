import networkx as nx
import numpy as np
import pytest

from nas.dag import INPUT, OUTPUT, dfs_order, to_dag
from nas.generators import GENERATORS, create_generator


@pytest.mark.parametrize("name", GENERATORS.names())
def test_same_seed_same_graph(name):
    a, b = create_generator(name, n=30, seed=7), create_generator(name, n=30, seed=7)
    assert sorted(a.edges) == sorted(b.edges)
    assert a.number_of_nodes() == 30
    different = [sorted(create_generator(name, n=30, seed=s).edges) for s in range(5)]
    assert len({tuple(e) for e in different}) > 1  # the seed matters


@pytest.mark.parametrize(
    "name,bad",
    [
        ("er", {"p": 1.5}),
        ("ba", {"m": 0}),
        ("ws", {"k": 1}),
        ("ws", {"p": -0.1}),
        ("dp", {"beta": 1.0}),
        ("dp", {"alpha": -1.0}),
    ],
)
def test_bad_parameters_name_the_valid_range(name, bad):
    with pytest.raises(ValueError, match="must"):
        create_generator(name, n=20, seed=0, **bad)


def test_too_few_nodes_rejected():
    with pytest.raises(ValueError, match="nodes must be an integer >= 2"):
        create_generator("er", n=1)


def test_dp_edge_probability_follows_distance():
    """Frequency of an edge at ring distance d ≈ alpha·p·beta^d."""
    n, trials = 20, 300
    counts = np.zeros(n // 2 + 1)
    for seed in range(trials):
        for u, v in create_generator("dp", n=n, p=0.8, alpha=1.0, beta=0.6, seed=seed).edges:
            counts[min(abs(u - v), n - abs(u - v))] += 1
    pairs_at = np.array([0] + [n] * (n // 2 - 1) + [n // 2])  # pairs at each distance
    observed = counts[1:4] / (pairs_at[1:4] * trials)
    np.testing.assert_allclose(observed, [0.8 * 0.6**d for d in (1, 2, 3)], atol=0.03)


def test_dp_is_more_clustered_than_er_at_equal_edge_count():
    n, dp_clust, er_clust, dp_short, er_short = 40, [], [], [], []
    for seed in range(20):
        dp = create_generator("dp", n=n, seed=seed)
        p = dp.number_of_edges() / (n * (n - 1) / 2)
        er = create_generator("er", n=n, p=p, seed=seed)
        for graph, clust, short in ((dp, dp_clust, dp_short), (er, er_clust, er_short)):
            clust.append(nx.average_clustering(graph))
            dist = [min(abs(u - v), n - abs(u - v)) for u, v in graph.edges]
            short.append(np.mean(np.array(dist) <= 2))
    assert np.mean(dp_clust) > 2 * np.mean(er_clust)
    assert np.mean(dp_short) > 0.6 > 0.2 > np.mean(er_short)


def test_dfs_visits_smaller_ids_first():
    graph = nx.Graph([(0, 3), (0, 1), (1, 2), (3, 4), (2, 4)])
    # DFS from 0: 0 → 1 → 2 → 4 → 3
    assert dfs_order(graph) == {0: 0, 1: 1, 2: 2, 4: 3, 3: 4}
    dag = to_dag(graph, "dfs")
    assert dag.has_edge(4, 3) and dag.has_edge(0, 3)
    assert to_dag(graph, "index").has_edge(3, 4)


@pytest.mark.parametrize("name", GENERATORS.names())
@pytest.mark.parametrize("orientation", ["dfs", "index"])
def test_dag_has_one_source_one_sink_and_no_cycle(name, orientation):
    for seed in range(15):
        dag = to_dag(create_generator(name, n=25, seed=seed), orientation)
        assert nx.is_directed_acyclic_graph(dag)
        assert [v for v in dag if dag.in_degree(v) == 0] == [INPUT]
        assert [v for v in dag if dag.out_degree(v) == 0] == [OUTPUT]
        assert dag.number_of_nodes() == 27


def test_disconnected_graph_and_isolated_vertices():
    graph = nx.Graph()
    graph.add_nodes_from(range(5))
    graph.add_edge(3, 4)
    dag = to_dag(graph)
    assert set(dag.successors(INPUT)) == {0, 1, 2, 3}
    assert set(dag.predecessors(OUTPUT)) == {0, 1, 2, 4}
