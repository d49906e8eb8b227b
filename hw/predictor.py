"""Operation-wise latency predictor: one regressor per op kind plus executor overheads.

Each kind's model is a non-negative linear cost model (time = a + b·fan-in + c·MACs +
d·elements in + e·elements out + f·params, fitted for relative error) multiplied by
a random forest's correction fitted on nn-Meter's log features. The linear part
extrapolates sensibly beyond the profiled shapes (a forest alone cannot); the forest
captures what the linear part misses (oneDNN algorithm switches, cache sizes).

An architecture's single-unit latency is Σ over vertices of
`scale · Σ op latencies + per_vertex + per_input · fan-in + per_byte · output bytes`,
plus `per_call` once: per-op timers miss the DAG executor's own Python work
(`ArchitectureNet.forward`, `VertexModule.__call__`) and freeing each vertex's
inputs, or (profiled for the fast path) hold module Python work its frozen graphs do
not do, so these constants are fitted on whole architectures (see `hw.profile`); a
vertex never costs less than nothing.

Files: `predictor.json` (version, metadata, linear coefficients, overheads and all
profiling data) and `forests.skops`, loaded with an explicit allow-list of
scikit-learn types, so loading never runs code from the file. If the forests cannot
be loaded (e.g. another scikit-learn version) they are re-fitted from the stored
profiling data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from nas.arch import output_bytes
from nas.ops import FEATURES, OPS, Op, architecture_ops

FORMAT_VERSION = 2
LINEAR_TERMS = ("one", "fan_in", "macs", "elements", "out_elements", "params")
MIN_FOREST_SAMPLES = 8
TRUSTED_TYPES = [
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._tree.Tree",
    "numpy.random._mt19937.MT19937",
    "numpy.random.mtrand.RandomState",
    "builtins.dict",
    "numpy.dtype",
    "numpy.ndarray",
]


def feature_matrix(ops: Iterable[Op]) -> np.ndarray:
    return np.array([[op.features()[name] for name in FEATURES] for op in ops], dtype=float).reshape(-1, len(FEATURES))


def linear_design(x: np.ndarray) -> np.ndarray:
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    return np.column_stack([np.ones(len(x)), *(col[t] for t in LINEAR_TERMS[1:])])


@dataclass
class KindModel:
    """Latency model of one op kind: NNLS linear base × forest correction."""

    coef: np.ndarray
    forest: Any = None  # RandomForestRegressor on log1p(features) → log(measured / base)
    samples: int = 0

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, seed: int = 0, trees: int = 100) -> KindModel:
        from scipy.optimize import nnls

        design = linear_design(x)
        scale = np.maximum(design.max(0), 1e-12)
        weight = 1.0 / y  # relative error: a 10 µs op matters as much as a 10 ms one
        coef_scaled, _ = nnls(design / scale * weight[:, None], y * weight)
        model = cls(coef_scaled / scale, samples=len(y))
        if trees and len(y) >= MIN_FOREST_SAMPLES:
            from sklearn.ensemble import RandomForestRegressor

            model.forest = RandomForestRegressor(trees, min_samples_leaf=1, max_features=0.6, random_state=seed)
            model.forest.fit(np.log1p(x), np.log(y / model.base(x)))
        return model

    def base(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(linear_design(x) @ self.coef, 1e-7)

    def predict(self, x: np.ndarray) -> np.ndarray:
        base = self.base(x)
        if self.forest is None:
            return base
        return base * np.exp(self.forest.predict(np.log1p(x)))


@dataclass
class Overheads:
    """Executor costs isolated op timings miss (seconds), fitted on whole architectures."""

    scale: float = 1.0  # of every op kind without a scale of its own
    per_vertex: float = 0.0
    per_input: float = 0.0
    per_byte: float = 0.0  # per byte of a vertex's output (allocation, freeing, cache traffic)
    per_call: float = 0.0
    # op kind → its scale: profiled for the fast path, each kind's ops lose a share of their
    # eager time of their own (BatchNorm folded into a conv, the module's Python work)
    kind_scale: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {**vars(self), "kind_scale": dict(self.kind_scale)}


@dataclass
class LatencyPredictor:
    """Predicts batch-1 latency (seconds) of ops, vertices and whole architectures."""

    models: dict[str, KindModel]
    fallback: KindModel
    overheads: Overheads = field(default_factory=Overheads)
    metadata: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)  # profiling data, kept with the predictor
    _cache: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------ fitting

    @classmethod
    def fit(cls, samples: list[tuple[Op, float]], seed: int = 0, **kw: Any) -> LatencyPredictor:
        """One model per kind with samples; every kind falls back to a pooled linear model."""
        by_kind: dict[str, list[tuple[Op, float]]] = {}
        for op, latency in samples:
            by_kind.setdefault(op.kind, []).append((op, latency))
        models = {}
        for kind, rows in sorted(by_kind.items()):
            x = feature_matrix(op for op, _ in rows)
            models[kind] = KindModel.fit(x, np.array([t for _, t in rows]), seed)
        x_all = feature_matrix(op for op, _ in samples)
        fallback = (
            KindModel.fit(x_all, np.array([t for _, t in samples]), seed, trees=0)
            if samples
            else KindModel(np.zeros(len(LINEAR_TERMS)))
        )
        return cls(models, fallback, **kw)

    # ------------------------------------------------------------ prediction

    def predict_ops(self, ops: list[Op]) -> np.ndarray:
        """Latency (s) of each op, isolated; cached per distinct op."""
        missing = [op for op in dict.fromkeys(ops) if op not in self._cache]
        by_kind: dict[str, list[Op]] = {}
        for op in missing:
            by_kind.setdefault(op.kind, []).append(op)
        for kind, group in by_kind.items():
            model = self.models.get(kind, self.fallback)
            for op, t in zip(group, model.predict(feature_matrix(group)), strict=True):
                self._cache[op] = float(t)
        return np.array([self._cache[op] for op in ops])

    def vertex_latencies(self, arch: nx.DiGraph) -> dict[Any, float]:
        """Seconds each vertex takes on one unit, executor overheads included."""
        per_vertex = architecture_ops(arch)
        flat = [op for ops in per_vertex.values() for op in ops]
        times = iter(self.predict_ops(flat))
        o = self.overheads
        result = {}
        for v, ops in per_vertex.items():
            timed = [(op.kind, next(times)) for op in ops]
            compute = o.scale * sum(t for kind, t in timed if kind not in o.kind_scale) + sum(
                o.kind_scale[kind] * t for kind, t in timed if kind in o.kind_scale
            )
            result[v] = max(
                0.0, compute + o.per_vertex + o.per_input * arch.in_degree(v) + o.per_byte * output_bytes(arch, v)
            )
        return result

    def predict(self, arch: nx.DiGraph) -> float:
        """Single-unit batch-1 latency (seconds) of an annotated architecture."""
        return self.single_unit(self.vertex_latencies(arch))

    def single_unit(self, vertex_latencies: Mapping[Any, float]) -> float:
        """`predict` from the architecture's `vertex_latencies` (the model call's overhead added once)."""
        return float(sum(vertex_latencies.values())) + self.overheads.per_call

    def op_sum(self, arch: nx.DiGraph) -> float:
        """Σ of isolated op latencies (no overheads)."""
        return float(sum(self.kind_sums(arch).values()))

    def kind_sums(self, arch: nx.DiGraph) -> dict[str, float]:
        """Σ of isolated op latencies per op kind (no overheads): the calibration regressors."""
        ops = [op for vertex_ops in architecture_ops(arch).values() for op in vertex_ops]
        sums: dict[str, float] = {}
        for op, t in zip(ops, self.predict_ops(ops), strict=True):
            sums[op.kind] = sums.get(op.kind, 0.0) + float(t)
        return sums

    # ------------------------------------------------------------ files

    def save(self, directory: str | Path) -> Path:
        import skops.io as sio

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        forests = {kind: m.forest for kind, m in self.models.items() if m.forest is not None}
        sio.dump(forests, directory / "forests.skops")
        doc = {
            "format_version": FORMAT_VERSION,
            "metadata": self.metadata,
            "overheads": self.overheads.to_json(),
            "linear_terms": list(LINEAR_TERMS),
            "features": list(FEATURES),
            "models": {k: {"coef": m.coef.tolist(), "samples": m.samples} for k, m in self.models.items()},
            "fallback": self.fallback.coef.tolist(),
            "data": self.data,
        }
        (directory / "predictor.json").write_text(json.dumps(doc, indent=1))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> LatencyPredictor:
        """Load a saved predictor; refuses files of another format or with unexpected types."""
        directory = Path(directory)
        path = directory / "predictor.json"
        if not path.is_file():
            raise FileNotFoundError(f"no latency predictor at {directory} (run: python run.py task=profile hw=local)")
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: not a predictor file ({err})") from None
        if doc.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{path}: predictor format {doc.get('format_version')!r}, expected {FORMAT_VERSION}; re-run task=profile"
            )
        if doc.get("features") != list(FEATURES) or doc.get("linear_terms") != list(LINEAR_TERMS):
            raise ValueError(f"{path}: predictor features differ from this version; re-run task=profile")
        forests = _load_forests(directory / "forests.skops")
        models = {
            k: KindModel(np.array(m["coef"]), forests.get(k) if forests is not None else None, m["samples"])
            for k, m in doc["models"].items()
            if k in OPS
        }
        predictor = cls(
            models,
            KindModel(np.array(doc["fallback"])),
            Overheads(**doc["overheads"]),
            doc.get("metadata", {}),
            doc.get("data", {}),
        )
        if forests is None:  # version skew: rebuild the forests from the stored samples
            predictor = refit(predictor)
        return predictor


def _load_forests(path: Path) -> dict | None:
    import skops.io as sio

    if not path.is_file():
        return None
    untrusted = set(sio.get_untrusted_types(file=path))
    unexpected = sorted(untrusted - set(TRUSTED_TYPES))
    if unexpected:
        raise ValueError(f"{path}: refusing to load unexpected types {unexpected}")
    try:
        forests = sio.load(path, trusted=sorted(untrusted))
    except Exception:  # noqa: BLE001 - incompatible library versions: refit instead
        return None
    from sklearn.ensemble import RandomForestRegressor

    if not isinstance(forests, dict) or not all(
        isinstance(k, str) and isinstance(v, RandomForestRegressor) for k, v in forests.items()
    ):
        raise ValueError(f"{path}: expected a dict of random forests, found {type(forests).__name__} content")
    return forests


def samples_from_data(data: dict) -> list[tuple[Op, float]]:
    return [(Op.from_json(row), float(row["latency_s"])) for row in data.get("ops", [])]


def refit(predictor: LatencyPredictor) -> LatencyPredictor:
    """Re-fit the op models from the predictor's own profiling data (same overheads)."""
    fresh = LatencyPredictor.fit(samples_from_data(predictor.data), seed=predictor.metadata.get("seed", 0))
    fresh.overheads, fresh.metadata, fresh.data = predictor.overheads, predictor.metadata, predictor.data
    return fresh
