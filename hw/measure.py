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
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

CLOCKS = {"thread": time.thread_time_ns, "wall": time.perf_counter_ns}


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

    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, got {clock!r}")
    now = CLOCKS[clock]
    samples: list[list[int]] = [[] for _ in calls]
    rng = random.Random(seed)
    order = list(range(len(calls)))
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with torch.inference_mode(not grad):
            for call in calls:
                for _ in range(warmup):
                    call()
            for done in range(rounds):
                if deadline is not None and done >= min_rounds and time.monotonic() > deadline:
                    break
                rng.shuffle(order)
                for i in order:
                    start = now()
                    calls[i]()
                    samples[i].append(now() - start)
                if progress is not None:
                    progress.update(1)
    finally:
        if gc_was_enabled:
            gc.enable()
    return [robust_latency(s, quantile) * 1e-9 for s in samples]


def model_and_image(arch: Any, inference: Any = None) -> tuple[Any, Any]:
    """The built model of `arch` run the way `inference` (an `hw.config.InferenceConfig`;
    None: eager, contiguous) says, and a random batch-1 image for it in that layout."""
    import torch

    from nas.builder import build_model
    from nas.fast import inference_model, to_layout

    size = arch.graph["input_size"]
    fast_path, channels_last = (
        (inference.fast_path, inference.memory_format == "channels_last") if inference is not None else (False, False)
    )
    image = to_layout(torch.randn(1, arch.graph.get("in_channels", 3), size, size), channels_last)
    return inference_model(build_model(arch), fast_path, channels_last), image
