"""`task=profile`: measure this machine's op latencies and fit the predictor (nn-Meter style).

Ops are timed *inside* real forward passes: an op timed alone, looped or interleaved
with thousands of others, runs with caches in a state no real model has, and its sum
over a model was off by −40 % to +30 % in our trials. So the profiler samples
architectures from the search space (`hw.sampling`), runs their built models with a
timer around every module the executor calls (stem, each scaling block, merge,
vertex op), and keeps, per distinct op, the median over the places it occurs of a
low quantile over interleaved rounds (`hw.measure`).

Phases, each with a share of the wall-clock budget:
1. ops (70 %): instrumented forwards of `pool_architectures` sampled architectures,
   interleaved in the same rounds with plain (uninstrumented) forwards of
   `calibration_architectures` held-out ones;
2. adaptive re-sampling (15 %): cross-validate each kind's model and profile fresh
   architectures drawn with the settings of those holding the worst-predicted ops;
3. coverage (5 %): kinds the sampled architectures never produce, timed alone;
4. fitting: one model per op kind, then the executor overheads the per-op timers miss
   (per-vertex Python dispatch, per-input list handling, freeing tensors in
   proportion to their bytes, one per-call cost, a common scale) by bounded least
   squares on the calibration architectures' plain forwards from phase 1;
5. references (5 %): torchvision models timed the same way, which `scaled` targets use
   to turn a published device latency into a slowdown factor.

The path profiled is the one deploy runs (`hw.inference`): the calibration forwards run
on it (the fast path: one frozen graph per model, `nas.fast`) in its memory layout, and
the ops are timed by hooks in eager forwards in that layout (a frozen graph has no
module boundaries to time). The op timers then hold per-module Python work that the
frozen graph does not do (and BatchNorm the graph folds away), in a share that differs
by kind: so every op kind gets a scale of its own, and the fitted per-vertex and
per-input terms may be negative (they take module Python work out again).
"""

from __future__ import annotations

import logging
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import networkx as nx
import numpy as np

from hw.measure import CLOCKS, measure_interleaved, model_and_image, pin_threads
from hw.predictor import KindModel, LatencyPredictor, Overheads, feature_matrix
from hw.sampling import EVAL_SEED_OFFSET, PROFILE_SPACE, ArchSpace, profilable, sample_architectures
from nas.arch import output_bytes, total_macs
from nas.ops import OPS, Op, architecture_ops, instantiate

log = logging.getLogger(__name__)
SHARES = {"ops": 0.70, "adaptive": 0.15, "coverage": 0.05, "references": 0.05}  # the rest: fitting
CALIBRATION_SEED = EVAL_SEED_OFFSET // 2  # disjoint from pool (small) and evaluation seeds


def _bar(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False)


# ---------------------------------------------------------------- in-context timing


def timer_overhead(clock: str, repeats: int = 2000) -> int:
    """Nanoseconds one timed region costs when empty (subtracted from every op sample)."""
    now = CLOCKS[clock]
    samples = []
    for _ in range(repeats):
        start = now()
        samples.append(now() - start)
    return int(np.median(samples))


def instrument(model: Any, now: Callable[[], int], record: list[list[int]]) -> None:
    """Time every op's module inside `model`'s own forward (torch forward hooks).

    `record[i]` collects the durations of the i-th op of `nas.ops.architecture_ops`
    (per vertex, in topological order: stem, or scalers, merge, operation).
    """
    start = [0]

    def begin(module: Any, args: Any) -> None:
        start[0] = now()

    for samples, part in zip(record, (p for vertex in model.vertices.values() for p in vertex.parts), strict=True):
        part.register_forward_pre_hook(begin)
        part.register_forward_hook(lambda module, args, out, samples=samples: samples.append(now() - start[0]))


