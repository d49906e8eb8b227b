"""Robust batch-1 latency measurement on a shared, noisy CPU.

Why this method: on a machine shared with other jobs the median wall time of a model
swings by 1.5× within a minute (time slicing, a busy SMT sibling). Three things make
a measurement repeatable:
- one intra-op thread (`torch.set_num_threads(1)`): all work runs in the calling thread;
- the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) instead of wall time, so
  being descheduled is not counted; on an idle core the two agree (`clock="wall"`
  measures wall time instead);
- interleaving: every round runs every candidate once (in a shuffled order), and the
  statistic is a low quantile over rounds, so a burst of contention hits all
  candidates alike and is discarded instead of inflating one of them.
- a steady allocator (`tune_allocator`): glibc returns large freed tensors to the OS
  (munmap, heap trimming) and takes them back with page faults on the next forward;
  that churn cost 10-25 % of a 224-px model and depended on what else the process had
  run. PyTorch's CPU performance guide recommends a caching allocator for inference
  for the same reason; raising glibc's mmap/trim thresholds gives the same effect.
Everything runs under `torch.inference_mode()` after a warm-up (`grad=True`: with
autograd, to time training steps).
"""

from __future__ import annotations

import contextlib
import gc
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

CLOCKS = {"thread": time.thread_time_ns, "wall": time.perf_counter_ns}
T = TypeVar("T")
_END: Any = object()


