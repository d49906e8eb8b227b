"""Partitioners behind one interface: `partitioner(hg, units, epsilon, seed) -> parts`.

`parts[i]` is the unit (0..units-1) of hypergraph vertex i. `epsilon` is the method's balance
bound (W_p ≤ ε·W_avg, so ε ≥ 1); a partitioner with `sweeps_epsilon = False` ignores it
and the analysis calls it once instead of once per ε.

- `metis` (the survey's): METIS k-way (or recursive bisection) via pymetis on the *clique
  expansion* of the hypergraph: every pair of pins of a net of cost λ and size |e| is
  joined by an edge of weight λ/(|e|−1), summed over nets. Why clique and this weight:
  a graph partitioner cannot see nets, and the clique keeps the consumers of one tensor
  attracted to each other (co-locating them saves a send), which the producer-centred
  star (= the plain DAG) does not; λ/(|e|−1) makes splitting one pin off a net cost λ,
  exactly its Λ. Larger splits are over-charged (a net split in halves costs
  ~λ·|e|/4 instead of λ), the usual price of graph expansions; the metrics below are
  always computed on the true hypergraph. A star expansion would need one extra
  zero-weight vertex per net, which METIS places arbitrarily.
- `heuristic`: the paper's §V distribution. Group the compute vertices that are
  connected in the undirected graph (input/output excluded), assign the groups
  largest-first to the least-loaded of n−1 units; the last unit gathers the output and
  (our choice: it is the client holding the image) also runs the stem.
- `kahypar`: KaHyPar (direct k-way, connectivity−1 objective, i.e. minimises Λ
  itself) with the bundled preset `partition/presets/kahypar_km1_fast.ini`. An
  optional extra (`pip install '.[kahypar]'`).

`best` (the default of `analysis.partitioners`) is not a partitioner but a choice,
resolved when the config is validated (`resolve_partitioner`): kahypar when it is
installed, else metis with a one-line warning. Why: benchmarks/bench_partitioners.py
(numbers in partition/config.py).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from nas.checks import require, require_one_of
from nas.registry import Registry
from partition.hypergraph import Hypergraph

PRESETS = Path(__file__).resolve().parent / "presets"
BEST = "best"
log = logging.getLogger(__name__)


class Partitioner(Protocol):
    sweeps_epsilon: bool

    def __call__(self, hg: Hypergraph, units: int, epsilon: float, seed: int = 0) -> np.ndarray: ...


PARTITIONERS: Registry[Callable[..., Partitioner]] = Registry("partitioner")
register_partitioner = PARTITIONERS.register


def create_partitioner(name: str, **options) -> Partitioner:
    """The partitioner `name`; `options` are partitioner settings (unknown ones ignored)."""
    return PARTITIONERS.create(name, **options)


def kahypar_available() -> bool:
    return importlib.util.find_spec("kahypar") is not None


@cache
def _best_available() -> str:
    if kahypar_available():
        return "kahypar"
    log.warning("analysis.partitioners: best = metis (kahypar is not installed: pip install '.[kahypar]')")
    return "metis"


def resolve_partitioner(name: str) -> str:
    """`name`, or for `best` the best installed partitioner: kahypar, else metis (warned once)."""
    return _best_available() if name == BEST else name


def _solver_weights(hg: Hypergraph) -> np.ndarray:
    """Vertex weights for solvers: MACs, with parameter-free vertices given weight 1."""
    return np.maximum(hg.weights, 1)


# ---------------------------------------------------------------- METIS


def clique_expansion(hg: Hypergraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (xadj, adjncy, eweights) of the clique expansion, weights λ/(|e|−1) rounded ≥ 1."""
    if "clique" in hg.cache:
        return hg.cache["clique"]
    n = hg.num_vertices
    # every pair (a, b), a before b, of each net's pins, net by net in triu order: pin
    # position i of a net of size k pairs with the k − 1 − (its index in the net) after it
    size = np.diff(hg.starts)
    local = np.arange(len(hg.pins)) - hg.starts[hg.net_of_pin]
    later = size[hg.net_of_pin] - 1 - local
    first = np.repeat(np.arange(len(hg.pins)), later)
    second = first + 1 + np.arange(len(first)) - np.repeat(np.cumsum(later) - later, later)
    rows, cols = hg.pins[first], hg.pins[second]
    vals = (hg.costs / (size - 1))[hg.net_of_pin[first]]
    u, v, w = np.concatenate([rows, cols]), np.concatenate([cols, rows]), np.concatenate([vals, vals])
    key = u * n + v
    uniq, inverse = np.unique(key, return_inverse=True)
    weight = np.maximum(np.rint(np.bincount(inverse, weights=w)), 1).astype(np.int64)
    src, dst = uniq // n, uniq % n
    xadj = np.zeros(n + 1, dtype=np.int64)
    xadj[1:] = np.cumsum(np.bincount(src, minlength=n))
    hg.cache["clique"] = (xadj, dst.astype(np.int64), weight)
    return hg.cache["clique"]


