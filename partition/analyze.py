"""Concurrency analysis of one architecture on n units (docs/method.md §2).

    from partition.analyze import analyze
    result = analyze(arch, units=4, cfg=cfg.analysis)   # cfg optional
    result.cs, result.assignment                         # best option; vertex → unit

Every configured partitioner is run for every ε of the sweep (a partitioner that
ignores ε runs once; ε ≥ n is skipped, it would allow everything on one unit); each
run is a `PartitionOption` with all its metrics, and the `Analysis`'s figures (cs,
comm, comm_norm, imbalance, entropy, partitioner, epsilon, assignment) are the best
option's. Vertex ids are the architecture's own; `to_json` str()s them for files.

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

from collections.abc import Hashable
from dataclasses import asdict, dataclass, fields
from typing import Any

import networkx as nx
import numpy as np

from nas.checks import require
from nas.dag import topological_order
from partition import metrics
from partition.config import AnalysisConfig
from partition.hypergraph import Hypergraph, from_architecture
from partition.partitioners import create_partitioner
from partition.paths import PathStats, path_stats

Assignment = dict[Hashable, int]  # architecture vertex → unit


def _fields(result: Any, *skip: str) -> dict:
    return {f.name: getattr(result, f.name) for f in fields(result) if f.name not in skip}


@dataclass(frozen=True)
class PartitionOption:
    """One partitioner run (one ε) and its metrics; `assignment` is None when not kept."""

    partitioner: str
    epsilon: float | None  # None: the partitioner ignores ε
    cs: float
    comm: int  # Λ, bytes
    comm_norm: float  # Λ′
    imbalance: float  # δ_w
    entropy: float
    cut_nets: int
    loads: list[int]
    balanced: bool  # the partitioner kept its bound (see module doc)
    assignment: Assignment | None

    def to_json(self, assignment: bool = False) -> dict:
        """The metrics as JSON-ready data, with the assignment (ids str()-ed) if asked."""
        data = _fields(self, "assignment")
        if not assignment:
            return data
        assert self.assignment is not None, "this option was analysed without its assignment"
        return {**data, "assignment": {str(v): u for v, u in self.assignment.items()}}


@dataclass(frozen=True)
class CriticalPath:
    vertices: int  # compute vertices on the longest input→output path
    flops: int  # FLOPs of the heaviest input→output path


@dataclass(frozen=True)
class Analysis:
    """The best option's figures, the n-only figures and every option."""

    eta: float
    cs: float
    comm: int
    comm_norm: float
    imbalance: float
    entropy: float
    critical_path: CriticalPath
    speedup_bound: float
    total_flops: int
    min_edge_bytes: int  # U_c
    partitioner: str
    epsilon: float | None
    units: int
    best_option: int  # index into options
    options: list[PartitionOption]
    assignment: Assignment | None

    def to_json(self) -> dict:
        """The figures as JSON-ready data, without the options and assignments."""
        return {**_fields(self, "best_option", "options", "assignment"), "critical_path": asdict(self.critical_path)}


@dataclass
class Prepared:
    """What the analysis needs from an architecture, computed once."""

    hypergraph: Hypergraph
    paths: PathStats


def prepare(arch: nx.DiGraph) -> Prepared:
    order = topological_order(arch)
    return Prepared(from_architecture(arch, order), path_stats(arch, order))


