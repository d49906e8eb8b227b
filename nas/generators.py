"""Random undirected graph generators (docs/method.md §1): ER, BA, WS and the paper's DP.

Each returns an undirected `networkx.Graph` on vertices 0..n-1; the same seed always
gives the same graph. Parameter checks raise `ValueError` naming the valid range;
parameter defaults are the `generator` schemas' (nas/config.py).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from nas.checks import require
from nas.config import BAConfig, DPConfig, ERConfig, WSConfig
from nas.registry import Registry

GENERATORS: Registry = Registry("generator")
register_generator = GENERATORS.register


def create_generator(name: str, **params) -> nx.Graph:
    """Build the graph of generator `name`; `params` are its own (n, seed, p, m, k, …)."""
    return GENERATORS.create(name, **params)


def _check_n(n: int, minimum: int = 2) -> None:
    require(isinstance(n, int) and n >= minimum, f"nodes must be an integer >= {minimum}, got {n!r}")


def _check_probability(name: str, value: float) -> None:
    require(0.0 <= value <= 1.0, f"{name} must be in [0, 1], got {value}")


@register_generator("er")
def erdos_renyi(n: int, p: float = ERConfig.p, seed: int = 0) -> nx.Graph:
    """Each vertex pair joined with probability p."""
    _check_n(n)
    _check_probability("p", p)
    return nx.gnp_random_graph(n, p, seed=seed)


@register_generator("ba")
def barabasi_albert(n: int, m: int = BAConfig.m, seed: int = 0) -> nx.Graph:
    """Preferential attachment: each new vertex attaches m edges by degree."""
    _check_n(n)
    require(1 <= m < n, f"m must satisfy 1 <= m < nodes ({n}), got {m}")
    return nx.barabasi_albert_graph(n, m, seed=seed)


@register_generator("ws")
def watts_strogatz(n: int, k: int = WSConfig.k, p: float = WSConfig.p, seed: int = 0) -> nx.Graph:
    """Ring lattice with k neighbours, each edge rewired with probability p (connected)."""
    _check_n(n, 3)
    _check_probability("p", p)
    require(2 <= k < n, f"k must satisfy 2 <= k < nodes ({n}), got {k}")
    return nx.connected_watts_strogatz_graph(n, k, p, tries=1000, seed=seed)


@register_generator("dp")
def distance_probability(
    n: int, p: float = DPConfig.p, alpha: float = DPConfig.alpha, beta: float = DPConfig.beta, seed: int = 0
) -> nx.Graph:
    """The paper's distance-based generator: P_new = alpha * p * beta**d on a ring.

    d(i, j) = min(|i-j|, n-|i-j|); near vertices connect often and far ones rarely,
    which gives locally dense clusters that partition with little communication.
    alpha, beta and p are not published: the defaults give ~2.4 edges per vertex.
    """
    _check_n(n)
    _check_probability("p", p)
    require(alpha >= 0, f"alpha must be >= 0, got {alpha}")
    require(0.0 < beta < 1.0, f"beta must be in (0, 1), got {beta}")
    rng = np.random.default_rng(seed)
    i, j = np.triu_indices(n, k=1)
    d = np.minimum(j - i, n - (j - i))
    prob = np.clip(alpha * p * beta**d, 0.0, 1.0)
    keep = rng.random(prob.shape) < prob
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(i[keep].tolist(), j[keep].tolist(), strict=True))
    return graph
