"""`task=profile`: measure this machine's op latencies and fit the predictor (nn-Meter style).

Ops are timed *inside* real forward passes: an op timed alone, looped or interleaved
with thousands of others, runs with caches in a state no real model has, and its sum
over a model was off by −40 % to +30 % in our trials. So the profiler samples
architectures from the search space (`hw.sampling`), runs their built models with a
timer around every module the executor calls (stem, each scaling block, merge,
vertex op), and keeps, per distinct op, the median over the places it occurs of a
low quantile over interleaved rounds (`hw.measure`).

The budget is wall-clock for the whole procedure (`hw.budget`; in task=profile from the
process start, saving included): models are sampled, built, traced and warmed up one at
a time while their timed rounds still fit (`hw.measure.measure_within`), and each
phase ends at its deadline. Phases:
1. ops (until 70 % of the budget): instrumented forwards of up to `pool_architectures`
   sampled architectures, interleaved in the same rounds with plain (uninstrumented)
   forwards of up to `calibration_architectures` held-out ones (drawn alternately);
2. coverage (up to 5 %): kinds the sampled architectures never produce, timed alone;
3. references (up to 5 %): torchvision models timed the same way, which `scaled`
   targets use to turn a published device latency into a slowdown factor;
4. adaptive re-sampling, in what is left but the fit and `SAVE_SHARE`: cross-validate
   each kind's model and profile fresh architectures drawn with the settings of those
   holding the worst-predicted ops; then (or when cross-validation would not fit)
   more architectures drawn like the pool, while the budget lasts;
5. fitting (its time estimated from one forest timed after phase 1): one model per op
   kind, then the executor overheads the per-op timers miss (per-vertex Python
   dispatch, per-input list handling, freeing tensors in proportion to their bytes,
   one per-call cost, a common scale) by bounded least squares on the calibration
   architectures' plain forwards from phase 1.

The path profiled is the one deploy runs (`hw.inference`): the calibration forwards run
on it (the fast path: one frozen graph per model, `nas.fast`) in its memory layout, and
the ops are timed by hooks in eager forwards in that layout (a frozen graph has no
module boundaries to time). The op timers then hold per-module Python work that the
frozen graph does not do (and BatchNorm the graph folds away), in a share that differs
by kind: so every op kind gets a scale of its own, and the fitted per-vertex and
per-input terms may be negative (they take module Python work out again).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import platform
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import networkx as nx
import numpy as np

from hw.budget import Budget
from hw.measure import CLOCKS, Rounds, measure_within, model_and_image, pin_threads
from hw.predictor import MIN_FOREST_SAMPLES, KindModel, LatencyPredictor, Overheads, feature_matrix
from hw.sampling import EVAL_SEED_OFFSET, PROFILE_SPACE, ArchSpace, profilable, sample_architectures
from nas.arch import output_bytes, total_macs
from nas.ops import FEATURES, OPS, Op, architecture_ops, instantiate

log = logging.getLogger(__name__)
# at most, of the budget; re-sampling gets what they leave but the last fit and saving
SHARES = {"ops": 0.70, "coverage": 0.05, "references": 0.05}
SAVE_SHARE = 0.04  # of the budget, left to the caller to write the predictor (beyond `fit_cost`): saving
# took 1.2 s of a 20 s budget at load 2, more under load; 0.01 left 0.2 s and the budget was overrun by 11 %
FIT_MARGIN = 1.2  # the last fit may take this × the first one's time per unit of `fit_cost`
CV_FITS = 2.0  # a cross-validation pass (5 folds of 50 trees on 80 % of the samples) ≈ 2 fits
# phase 1 draws calibration and pool architectures alternately: the overhead fit has 7-9
# parameters, and with 6-8 calibration architectures (one per five pool ones, all a loaded
# 240 s budget held) it overfitted (18 % of held-out models within ±10 %), while ~40 pool
# architectures already gave op models good to 92 % with ample calibration
POOL_PER_CALIBRATION = 1
CALIBRATION_SEED = EVAL_SEED_OFFSET // 2  # disjoint from pool (small) and evaluation seeds


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


def timing(settings: Any, **changes: Any) -> Rounds:
    """How a phase measures: `settings`' (`hw.config.ProfileConfig`) rounds, quantile and
    clock, one warm-up call, with `changes` (the phases differ in rounds and warm-up only)."""
    plan = Rounds(settings.rounds, settings.min_rounds, 1, settings.quantile, settings.clock)
    return replace(plan, **changes)


def by_priority(
    pool: Iterable[nx.DiGraph], calibration: Iterable[nx.DiGraph], ratio: int
) -> Iterator[tuple[bool, nx.DiGraph]]:
    """(is calibration, architecture): one calibration architecture, then `ratio` pool ones,
    and so on (then what is left of the pool), so a short budget keeps both kinds."""
    pool = iter(pool)
    for arch in calibration:
        yield True, arch
        yield from ((False, a) for a in itertools.islice(pool, ratio))
    yield from ((False, a) for a in pool)


def measure_in_context(
    archs: Iterable[nx.DiGraph],
    plan: Rounds,
    deadline: float,
    seed: int = 0,
    tick: Callable[[], None] | None = None,
    calibration: Iterable[nx.DiGraph] = (),
    inference: Any = None,
    ratio: int = 5,
    latest: Callable[[Iterable[Op]], float] | None = None,
) -> tuple[list[tuple[Op, float]], list[nx.DiGraph], list[tuple[nx.DiGraph, float]]]:
    """(op, latency s) per distinct op of `archs`, timed inside interleaved forwards; the
    architectures that fitted the deadline; (calibration architecture, latency s).

    `calibration` architectures run plain (uninstrumented) forwards in the same rounds,
    so the executor overheads are fitted under the very conditions the ops were timed
    in; both are drawn lazily (`ratio` of `archs` per calibration one) while the budget
    lasts (`hw.measure.measure_within`), and run as `inference` says (see the module
    doc; None: eager, contiguous). `latest(ops)`: an earlier deadline that depends on the
    ops timed so far (the time their fit will take).
    """
    now = CLOCKS[plan.clock]
    # the same layout, eager (`hw.config.InferenceConfig`'s fields; not imported: hw.config reaches this module)
    eager = SimpleNamespace(fast_path=False, memory_format=inference.memory_format) if inference is not None else None
    runs: dict[int, tuple[list[Op], list[list[int]]]] = {}  # id(arch) -> (ops, their samples)

    def build(item: tuple[bool, nx.DiGraph]) -> Callable[[], Any]:
        calibrating, arch = item
        model, x = model_and_image(arch, inference if calibrating else eager)
        if not calibrating:
            ops = [op for vertex_ops in architecture_ops(arch).values() for op in vertex_ops]
            runs[id(arch)] = (ops, [[] for _ in ops])
            instrument(model, now, runs[id(arch)][1])
            timing_ops.update(ops)
        return lambda: model(x)

    timing_ops: set[Op] = set()

    def due() -> float:
        return deadline if latest is None else min(deadline, latest(timing_ops))

    overhead = timer_overhead(plan.clock)
    timed = measure_within(by_priority(archs, calibration, ratio), build, plan, due, seed, tick)
    per_op: dict[Op, list[float]] = {}
    for (calibrating, arch), _ in timed:
        if calibrating:
            continue
        for op, samples in zip(*runs[id(arch)], strict=True):  # the first `plan.warmup`: warm-up calls
            t = max(float(np.quantile(samples[plan.warmup :], plan.quantile)) - overhead, 0.0) * 1e-9
            per_op.setdefault(op, []).append(t)
    return (
        [(op, max(float(np.median(ts)), 1e-7)) for op, ts in per_op.items()],
        [arch for (calibrating, arch), _ in timed if not calibrating],
        [(arch, t) for (calibrating, arch), t in timed if calibrating],
    )


def measure_isolated(
    ops: Iterable[Op], plan: Rounds, deadline: float, seed: int = 0, tick: Callable[[], None] | None = None
) -> list[tuple[Op, float]]:
    """Ops timed alone (interleaved), for kinds no sampled architecture contains."""
    import torch

    def runnable() -> Iterator[tuple[Op, Callable[[], Any]]]:
        for op in ops:
            try:
                module, args = instantiate(op)
                with torch.inference_mode():
                    module(*args)
            except (RuntimeError, ValueError):  # shapes the module cannot take
                continue
            yield op, functools.partial(module, *args)

    timed = measure_within(runnable(), lambda item: item[1], plan, deadline, seed, tick)
    return [(op, t) for (op, _), t in timed]


# ---------------------------------------------------------------- fitting helpers


def fit_cost(ops: Iterable[Op]) -> float:
    """What `LatencyPredictor.fit` and saving cost for the distinct `ops`, in units of one
    small forest (`_kind_units` per kind)."""
    return sum(_kind_units(n) for n in Counter(op.kind for op in set(ops)).values())


def _kind_units(samples: int) -> float:
    """A kind's forest grows with its samples (100 trees, one core: 0.07 s at 50 samples,
    0.14 s at 300, 0.41 s at 1000), its linear fit is small; no forest below
    `MIN_FOREST_SAMPLES`."""
    return (1 + samples / 200 if samples >= MIN_FOREST_SAMPLES else 0.0) + 0.05


def fit_seconds_per_unit(seed: int = 0, samples: int = 50) -> float:
    """Seconds one unit of `fit_cost` takes to fit and save on this machine now: one kind's
    model fitted on `samples` synthetic rows and its forest serialised, timed."""
    import skops.io as sio

    rng = np.random.default_rng(seed)
    x, y = rng.uniform(1, 1e5, (samples, len(FEATURES))), rng.uniform(1e-5, 1e-2, samples)
    began = time.monotonic()
    sio.dumps({"probe": KindModel.fit(x, y, seed).forest})
    return (time.monotonic() - began) / _kind_units(samples)


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


def reference_latencies(
    names: list[str],
    plan: Rounds,
    deadline: float,
    inference: Any = None,
    tick: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Measured latency (ms) of torchvision reference models (224×224, batch 1), run as
    `inference` says (layout; the fast path: traced and frozen); those the deadline
    leaves out are missing (a warning names them)."""
    import torch

    from nas.fast import frozen, to_layout

    if not names:
        return {}
    channels_last = inference is not None and inference.memory_format == "channels_last"
    unknown: list[str] = []

    def models() -> Iterator[tuple[str, Callable[[], Any]]]:
        import torchvision  # 3-9 s on a busy machine: `profile` imports it first

        for name in names:
            try:
                model = torchvision.models.get_model(name, weights=None).eval()
            except ValueError:
                log.warning("unknown torchvision reference model %r skipped", name)
                unknown.append(name)
                continue
            x = to_layout(torch.randn(1, 3, 224, 224), channels_last)
            model = model.to(memory_format=torch.channels_last) if channels_last else model
            if inference is not None and inference.fast_path:
                model = frozen(model, (x,))
            yield name, functools.partial(model, x)

    timed = {name: t * 1e3 for (name, _), t in measure_within(models(), lambda item: item[1], plan, deadline, 0, tick)}
    if missing := [n for n in names if n not in timed and n not in unknown]:
        log.warning("the profile budget left no time to time the reference models %s", ", ".join(missing))
    return timed


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
    start: float | None = None,
) -> LatencyPredictor:
    """Profile this machine within `budget_s` (default `settings.budget_s`) of wall-clock
    from `start` (a `time.monotonic()`; default: now) and fit the predictor, leaving the
    caller `SAVE_SHARE` of it to save the result.

    `space` is the distribution profiled and calibrated architectures are drawn from;
    `inference` (`hw.inference`) the path and layout profiled (None: eager, contiguous).
    """
    with Budget(float(budget_s or settings.budget_s), start, progress, "profiling ops") as budget:
        return _profile(settings, budget, space, inference)