def measure_in_context(
    archs: list[nx.DiGraph],
    settings: Any,
    deadline: float,
    seed: int = 0,
    progress: bool = True,
    calibration: Sequence[nx.DiGraph] = (),
    inference: Any = None,
) -> tuple[list[tuple[Op, float]], list[float]]:
    """(op, latency s) per distinct op of `archs`, timed inside interleaved forwards.

    `calibration` architectures run plain (uninstrumented) forwards in the same rounds,
    so the executor overheads are fitted under the very conditions the ops were timed
    in; their latencies (s) are returned second. Both run as `inference` says (see the
    module doc; None: eager, contiguous).
    """
    now = CLOCKS[settings.clock]
    # the same layout, eager (`hw.config.InferenceConfig`'s fields; not imported: hw.config reaches this module)
    eager = SimpleNamespace(fast_path=False, memory_format=inference.memory_format) if inference is not None else None
    runs: list[tuple[list[Op], list[list[int]]]] = []  # (ops, their samples) per instrumented arch
    calls: list[Callable[..., Any]] = []
    for i, arch in enumerate([*archs, *calibration]):
        model, x = model_and_image(arch, eager if i < len(archs) else inference)
        calls.append(lambda model=model, x=x: model(x))
        if i < len(archs):
            ops = [op for vertex_ops in architecture_ops(arch).values() for op in vertex_ops]
            runs.append((ops, [[] for _ in ops]))
            instrument(model, now, runs[-1][1])
    overhead = timer_overhead(settings.clock)
    with _bar(settings.rounds, f"profiling {len(archs)}+{len(calibration)} architectures", progress) as bar:
        times = measure_interleaved(
            calls,
            rounds=settings.rounds,
            quantile=settings.quantile,
            clock=settings.clock,
            seed=seed,
            warmup=1,
            progress=bar,
            deadline=deadline,
            min_rounds=settings.min_rounds,
        )
    per_op: dict[Op, list[float]] = {}
    for ops, record in runs:
        for op, samples in zip(ops, record, strict=True):  # samples[0]: the warm-up
            t = max(float(np.quantile(samples[1:], settings.quantile)) - overhead, 0.0) * 1e-9
            per_op.setdefault(op, []).append(t)
    return [(op, max(float(np.median(ts)), 1e-7)) for op, ts in per_op.items()], times[len(archs) :]


def measure_isolated(ops: list[Op], settings: Any, deadline: float, seed: int = 0) -> list[tuple[Op, float]]:
    """Ops timed alone (interleaved), for kinds no sampled architecture contains."""
    import torch

    calls, kept = [], []
    for op in ops:
        try:
            module, args = instantiate(op)
            with torch.inference_mode():
                module(*args)
        except (RuntimeError, ValueError):  # shapes the module cannot take
            continue
        calls.append(lambda module=module, args=args: module(*args))
        kept.append(op)
    times = measure_interleaved(
        calls,
        rounds=settings.rounds,
        quantile=settings.quantile,
        clock=settings.clock,
        seed=seed,
        deadline=deadline,
        min_rounds=settings.min_rounds,
    )
    return list(zip(kept, times, strict=True))


# ---------------------------------------------------------------- fitting helpers


def cross_validated_errors(samples: list[tuple[Op, float]], seed: int = 0, folds: int = 5) -> dict[Op, float]:
    """Relative error of each sample when predicted by a model fitted without it."""
    from sklearn.model_selection import KFold

    errors: dict[Op, float] = {}
    by_kind: dict[str, list[tuple[Op, float]]] = {}
    for op, t in samples:
        by_kind.setdefault(op.kind, []).append((op, t))
    for rows in by_kind.values():
        if len(rows) < 2 * folds:
            continue
        x = feature_matrix(op for op, _ in rows)
        y = np.array([t for _, t in rows])
        pred = np.zeros_like(y)
        for train, test in KFold(folds, shuffle=True, random_state=seed).split(x):
            pred[test] = KindModel.fit(x[train], y[train], seed, trees=50).predict(x[test])
        errors.update({op: abs(p / t - 1) for (op, t), p in zip(rows, pred, strict=True)})
    return errors


# a kind gets a scale of its own when it occurs in this many calibration architectures and
# holds this share of their op time (a kind of tiny ops would only fit noise)
MIN_KIND_ARCHS, MIN_KIND_SHARE = 5, 0.05


def fit_overheads(
    op_sums: np.ndarray,
    vertices: np.ndarray,
    inputs: np.ndarray,
    nbytes: np.ndarray,
    measured: np.ndarray,
    kind_sums: Sequence[dict[str, float]] | None = None,
) -> Overheads:
    """measured ≈ scale·Σops + per_vertex·V + per_input·E + per_byte·B + per_call (least
    squares on the relative error; scales, per_byte and per_call >= 0, per_vertex and
    per_input of either sign: see the module doc).

    With `kind_sums` (Σ op latencies per kind, per architecture) every kind with at least
    `MIN_KIND_ARCHS` architectures and `MIN_KIND_SHARE` of the op time gets a scale of
    its own; `scale` covers the rest.
    """
    from scipy.optimize import lsq_linear

    total = float(op_sums.sum())
    kinds = sorted({k for sums in kind_sums or () for k in sums})
    kinds = [
        k
        for k in kinds
        if sum(sums.get(k, 0) > 0 for sums in kind_sums or ()) >= MIN_KIND_ARCHS
        and sum(sums.get(k, 0.0) for sums in kind_sums or ()) >= MIN_KIND_SHARE * total
    ]
    own = np.array([[sums.get(k, 0.0) for k in kinds] for sums in kind_sums or [{}] * len(op_sums)]).reshape(
        len(op_sums), -1
    )
    rest = op_sums - own.sum(1)
    design = np.column_stack([rest, own, vertices, inputs, nbytes, np.ones_like(op_sums)])
    norm = np.maximum(np.abs(design).max(0), 1e-12)
    low = np.array([0.0] * (1 + len(kinds)) + [-np.inf, -np.inf, 0.0, 0.0])
    coef = lsq_linear(design / norm / measured[:, None], np.ones_like(measured), bounds=(low, np.inf)).x / norm
    scales = dict(zip(kinds, map(float, coef[1 : 1 + len(kinds)]), strict=True))
    per_vertex, per_input, per_byte, per_call = map(float, coef[1 + len(kinds) :])
    # no op outside the own-scale kinds in any calibration architecture: those kinds' median
    scale = float(coef[0]) if rest.max() > 1e-12 * op_sums.max() else float(np.median(list(scales.values())))
    return Overheads(scale, per_vertex, per_input, per_byte, per_call, scales)


