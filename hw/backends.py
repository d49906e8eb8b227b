"""Device kinds (nn-Meter's "backends"): how a unit's latency is profiled and predicted.

Each backend turns the `hw` config into a `UnitLatencyModel` (`predict(arch)`,
`vertex_latencies(arch)`, `describe()`), and may `profile` the device:
- `local`: this machine. `profile` measures it (`hw.profile`); predictions use the
  saved profile at `hw.predictor` (see `load_local_predictor` for what happens when
  there is none yet).
- `scaled`: a device we cannot measure from here (Raspberry Pi, Jetson, t2.micro).
  Its latency is the local prediction × a slowdown factor: published device latency
  of a reference model / our measured latency of the same model (both stored), or an
  explicit `hw.compute.slowdown`. A single factor ignores that devices differ per op
  type (memory-bound vs compute-bound, GPU launch costs); it is a documented first
  approximation until someone profiles the device itself.

Add a device kind with `@register_backend("name")` on a class with the same methods.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import networkx as nx

from hw.predictor import LINEAR_TERMS, KindModel, LatencyPredictor
from nas.registry import Registry

log = logging.getLogger(__name__)
BACKENDS: Registry = Registry("device backend")
register_backend = BACKENDS.register


class UnitLatencyModel(Protocol):
    def predict(self, arch: nx.DiGraph) -> float: ...
    def vertex_latencies(self, arch: nx.DiGraph) -> dict[Any, float]: ...
    def latencies(self, arch: nx.DiGraph) -> tuple[dict[Any, float], float]: ...  # both, from one pass
    def describe(self) -> dict: ...
    def profile(self, budget_s: float | None = None, progress: bool = True) -> LatencyPredictor: ...


# The stand-in when no profile exists (hw.on_missing_predictor=flops): 20 µs per op
# plus MACs at 10 GMAC/s (one AVX2 core, single thread). Deliberately crude, and every
# report built on it says so (`describe()["fallback"]`). Its reference-model times
# follow the same rule from the models' MACs (FlopCounterMode / 2), so scaled targets
# keep their published latency on the reference model.
FLOPS_FALLBACK = {"one": 20e-6, "macs": 1e-10}
REFERENCE_MACS = {"alexnet": 714_188_480, "resnet50": 4_089_184_256, "mobilenet_v2": 300_774_272}
_LOADED: dict[tuple[str, float], LatencyPredictor] = {}


def flops_predictor() -> LatencyPredictor:
    import numpy as np

    coef = np.array([FLOPS_FALLBACK.get(term, 0.0) for term in LINEAR_TERMS])
    references = {name: macs * FLOPS_FALLBACK["macs"] * 1e3 for name, macs in REFERENCE_MACS.items()}
    return LatencyPredictor({}, KindModel(coef), metadata={"kind": "flops", "references_ms": references})


_WARNED: set[str] = set()


def load_local_predictor(hw: Any, progress: bool = True) -> LatencyPredictor:
    """The saved local profile (cached per file version); if missing, per `hw.on_missing_predictor`:

    `flops` (default): the FLOPs-proportional stand-in above, flagged in every report;
    `profile`: profile now for `hw.profile.quick_budget_s` and save it (its metadata
    records the short budget; `task=profile` makes the full one); `error`: raise.
    Not `profile` by default: parallel search workers would all start profiling the
    same machine at once, and test suites would spend a minute on it.
    """
    path = Path(hw.predictor)
    if (path / "predictor.json").is_file():
        key = (str(path.resolve()), (path / "predictor.json").stat().st_mtime)
        if key not in _LOADED:
            _LOADED[key] = LatencyPredictor.load(path)
        return _LOADED[key]
    if hw.on_missing_predictor == "error":
        raise FileNotFoundError(f"no latency profile at {path}; run: python run.py task=profile hw=local")
    if hw.on_missing_predictor == "flops":
        if str(path) not in _WARNED:  # once per process, not once per search trial
            _WARNED.add(str(path))
            log.warning(
                "no latency profile at %s: using a FLOPs-proportional stand-in "
                "(run: python run.py task=profile hw=local)",
                path,
            )
        return flops_predictor()
    from hw.profile import profile

    log.warning(
        "no latency profile at %s: profiling for %.0f s now (task=profile makes the full one)",
        path,
        hw.profile.quick_budget_s,
    )
    predictor = profile(hw.profile, budget_s=hw.profile.quick_budget_s, progress=progress, inference=hw.inference)
    predictor.metadata["quick"] = True
    predictor.save(path)
    return predictor


@register_backend("local")
class LocalBackend:
    """This machine, measured."""

    def __init__(self, hw: Any, predictor: LatencyPredictor | None = None) -> None:
        self.hw = hw
        self._predictor = predictor

    @property
    def predictor(self) -> LatencyPredictor:
        """Loaded (or made) on first use, so `profile` never needs an old profile."""
        if self._predictor is None:
            self._predictor = load_local_predictor(self.hw)
        return self._predictor

    def profile(self, budget_s: float | None = None, progress: bool = True) -> LatencyPredictor:
        from hw.profile import profile

        return profile(self.hw.profile, budget_s=budget_s, progress=progress, inference=self.hw.inference)

    def predict(self, arch: nx.DiGraph) -> float:
        return self.latencies(arch)[1]

    def vertex_latencies(self, arch: nx.DiGraph) -> dict[Any, float]:
        return self.predictor.vertex_latencies(arch)

    def latencies(self, arch: nx.DiGraph) -> tuple[dict[Any, float], float]:
        """`vertex_latencies` and `predict` at the price of one (the survey needs both per sample)."""
        vertex = self.predictor.vertex_latencies(arch)
        return vertex, self.predictor.single_unit(vertex)

    def describe(self) -> dict:
        meta = self.predictor.metadata
        return {
            "backend": "local",
            "predictor": str(self.hw.predictor),
            "cpu": meta.get("cpu"),
            "profile_budget_s": meta.get("budget_s"),
            "quick_profile": bool(meta.get("quick")),
            **(
                {
                    "fallback": meta["kind"],
                    "note": f"no profile at {self.hw.predictor}: run python run.py task=profile hw=local",
                }
                if meta.get("kind")
                else {}
            ),
        }


@register_backend("scaled")
class ScaledBackend(LocalBackend):
    """A remote device: the local prediction × a documented slowdown."""

    @property
    def slowdown(self) -> float:
        return self._slowdown()[0]

    def _slowdown(self) -> tuple[float, str]:
        compute = self.hw.compute
        if compute.reference_model is None:
            return float(compute.slowdown), "explicit hw.compute.slowdown"
        local_ms = self.predictor.metadata.get("references_ms", {}).get(compute.reference_model)
        if not local_ms:
            log.warning(
                "profile has no local timing of %s: using hw.compute.slowdown=%s",
                compute.reference_model,
                compute.slowdown,
            )
            return float(compute.slowdown), f"explicit (no local timing of {compute.reference_model})"
        return (
            compute.reference_latency_ms / local_ms,
            f"{compute.reference_model}: {compute.reference_latency_ms} ms on device / {local_ms:.1f} ms here",
        )

    def profile(self, budget_s: float | None = None, progress: bool = True) -> LatencyPredictor:
        raise NotImplementedError(
            f"hw={self.hw.name} is a remote device that cannot be measured from here; "
            "profile hw=local (its predictions are scaled) or add a backend that runs on the device"
        )

    def vertex_latencies(self, arch: nx.DiGraph) -> dict[Any, float]:
        return self.latencies(arch)[0]

    def latencies(self, arch: nx.DiGraph) -> tuple[dict[Any, float], float]:
        factor = self.slowdown
        vertex, single = super().latencies(arch)
        return {v: factor * t for v, t in vertex.items()}, factor * single

    def describe(self) -> dict:
        factor, basis = self._slowdown()
        return {
            **super().describe(),
            "backend": "scaled",
            "slowdown": round(factor, 3),
            "slowdown_basis": basis,
            "source": self.hw.compute.source,
        }


def create_backend(hw: Any, predictor: LatencyPredictor | None = None) -> UnitLatencyModel:
    """The backend of the `hw` config's device kind (`hw.compute.backend`)."""
    return BACKENDS.get(hw.compute.backend)(hw, predictor)