class Analyzer:
    """Partitioners and score settings of one `analysis` config, reusable across calls."""

    def __init__(self, cfg: Any = None) -> None:
        self.cfg = cfg = AnalysisConfig() if cfg is None else cfg
        options = {"metis_mode": cfg.metis_mode, "metis_ncuts": cfg.metis_ncuts, "kahypar_preset": cfg.kahypar_preset}
        self.partitioners = {name: create_partitioner(name, **options) for name in cfg.partitioners}
        self.epsilons = [float(e) for e in cfg.epsilons]

    def __call__(self, arch: nx.DiGraph | Prepared, units: int, assignments: bool = True) -> Analysis:
        require(units >= 1, f"units must be >= 1, got {units}")
        prep = arch if isinstance(arch, Prepared) else prepare(arch)
        hg, paths = prep.hypergraph, prep.paths
        eta = metrics.eta(paths.longest_path, paths.compute_vertices, units)
        # ε >= n allows everything on one unit: no distribution at all, so not an option.
        epsilons = [e for e in self.epsilons if e < units] or [min(self.epsilons)]
        w_avg = float(hg.weights.sum()) / units
        forced = float(hg.weights.max()) / w_avg if w_avg > 0 else 1.0  # the heaviest vertex's share
        runs = [
            (name, eps)
            for name, partitioner in self.partitioners.items()
            for eps in (epsilons if partitioner.sweeps_epsilon else [None])
        ]
        parts = np.stack(
            [
                self.partitioners[name](hg, units, eps if eps is not None else 1.0, seed=self.cfg.seed)
                for name, eps in runs
            ]
        )
        # the metrics of every option at once (one bincount, one unique over all of them)
        part_loads, gamma = metrics.loads(hg.weights, parts, units), metrics.connectivity(hg, parts, units)
        comms = (gamma - 1) @ hg.costs
        options = [
            self._option(hg, p, w, g, int(c), units, eta, name, eps, forced, assignments)
            for (name, eps), p, w, g, c in zip(runs, parts, part_loads, gamma, comms, strict=True)
        ]
        best = best_option(options)
        chosen = options[best]
        return Analysis(
            eta=eta,
            cs=chosen.cs,
            comm=chosen.comm,
            comm_norm=chosen.comm_norm,
            imbalance=chosen.imbalance,
            entropy=chosen.entropy,
            critical_path=CriticalPath(paths.longest_path, 2 * paths.critical_macs),
            speedup_bound=metrics.speedup_bound(units, paths.total_macs, paths.critical_macs),
            total_flops=2 * paths.total_macs,
            min_edge_bytes=hg.min_cost,
            partitioner=chosen.partitioner,
            epsilon=chosen.epsilon,
            units=units,
            best_option=best,
            options=options,
            assignment=chosen.assignment,
        )

    def _option(
        self,
        hg: Hypergraph,
        parts: np.ndarray,
        part_loads: np.ndarray,
        gamma: np.ndarray,
        comm: int,
        units: int,
        eta: float,
        name: str,
        eps: float | None,
        forced: float,
        assignments: bool,
    ) -> PartitionOption:
        cfg = self.cfg
        imbalance = metrics.imbalance(part_loads)
        comm_norm = metrics.comm_norm(comm, hg.min_cost, units)
        cs = metrics.concurrency_score(
            imbalance, comm_norm, eta, cfg.a, cfg.b, cfg.c, min_comm_norm=cfg.comm_floor / units
        )
        return PartitionOption(
            partitioner=name,
            epsilon=eps,
            cs=cs,
            comm=comm,
            comm_norm=comm_norm,
            imbalance=imbalance,
            entropy=metrics.load_entropy(part_loads),
            cut_nets=int((gamma > 1).sum()),
            loads=[int(x) for x in part_loads],
            balanced=eps is None or imbalance <= max(eps, forced) + 1e-9,
            assignment={v: int(p) for v, p in zip(hg.vertices, parts, strict=True)} if assignments else None,
        )


def best_option(options: list[PartitionOption]) -> int:
    """Index of the best option: lowest (CS, Λ, δ_w) among the balanced ones, else the
    most balanced one (an unbalanced option's low CS only reflects what it piled up)."""
    balanced = [i for i, o in enumerate(options) if o.balanced]
    if balanced:
        return min(balanced, key=lambda i: (options[i].cs, options[i].comm, options[i].imbalance, i))
    return min(range(len(options)), key=lambda i: (options[i].imbalance, options[i].cs, i))


def analyze(arch: nx.DiGraph, units: int, cfg: Any = None) -> Analysis:
    """All options and the best one's metrics and assignment (vertex → unit); see module doc."""
    return Analyzer(cfg)(arch, units)