@register_partitioner("metis")
class MetisPartitioner:
    """pymetis on the clique expansion; ε → METIS `ufactor` = 1000·(ε − 1)."""

    sweeps_epsilon = True

    def __init__(self, metis_mode: str = "kway", metis_ncuts: int = 1, **_) -> None:
        require_one_of("analysis.metis_mode", metis_mode, ("auto", "kway", "recursive"))
        require(metis_ncuts >= 1, f"analysis.metis_ncuts must be >= 1, got {metis_ncuts}")
        self.recursive = None if metis_mode == "auto" else metis_mode == "recursive"
        self.ncuts = metis_ncuts

    def __call__(self, hg: Hypergraph, units: int, epsilon: float, seed: int = 0) -> np.ndarray:
        import pymetis

        if units == 1:
            return np.zeros(hg.num_vertices, dtype=np.int64)
        xadj, adjncy, eweights = clique_expansion(hg)
        options = pymetis.Options(ufactor=max(1, round(1000 * (epsilon - 1))), seed=seed, ncuts=self.ncuts)
        result = pymetis.part_graph(
            units,
            pymetis.CSRAdjacency(xadj, adjncy),
            vweights=_solver_weights(hg),
            eweights=eweights,
            recursive=self.recursive,
            options=options,
        )
        return np.asarray(result.vertex_part, dtype=np.int64)


# ---------------------------------------------------------------- paper's heuristic


def compute_groups(hg: Hypergraph) -> list[np.ndarray]:
    """Groups of compute vertices connected by edges between compute vertices, cached.

    A net joins its producer to each consumer (the DAG's edges); the input and output
    vertices are left out, so branches that meet only there stay separate groups.
    """
    if "groups" in hg.cache:
        return hg.cache["groups"]
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    producer = hg.pins[hg.starts[:-1]][hg.net_of_pin]  # each pin's producer (the net's first pin)
    joined = hg.compute[producer] & hg.compute[hg.pins]
    n = hg.num_vertices
    graph = coo_matrix((np.ones(int(joined.sum())), (producer[joined], hg.pins[joined])), shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    compute = np.flatnonzero(hg.compute)
    hg.cache["groups"] = [compute[labels[compute] == label] for label in np.unique(labels[compute])]
    return hg.cache["groups"]


@register_partitioner("heuristic")
class HeuristicPartitioner:
    """Paper §V: connected groups, largest-first onto the least-loaded of n−1 units."""

    sweeps_epsilon = False

    def __init__(self, **_) -> None:
        pass

    def __call__(self, hg: Hypergraph, units: int, epsilon: float = 1.0, seed: int = 0) -> np.ndarray:
        gather = units - 1
        parts = np.full(hg.num_vertices, gather, dtype=np.int64)  # terminals (and all, if n = 1)
        workers = max(units - 1, 1)
        load = np.zeros(workers)
        groups = sorted(compute_groups(hg), key=lambda g: (-int(hg.weights[g].sum()), int(g.min())))
        for group in groups:
            unit = int(np.argmin(load))  # first least-loaded unit: deterministic
            parts[group] = unit
            load[unit] += hg.weights[group].sum()
        return parts


# ---------------------------------------------------------------- KaHyPar


@register_partitioner("kahypar")
class KaHyParPartitioner:
    """KaHyPar with a bundled preset; ε → KaHyPar's ε − 1 (L_max = (1+ε')·⌈W/k⌉)."""

    sweeps_epsilon = True

    def __init__(self, kahypar_preset: str = "", **_) -> None:
        self.preset = Path(kahypar_preset) if kahypar_preset else PRESETS / "kahypar_km1_fast.ini"
        if not self.preset.is_file():
            raise FileNotFoundError(f"KaHyPar preset not found: {self.preset}")

    def __call__(self, hg: Hypergraph, units: int, epsilon: float, seed: int = 0) -> np.ndarray:
        try:
            import kahypar
        except ImportError:
            raise ValueError("partitioner kahypar needs the kahypar package (pip install kahypar)") from None
        if units == 1:
            return np.zeros(hg.num_vertices, dtype=np.int64)
        # KaHyPar aborts the process on k > |V|
        require(units <= hg.num_vertices, f"kahypar needs units <= vertices ({hg.num_vertices}), got {units}")
        graph = kahypar.Hypergraph(
            hg.num_vertices,
            hg.num_nets,
            [int(x) for x in hg.starts],
            [int(x) for x in hg.pins],
            units,
            [int(x) for x in hg.costs],
            [int(x) for x in _solver_weights(hg)],
        )
        context = kahypar.Context()
        context.loadINIconfiguration(str(self.preset))
        context.setK(units)
        context.setEpsilon(max(epsilon - 1.0, 0.0))
        context.setSeed(seed)
        context.suppressOutput(True)
        kahypar.partition(graph, context)
        return np.fromiter((graph.blockID(i) for i in range(hg.num_vertices)), dtype=np.int64, count=hg.num_vertices)
