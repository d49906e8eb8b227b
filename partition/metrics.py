"""Concurrency metrics (docs/method.md §2), as small pure functions on numpy arrays.

- loads W_p and imbalance δ_w = max_p W_p / W_avg (W_avg = Σw / n);
- connectivity γ_j of every net and communication Λ = Σ_j λ_j (γ_j − 1) (bytes);
- Λ′ = Λ / (U_c · n) with U_c the smallest net cost;
- η = max d_i / (|V| / n) (compute vertices only);
- CS = (δ_w^a · Λ′^b · η^c)^(1/3), lower is better;
- normalised Shannon entropy of the loads (1 = perfectly even);
- ideal speed-up bound min(n, total / critical-path work).

Zero-Λ guard: a partition that cuts nothing (everything useful on one unit, or n = 1)
would get CS = 0, the best possible score, for the worst possible distribution. The
score therefore floors Λ at `comm_floor · U_c` bytes before normalising (default 1:
"at least one smallest tensor crosses one boundary"), i.e. Λ′ ≥ comm_floor / n. The
reported `comm`/`comm_norm` stay the true values; only CS uses the floor.
"""

from __future__ import annotations

import math

import numpy as np

from partition.hypergraph import Hypergraph


def loads(weights: np.ndarray, parts: np.ndarray, units: int) -> np.ndarray:
    """W_p: total vertex weight on each of the `units` parts; for a (k, V) stack of
    partitions, a (k, units) array (one bincount for all: the options of an ε sweep)."""
    stack = np.atleast_2d(parts)
    k = len(stack)
    index = (stack + units * np.arange(k)[:, None]).ravel()
    out = np.bincount(index, weights=np.tile(weights, k), minlength=k * units).reshape(k, units).astype(np.float64)
    return out if np.ndim(parts) == 2 else out[0]


def imbalance(part_loads: np.ndarray) -> float:
    """δ_w = max part weight / average part weight (1 = perfect; n = all on one unit)."""
    mean = float(part_loads.mean())
    return float(part_loads.max()) / mean if mean > 0 else 1.0


def connectivity(hg: Hypergraph, parts: np.ndarray, units: int) -> np.ndarray:
    """γ_j: the number of distinct parts each net touches; (k, nets) for a (k, V) stack."""
    stack = np.atleast_2d(parts)
    k, nets = len(stack), hg.num_nets
    keys = np.unique((np.arange(k)[:, None] * nets + hg.net_of_pin) * units + stack[:, hg.pins])
    gamma = np.bincount(keys // units, minlength=k * nets).reshape(k, nets)
    return gamma if np.ndim(parts) == 2 else gamma[0]


def communication(hg: Hypergraph, parts: np.ndarray, units: int) -> int:
    """Λ = Σ over cut nets of λ_j · (γ_j − 1): bytes sent when each tensor goes once to each other unit."""
    gamma = connectivity(hg, parts, units)
    return int(np.dot(hg.costs, gamma - 1))


def comm_norm(comm: float, min_cost: float, units: int) -> float:
    """Λ′ = Λ / (U_c · n)."""
    return comm / (min_cost * units)


def eta(longest_path: int, compute_vertices: int, units: int) -> float:
    """η = max d_i / (|V| / n): 1/k for k equal parallel chains on k units, n for one chain."""
    return longest_path * units / compute_vertices


def concurrency_score(
    imbalance_: float,
    comm_norm_: float,
    eta_: float,
    a: float = 1.0,
    b: float = 1.5,
    c: float = 1.0,
    min_comm_norm: float = 0.0,
) -> float:
    """CS = (δ_w^a · max(Λ′, min_comm_norm)^b · η^c)^(1/3); lower is better."""
    return (imbalance_**a * max(comm_norm_, min_comm_norm) ** b * eta_**c) ** (1.0 / 3.0)


def load_entropy(part_loads: np.ndarray) -> float:
    """Shannon entropy of the load shares divided by log n (1 = even, 0 = one unit does all)."""
    units = len(part_loads)
    total = float(part_loads.sum())
    if units <= 1 or total <= 0:
        return 1.0
    share = part_loads[part_loads > 0] / total
    return float(-(share * np.log(share)).sum() / math.log(units))


def speedup_bound(units: int, total_work: float, critical_work: float) -> float:
    """Ideal speed-up on n units: min(n, total / critical-path work) (no communication cost)."""
    return float(min(units, total_work / critical_work)) if critical_work > 0 else float(units)
