"""Concurrency analysis of one architecture on n units (SPEC §2).

    from partition.analyze import analyze
    result = analyze(arch, units=4, cfg=cfg.analysis)   # cfg optional
    result["cs"], result["assignment"]                   # best option; vertex → unit

Every configured partitioner is run for every ε of the sweep (a partitioner that
ignores ε runs once; ε ≥ n is skipped, it would allow everything on one unit); each
run is an *option* with all its metrics, and the reported figures (cs, comm,
comm_norm, imbalance, entropy, partitioner, epsilon, assignment) are the best option's.

Best option: the lowest CS among the *balanced* options, ties broken by lower Λ, then
lower δ_w. An option is balanced when the partitioner kept its bound, δ_w ≤ ε (or
δ_w ≤ the heaviest vertex's share w_max / W_avg, when that vertex alone forces more).
Why: CS weighs communication (b = 1.5) above imbalance (a = 1), so without the bound
the score would prefer piling most vertices on one unit, which distributes nothing.
If no option is balanced, the most balanced one is taken. η, the critical path and the
speed-up bound depend on the architecture and n only.

`Analyzer` keeps the partitioners and the per-architecture preparation (`prepare`) so
the survey can analyse one architecture on several unit counts cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable

import networkx as nx
import numpy as np

from nas.dag import topological_order
from partition import metrics
from partition.config import AnalysisConfig
from partition.hypergraph import Hypergraph, from_architecture
from partition.partitioners import create_partitioner
from partition.paths import PathStats, path_stats


@dataclass
class Prepared:
    """What the analysis needs from an architecture, computed once."""

    hypergraph: Hypergraph
    paths: PathStats


def prepare(arch: nx.DiGraph) -> Prepared:
    order = topological_order(arch)
    return Prepared(from_architecture(arch, order), path_stats(arch, order))


def _config(cfg: Any) -> Any:
    return AnalysisConfig() if cfg is None else cfg


class Analyzer:
    """Partitioners and score settings of one `analysis` config, reusable across calls."""

    def __init__(self, cfg: Any = None) -> None:
        cfg = _config(cfg)
        self.cfg = cfg
        options = {"metis_mode": cfg.metis_mode, "metis_ncuts": cfg.metis_ncuts, "kahypar_preset": cfg.kahypar_preset}
        self.partitioners = {name: create_partitioner(name, **options) for name in cfg.partitioners}
        self.epsilons = [float(e) for e in cfg.epsilons]

    def __call__(self, arch: nx.DiGraph | Prepared, units: int, assignments: bool = True) -> dict:
        if units < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        prep = arch if isinstance(arch, Prepared) else prepare(arch)
        hg, paths = prep.hypergraph, prep.paths
        eta = metrics.eta(paths.longest_path, paths.compute_vertices, units)
        # ε >= n allows everything on one unit: no distribution at all, so not an option.
        epsilons = [e for e in self.epsilons if e < units] or [min(self.epsilons)]
        w_avg = float(hg.weights.sum()) / units
        forced = float(hg.weights.max()) / w_avg if w_avg > 0 else 1.0  # the heaviest vertex's share
        options = []
        for name, partitioner in self.partitioners.items():
            for eps in epsilons if partitioner.sweeps_epsilon else [None]:
                parts = partitioner(hg, units, eps if eps is not None else 1.0, seed=self.cfg.seed)
                option = self._option(hg, parts, units, eta, name, eps, assignments)
                option["balanced"] = eps is None or option["imbalance"] <= max(eps, forced) + 1e-9
                options.append(option)
        best = best_option(options)
        chosen = options[best]
        result = {
            "units": units,
            "eta": eta,
            "cs": chosen["cs"],
            "comm": chosen["comm"],
            "comm_norm": chosen["comm_norm"],
            "imbalance": chosen["imbalance"],
            "entropy": chosen["entropy"],
            "partitioner": chosen["partitioner"],
            "epsilon": chosen["epsilon"],
            "critical_path": {"vertices": paths.longest_path, "flops": 2 * paths.critical_macs},
            "total_flops": 2 * paths.total_macs,
            "speedup_bound": metrics.speedup_bound(units, paths.total_macs, paths.critical_macs),
            "min_edge_bytes": hg.min_cost,
            "best_option": best,
            "options": options,
        }
        if assignments:
            result["assignment"] = chosen["assignment"]
        return result

    def _option(self, hg: Hypergraph, parts: np.ndarray, units: int, eta: float, name: str,
                eps: float | None, assignments: bool) -> dict:
        cfg = self.cfg
        part_loads = metrics.loads(hg.weights, parts, units)
        gamma = metrics.connectivity(hg, parts, units)
        comm = int(np.dot(hg.costs, gamma - 1))
        imbalance = metrics.imbalance(part_loads)
        comm_norm = metrics.comm_norm(comm, hg.min_cost, units)
        cs = metrics.concurrency_score(imbalance, comm_norm, eta, cfg.a, cfg.b, cfg.c,
                                       min_comm_norm=cfg.comm_floor / units)
        option = {
            "partitioner": name,
            "epsilon": eps,
            "cs": cs,
            "comm": comm,
            "comm_norm": comm_norm,
            "imbalance": imbalance,
            "entropy": metrics.load_entropy(part_loads),
            "cut_nets": int((gamma > 1).sum()),
            "loads": [int(x) for x in part_loads],
        }
        if assignments:
            option["assignment"] = assignment_dict(hg, parts)
        return option


def best_option(options: list[dict]) -> int:
    """Index of the best option: lowest (CS, Λ, δ_w) among the balanced ones, else the
    most balanced one (an unbalanced option's low CS only reflects what it piled up)."""
    balanced = [i for i, o in enumerate(options) if o["balanced"]]
    if balanced:
        return min(balanced, key=lambda i: (options[i]["cs"], options[i]["comm"], options[i]["imbalance"], i))
    return min(range(len(options)), key=lambda i: (options[i]["imbalance"], options[i]["cs"], i))


def assignment_dict(hg: Hypergraph, parts: np.ndarray) -> dict[Hashable, int]:
    """Architecture vertex → unit."""
    return {v: int(p) for v, p in zip(hg.vertices, parts)}


def analyze(arch: nx.DiGraph, units: int, cfg: Any = None) -> dict:
    """All options and the best one's metrics and assignment (vertex → unit); see module doc."""
    return Analyzer(cfg)(arch, units)