def tune_allocator() -> bool:
    """Keep freed memory in the process (glibc `mallopt`); False where that is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    ok = mallopt(m_mmap_threshold, 1 << 30) and mallopt(m_trim_threshold, 2**31 - 1)
    mallopt(m_top_pad, 64 << 20)
    return bool(ok)


def pin_threads(threads: int = 1, allocator: bool = True) -> None:
    """Prepare this process for timing: torch thread counts fixed, allocator steady."""
    import torch

    if allocator:
        tune_allocator()

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # only settable before the first parallel work
        torch.set_num_interop_threads(threads)


def robust_latency(samples: Sequence[float], quantile: float) -> float:
    """The `quantile` of the samples (0 = minimum): contention only ever adds time."""
    return float(np.quantile(np.asarray(samples, dtype=float), quantile))


@dataclass(frozen=True)
class Rounds:
    """How one measurement runs: up to `rounds` interleaved rounds (at least `min_rounds`
    planned), after `warmup` untimed calls of each candidate; the statistic is the
    `quantile` over rounds of `clock` time (see the module doc)."""

    rounds: int = 10
    min_rounds: int = 3
    warmup: int = 2
    quantile: float = 0.1
    clock: str = "thread"

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, got {self.clock!r}")


def measure_interleaved(
    calls: Sequence[Callable[[], Any]],
    rounds: int = 10,
    quantile: float = 0.1,
    clock: str = "thread",
    seed: int = 0,
    warmup: int = 2,
    progress: Any = None,
    deadline: float | None = None,
    min_rounds: int = 3,
    grad: bool = False,
) -> list[float]:
    """Latency in seconds of each zero-argument call, measured interleaved.

    Each round times one call of every candidate, in a fresh random order. After
    `min_rounds`, rounds stop early once `time.monotonic()` passes `deadline`.
    `progress` is an optional tqdm bar advanced once per round. The garbage collector
    is paused: a collection inside a timed call is noise, not latency.
    """
    import torch

    plan = Rounds(rounds, min_rounds, warmup, quantile, clock)
    with _quiet(), torch.inference_mode(not grad):
        for call in calls:
            for _ in range(warmup):
                call()

        def stop(done: int, round_s: float) -> bool:
            return deadline is not None and done >= min_rounds and time.monotonic() > deadline

        samples = _rounds(calls, plan, seed, stop, (lambda: progress.update(1)) if progress is not None else None)
    return [robust_latency(s, quantile) * 1e-9 for s in samples]


def measure_within(
    items: Iterable[T],
    build: Callable[[T], Callable[[], Any]],
    plan: Rounds,
    deadline: float | Callable[[], float],
    seed: int = 0,
    tick: Callable[[], None] | None = None,
) -> list[tuple[T, float]]:
    """(item, latency s) for the leading `items` whose measurement fits before `deadline`.

    A wall-clock budget counts building too (a model, its trace on the fast path), so
    items are drawn (a lazy iterable: drawing may cost too), built (`build(item)` returns the zero-argument call to time) and
    warmed up one at a time, in order of priority, while `plan.min_rounds` rounds of all
    admitted calls still fit, as estimated from each call's last warm-up (wall time) and
    the mean building time so far; the rest are never built. Rounds then run up to
    `plan.rounds` while the next one, as long as the last, still ends before `deadline`:
    on a machine that gets busier, fewer rounds, not a later end (at least one round).
    `deadline` may be a function, asked before every step (a deadline that moves with what
    was built). `tick` is called after every build and every round (a progress bar).
    """
    import torch

    due: Callable[[], float] = deadline if callable(deadline) else lambda: deadline

    kept: list[T] = []
    calls: list[Callable[[], Any]] = []
    costs: list[float] = []  # wall seconds of one call each
    setup = 0.0  # wall seconds spent building and warming up
    pending = iter(items)
    with torch.inference_mode():
        while True:
            started = time.monotonic()
            mean_setup, mean_cost = (setup / len(kept), sum(costs) / len(kept)) if kept else (0.0, 0.0)
            if started + mean_setup + plan.min_rounds * (sum(costs) + mean_cost) > due():
                break
            item = next(pending, _END)
            if item is _END:
                break
            call = build(item)
            for _ in range(plan.warmup):
                warm = time.monotonic()
                call()
            costs.append(time.monotonic() - warm if plan.warmup else 0.0)
            setup += time.monotonic() - started
            kept.append(item)
            calls.append(call)
            if tick is not None:
                tick()

        def stop(done: int, round_s: float) -> bool:
            return done >= 1 and time.monotonic() + round_s > due()

        with _quiet():
            samples = _rounds(calls, plan, seed, stop, tick)
    return [(item, robust_latency(s, plan.quantile) * 1e-9) for item, s in zip(kept, samples, strict=True)]


def _rounds(
    calls: Sequence[Callable[[], Any]],
    plan: Rounds,
    seed: int,
    stop: Callable[[int, float], bool],
    tick: Callable[[], None] | None,
) -> list[list[int]]:
    """`plan.clock` samples (ns) of each call over interleaved rounds, until `plan.rounds`
    or `stop(rounds done, wall seconds of the last round)`."""
    now = CLOCKS[plan.clock]
    samples: list[list[int]] = [[] for _ in calls]
    rng = random.Random(seed)
    order = list(range(len(calls)))
    round_s = 0.0
    for done in range(plan.rounds):
        if stop(done, round_s):
            break
        began = time.monotonic()
        rng.shuffle(order)
        for i in order:
            start = now()
            calls[i]()
            samples[i].append(now() - start)
        round_s = time.monotonic() - began
        if tick is not None:
            tick()
    return samples


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The garbage collector paused: a collection inside a timed call is noise, not latency."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc_was_enabled:
            gc.enable()


def model_and_image(arch: Any, inference: Any = None) -> tuple[Any, Any]:
    """The built model of `arch` run the way `inference` (an `hw.config.InferenceConfig`;
    None: eager, contiguous) says, and a random batch-1 image for it in that layout.

    On the fast path the model is called twice here: the first call traces and freezes
    it, the second lets TorchScript optimise the graph (3-10x a steady call), so the
    model is built ready to time, and building is where its cost shows."""
    import torch

    from nas.builder import build_model
    from nas.fast import inference_model, to_layout

    size = arch.graph["input_size"]
    fast_path, channels_last = (
        (inference.fast_path, inference.memory_format == "channels_last") if inference is not None else (False, False)
    )
    image = to_layout(torch.randn(1, arch.graph.get("in_channels", 3), size, size), channels_last)
    model = inference_model(build_model(arch), fast_path, channels_last)
    if fast_path:
        with torch.inference_mode():
            model(image)
            model(image)
    return model, image