def calibration_terms(arch: nx.DiGraph, predictor: LatencyPredictor) -> tuple[float, float, float, float]:
    """(Σ op latencies, vertices, edges, Σ output bytes): the overhead model's regressors."""
    nbytes = sum(output_bytes(arch, v) for v in arch)
    return predictor.op_sum(arch), float(arch.number_of_nodes()), float(arch.number_of_edges()), float(nbytes)


def resample_like(arch: nx.DiGraph, seed: int) -> nx.DiGraph | None:
    """A fresh architecture drawn with `arch`'s generator and settings (None for fixed baselines)."""
    from nas.factory import create_architecture
    from nas.generators import GENERATORS

    g = arch.graph
    common = {"input_size": g["input_size"], "num_classes": g["num_classes"], "in_channels": g.get("in_channels", 3)}
    if g.get("generator") in GENERATORS:
        return create_architecture(
            g["generator"],
            g["nodes"],
            seed,
            params=g.get("generator_params", {}),
            staging=g["staging"],
            staging_params=g.get("staging_params", {}),
            **common,
        )
    if g.get("generator") == "fb":
        return create_architecture("fb", g["nodes"], seed, params=g.get("generator_params", {}), **common)
    return None


def reference_latencies(names: list[str], settings: Any, deadline: float, inference: Any = None) -> dict[str, float]:
    """Measured latency (ms) of torchvision reference models (224×224, batch 1), run as
    `inference` says (layout; the fast path: traced and frozen)."""
    import torch
    import torchvision

    from nas.fast import frozen, to_layout

    channels_last = inference is not None and inference.memory_format == "channels_last"
    calls, kept = [], []
    for name in names:
        try:
            model = torchvision.models.get_model(name, weights=None).eval()
        except ValueError:
            log.warning("unknown torchvision reference model %r skipped", name)
            continue
        x = to_layout(torch.randn(1, 3, 224, 224), channels_last)
        model = model.to(memory_format=torch.channels_last) if channels_last else model
        if inference is not None and inference.fast_path:
            model = frozen(model, (x,))
        calls.append(lambda model=model, x=x: model(x))
        kept.append(name)
    times = measure_interleaved(
        calls,
        rounds=max(settings.min_rounds, 5),
        quantile=settings.quantile,
        clock=settings.clock,
        deadline=deadline,
        min_rounds=3,
    )
    return {name: t * 1e3 for name, t in zip(kept, times, strict=True)}


def machine_metadata(settings: Any) -> dict:
    import sklearn
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "threads": settings.threads,
        "clock": settings.clock,
        "quantile": settings.quantile,
        "seed": settings.seed,
        "platform": platform.platform(),
    }


# ---------------------------------------------------------------- the procedure


