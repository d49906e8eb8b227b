"""Partitioners: interface contract for every registered one, plus known optima."""

import numpy as np
import pytest

from nas.factory import create_architecture
from partition import metrics
from partition.analyze import Analyzer, Prepared
from partition.config import AnalysisConfig
from partition.hypergraph import Hypergraph, from_architecture
from partition.partitioners import PARTITIONERS, clique_expansion, compute_groups, create_partitioner
from partition.paths import path_stats
from tests.test_partition_metrics import chains


def bare_chains(k: int, length: int) -> Hypergraph:
    """The hypergraph of k parallel chains alone (no input/output vertices), unit costs."""
    nets = [[c * length + i, c * length + i + 1] for c in range(k) for i in range(length - 1)]
    return Hypergraph.from_nets([1] * (k * length), nets, [1] * len(nets))


@pytest.fixture(scope="module")
def er_hypergraph() -> Hypergraph:
    return from_architecture(create_architecture("er", 24, 3, staging="probabilistic", input_size=16))


@pytest.mark.parametrize("name", PARTITIONERS.names())
@pytest.mark.parametrize("units", [1, 2, 5])
def test_every_partitioner_returns_a_valid_deterministic_assignment(name, units, er_hypergraph):
    partitioner = create_partitioner(name)
    parts = partitioner(er_hypergraph, units, 1.2, seed=0)
    assert parts.shape == (er_hypergraph.num_vertices,)
    assert parts.min() >= 0 and parts.max() < units
    assert np.array_equal(parts, partitioner(er_hypergraph, units, 1.2, seed=0))
    if units > 1:
        assert len(np.unique(parts)) > 1, "distributes nothing"


@pytest.mark.parametrize("name", ["metis", "kahypar"])
@pytest.mark.parametrize("k, length", [(2, 5), (3, 4), (4, 6), (8, 3)])
def test_k_parallel_chains_on_k_units_each_chain_on_its_own_unit(name, k, length):
    hg = bare_chains(k, length)
    for eps in (1.03, 1.1, 1.2, 1.5):
        parts = create_partitioner(name)(hg, k, eps)
        units = [set(parts[c * length : (c + 1) * length].tolist()) for c in range(k)]
        assert all(len(u) == 1 for u in units), (eps, parts)
        assert len(set().union(*units)) == k, (eps, parts)
        assert metrics.communication(hg, parts, k) == 0


@pytest.mark.parametrize("k, length", [(2, 5), (4, 6), (8, 3)])
def test_analysis_of_bare_chains_picks_the_chain_separation(k, length):
    arch = chains(k, length)
    hg = bare_chains(k, length)
    prep = Prepared(hg, path_stats(arch))  # the chains' own hypergraph, without stem and head
    result = Analyzer()(prep, k)
    assert result.comm == 0 and result.imbalance == pytest.approx(1.0)
    assert result.eta == pytest.approx(1.0)  # longest path L, |V| = kL, n = k
    parts = result.assignment
    chain_units = [{parts[c * length + i] for i in range(length)} for c in range(k)]
    assert all(len(u) == 1 for u in chain_units) and len(set().union(*chain_units)) == k


@pytest.mark.parametrize("k, length", [(4, 6), (8, 3)])
def test_full_chain_architecture_is_split_as_well_as_the_chain_separation(k, length):
    """With stem and head in the partition, separating the chains costs 2(k−1) tensors
    (stem broadcast + gather); the analysis must find a partition at least that good."""
    arch = chains(k, length)
    lam = arch.edges[0, 1]["bytes"]
    result = Analyzer()(arch, k)
    weights = {v: arch.nodes[v]["macs"] for v in arch}
    loads = np.full(k, length * weights[0], dtype=float)
    loads[0] += weights["input"]
    loads[-1] += weights["output"]
    assert result.comm <= 2 * (k - 1) * lam
    assert result.imbalance <= metrics.imbalance(loads) + 1e-9


def test_heuristic_groups_chains_and_gathers_on_the_last_unit():
    k, length = 3, 4
    arch = chains(k, length)
    hg = from_architecture(arch)
    parts = create_partitioner("heuristic")(hg, k + 1, 1.0)
    assignment = dict(zip(hg.vertices, parts.tolist(), strict=True))
    assert assignment["input"] == assignment["output"] == k  # the gather unit
    chain_units = [{assignment[v] for v in range(c * length, (c + 1) * length)} for c in range(k)]
    assert sorted(u.pop() for u in chain_units) == [0, 1, 2]
    # stem tensor to k other units, each chain's last tensor back to the gather unit
    lam_stem = arch.edges["input", 0]["bytes"]
    lam_last = arch.edges[length - 1, "output"]["bytes"]
    assert metrics.communication(hg, parts, k + 1) == k * lam_stem + k * lam_last


def test_heuristic_assigns_groups_largest_first(er_hypergraph):
    hg = er_hypergraph
    groups = compute_groups(hg)
    parts = create_partitioner("heuristic")(hg, 4, 1.0)
    for group in groups:  # a connected group never straddles units
        assert len(set(parts[group].tolist())) == 1
    heaviest = max(groups, key=lambda g: int(hg.weights[g].sum()))
    assert set(parts[heaviest].tolist()) == {0}  # largest first, onto the first empty unit
    assert set(parts[~hg.compute].tolist()) == {3}


def test_clique_expansion_weights_by_hand():
    # net [0,1,2] cost 10 → each pair 10/2 = 5; net [1,2] cost 4 → pair (1,2) gets 4 more
    hg = Hypergraph.from_nets([1, 1, 1], [[0, 1, 2], [1, 2]], [10, 4])
    xadj, adjncy, weights = clique_expansion(hg)
    edges = {(u, int(adjncy[i])): int(weights[i]) for u in range(3) for i in range(xadj[u], xadj[u + 1])}
    assert edges == {(0, 1): 5, (0, 2): 5, (1, 0): 5, (2, 0): 5, (1, 2): 9, (2, 1): 9}


def test_metis_respects_a_loose_bound_less_than_a_tight_one(er_hypergraph):
    metis = create_partitioner("metis")
    tight = metrics.imbalance(metrics.loads(er_hypergraph.weights, metis(er_hypergraph, 4, 1.03), 4))
    loose_parts = metis(er_hypergraph, 4, 2.0)
    tight_comm = metrics.communication(er_hypergraph, metis(er_hypergraph, 4, 1.03), 4)
    assert metrics.communication(er_hypergraph, loose_parts, 4) <= tight_comm
    assert tight <= 1.3


def test_unknown_partitioner_and_bad_settings_are_rejected():
    with pytest.raises(KeyError, match="unknown partitioner"):
        create_partitioner("nope")
    with pytest.raises(ValueError, match="metis_mode"):
        create_partitioner("metis", metis_mode="fast")
    with pytest.raises(ValueError, match="partitioners"):
        AnalysisConfig(partitioners=["nope"])
    with pytest.raises(ValueError, match="epsilons"):
        AnalysisConfig(epsilons=[0.9])
    with pytest.raises(FileNotFoundError, match="preset"):
        create_partitioner("kahypar", kahypar_preset="/nonexistent.ini")