def _profile(settings: Any, budget: Budget, space: ArchSpace, inference: Any) -> LatencyPredictor:
    # imports that take seconds on a busy machine (torchvision pulls in torch._dynamo: 3-9 s)
    # come first, where the phase deadlines absorb them, not in a late phase's share
    import scipy.optimize  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import skops.io  # noqa: F401  # the caller saves with it

    if settings.references:
        import torchvision  # noqa: F401

    pin_threads(settings.threads)
    load_before = os.getloadavg()
    rng = random.Random(settings.seed)
    plan = timing(settings)

    # fitting and saving, timed on one forest under this machine's load now, end the phases early enough
    samples: list[tuple[Op, float]] = []
    per_unit = fit_seconds_per_unit(settings.seed)

    def before_fit(more: Iterable[Op] = ()) -> float:
        """The latest end of a measurement that leaves time to fit and save `samples` and `more`."""
        fit_s = FIT_MARGIN * per_unit * fit_cost(itertools.chain((op for op, _ in samples), more))
        return budget.end - fit_s - SAVE_SHARE * budget.seconds

    # 1. ops, timed inside sampled architectures; calibration architectures in the same rounds
    # drawn lazily; phase 1 takes up to `pool_architectures`, the last phase more while the budget lasts
    sampled = sample_architectures(10**9, seed=settings.seed, space=space)
    samples, pool, calibration = measure_in_context(
        itertools.islice(sampled, settings.pool_architectures),
        plan,
        budget.until(SHARES["ops"]),
        settings.seed,
        budget.tick,
        sample_architectures(settings.calibration_architectures, seed=CALIBRATION_SEED, space=space),
        inference,
        POOL_PER_CALIBRATION,
        before_fit,
    )
    if not calibration:
        raise ValueError(
            f"hw.profile.budget_s={budget.seconds:g} is too short to time one architecture on this machine; raise it"
        )
    log.info(
        "profiled %d distinct ops of %d architectures (%d calibration) in %.0f s",
        len(samples),
        len(pool),
        len(calibration),
        time.monotonic() - budget.start,
    )

    # 2. coverage of kinds no architecture produced
    budget.phase("coverage")
    if coverage := _coverage_ops([op for op, _ in samples], rng):
        deadline = min(budget.until(SHARES["ops"] + SHARES["coverage"]), before_fit(coverage))
        samples += measure_isolated(coverage, timing(settings, warmup=2), deadline, settings.seed, budget.tick)

    # 3. reference models for scaled targets
    budget.phase("references")
    share = SHARES["ops"] + SHARES["coverage"] + SHARES["references"]
    references = reference_latencies(
        list(settings.references),
        timing(settings, rounds=max(settings.min_rounds, 5), min_rounds=3, warmup=2),
        min(budget.until(share), before_fit()),
        inference,
        budget.tick,
    )

    # 4. adaptive re-sampling where the cross-validated error is high, in what is left
    budget.phase("re-sampling")
    seed = settings.seed * 1000 + 10_000
    for iteration in range(settings.adaptive_iterations):
        deadline = before_fit()
        if time.monotonic() + CV_FITS * per_unit * fit_cost(op for op, _ in samples) > deadline:
            break
        errors = cross_validated_errors(samples, settings.seed + iteration)
        bad = {op for op, e in errors.items() if e > settings.error_threshold}
        holders = [a for a in pool if any(op in bad for ops in architecture_ops(a).values() for op in ops)]
        if not holders:
            break
        # as many as the time allows, in random order (`measure_within` draws them lazily)
        picked = rng.sample(holders, len(holders))
        fresh = (new for k, arch in enumerate(picked) if (new := resample_like(arch, seed + 1 + k)) is not None)
        seed += len(picked)
        per_iteration = (deadline - time.monotonic()) / (settings.adaptive_iterations - iteration)
        new_samples, profiled, _ = measure_in_context(
            fresh, plan, time.monotonic() + per_iteration, seed, budget.tick, inference=inference, latest=before_fit
        )
        samples = _merge_samples(samples, new_samples)
        pool += profiled
        log.info(
            "adaptive pass %d: %d ops above %.0f %% error; %d more architectures profiled",
            iteration + 1,
            len(bad),
            100 * settings.error_threshold,
            len(profiled),
        )

    # what adaptive re-sampling left (or could not use: its cross-validation would not fit): more of the pool
    if (extra := before_fit() - time.monotonic()) > 0:
        new_samples, profiled, _ = measure_in_context(
            sampled, plan, before_fit(), seed, budget.tick, inference=inference, latest=before_fit
        )
        samples = _merge_samples(samples, new_samples)
        pool += profiled
        log.info("%d more architectures profiled in the last %.0f s", len(profiled), extra)

    # 5. the op models; executor overheads from the calibration architectures timed in
    # phase 1; on the fast path each kind keeps its own share of its eager op time (see
    # the module doc)
    budget.phase("fitting")
    began = time.monotonic()
    predictor = LatencyPredictor.fit(samples, seed=settings.seed)
    log.info(
        "fitted %d ops in %.1f s (estimated %.1f s)",
        len(samples),
        time.monotonic() - began,
        per_unit * fit_cost(op for op, _ in samples),
    )
    archs = [a for a, _ in calibration]
    measured = [t for _, t in calibration]
    terms = np.array([calibration_terms(a, predictor) for a in archs])
    kinds = [predictor.kind_sums(a) for a in archs] if inference is not None and inference.fast_path else None
    predictor.overheads = fit_overheads(*terms.T, np.array(measured), kinds)  # type: ignore[call-arg]  # numpy: *terms.T is 4 rows

    predictor.metadata = {
        **machine_metadata(settings),
        "budget_s": budget.seconds,
        "duration_s": round(time.monotonic() - budget.start, 1),
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