def profile(
    settings: Any,
    budget_s: float | None = None,
    progress: bool = True,
    space: ArchSpace = PROFILE_SPACE,
    inference: Any = None,
) -> LatencyPredictor:
    """Profile this machine within `budget_s` (default `settings.budget_s`) and fit the predictor.

    `space` is the distribution profiled and calibrated architectures are drawn from;
    `inference` (`hw.inference`) the path and layout profiled (None: eager, contiguous).
    """
    budget = float(budget_s or settings.budget_s)
    start = time.monotonic()
    pin_threads(settings.threads)
    load_before = os.getloadavg()
    deadline = start
    rng = random.Random(settings.seed)

    # 1. ops, timed inside sampled architectures; calibration architectures in the same rounds
    deadline += SHARES["ops"] * budget
    pool = list(sample_architectures(settings.pool_architectures, seed=settings.seed, space=space))
    archs = list(sample_architectures(settings.calibration_architectures, seed=CALIBRATION_SEED, space=space))
    samples, measured = measure_in_context(
        pool, settings, deadline, settings.seed, progress, calibration=archs, inference=inference
    )
    log.info(
        "profiled %d distinct ops of %d architectures in %.0f s", len(samples), len(pool), time.monotonic() - start
    )

    # 2. adaptive re-sampling where the cross-validated error is high
    deadline += SHARES["adaptive"] * budget
    seed = settings.seed * 1000 + 10_000
    for iteration in range(settings.adaptive_iterations):
        if time.monotonic() > deadline:
            break
        errors = cross_validated_errors(samples, settings.seed + iteration)
        bad = {op for op, e in errors.items() if e > settings.error_threshold}
        holders = [a for a in pool if any(op in bad for ops in architecture_ops(a).values() for op in ops)]
        fresh = []
        for arch in rng.sample(holders, min(len(holders), max(10, settings.pool_architectures // 8))):
            seed += 1
            new = resample_like(arch, seed)
            if new is not None:
                fresh.append(new)
        if not fresh:
            break
        per_iteration = (deadline - time.monotonic()) / (settings.adaptive_iterations - iteration)
        new_samples, _ = measure_in_context(
            fresh, settings, time.monotonic() + per_iteration, seed, progress, inference=inference
        )
        samples = _merge_samples(samples, new_samples)
        pool += fresh
        log.info(
            "adaptive pass %d: %d ops above %.0f %% error; %d more architectures profiled",
            iteration + 1,
            len(bad),
            100 * settings.error_threshold,
            len(fresh),
        )

    # 3. coverage of kinds no architecture produced
    deadline += SHARES["coverage"] * budget
    coverage = _coverage_ops([op for op, _ in samples], rng)
    if coverage:
        samples += measure_isolated(coverage, settings, deadline, settings.seed)
    predictor = LatencyPredictor.fit(samples, seed=settings.seed)

    # 4. executor overheads from the calibration architectures timed in phase 1
    # on the fast path each kind keeps its own share of its eager op time (see the module doc)
    terms = np.array([calibration_terms(a, predictor) for a in archs])
    kinds = [predictor.kind_sums(a) for a in archs] if inference is not None and inference.fast_path else None
    predictor.overheads = fit_overheads(*terms.T, np.array(measured), kinds)  # type: ignore[call-arg]  # numpy: *terms.T is 4 rows

    # 5. reference models for scaled targets
    deadline += SHARES["references"] * budget
    references = reference_latencies(list(settings.references), settings, deadline, inference)

    predictor.metadata = {
        **machine_metadata(settings),
        "budget_s": budget,
        "duration_s": round(time.monotonic() - start, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_before": list(load_before),
        "load_after": list(os.getloadavg()),
        "references_ms": references,
        "ops_profiled": len(samples),
        "architectures_profiled": len(pool),
        "inference": (
            {"fast_path": bool(inference.fast_path), "memory_format": str(inference.memory_format)}
            if inference is not None
            else {"fast_path": False, "memory_format": "contiguous"}
        ),
    }
    predictor.data = {
        "ops": [{**op.to_json(), "latency_s": t} for op, t in samples],
        "calibration": [
            {
                "generator": a.graph.get("generator"),
                "nodes": a.graph.get("nodes"),
                "seed": a.graph.get("seed"),
                "input_size": a.graph["input_size"],
                "measured_s": float(m),
                "macs": int(total_macs(a)),
                "op_sum_s": float(t[0]),
                "vertices": int(t[1]),
                "edges": int(t[2]),
                "bytes": int(t[3]),
            }
            for a, m, t in zip(archs, measured, terms, strict=True)
        ],
    }
    return predictor


def _merge_samples(old: list[tuple[Op, float]], new: list[tuple[Op, float]]) -> list[tuple[Op, float]]:
    """Union of two sample lists; an op timed in both keeps the mean."""
    merged = dict(old)
    for op, t in new:
        merged[op] = (merged[op] + t) / 2 if op in merged else t
    return list(merged.items())


def _coverage_ops(ops: list[Op], rng: random.Random, per_kind: int = 30) -> list[Op]:
    """Neighbours for kinds with too few samples (a lone pooling scaler, a concat merge, ...),
    drawn by each kind's sampler from the ops of its family."""
    counts: dict[str, int] = {}
    for op in ops:
        counts[op.kind] = counts.get(op.kind, 0) + 1
    extra: list = []
    for kind in OPS.names():
        entry = OPS.get(kind)
        seeds = [o for o in ops if o.entry.family == entry.family]
        extra += [entry.perturb(rng.choice(seeds).p, rng) for _ in range(per_kind - counts.get(kind, 0)) if seeds]
    known = set(ops)
    return [op for op in dict.fromkeys(o for o in extra if o is not None) if op not in known and profilable(op)]
