"""A wall-clock budget split into phases, with one progress bar of the real time left.

`task=profile hw.profile.budget_s=60` must take 60 s of the user's time, not 60 s of
timed rounds plus whatever building, tracing, warming up, fitting and saving add (a
240 s budget once took 454 s). So one clock runs from the start of the task, every
phase ends at a share of the budget, and work is admitted step by step against the
deadline (`hw.measure.measure_within`). The bar counts seconds of the budget, so its
"left" is the time the task will still take, not an estimate from a rate.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

_STARTED: list[float] = []  # tasks this process has started
FRESH_PROCESS_S = 120.0  # a process older than this at its first task is not a fresh `python run.py`


def task_start() -> float:
    """When a task's wall-clock budget starts: for the first task of a fresh process (a
    `python run.py`), the process start, as the user's wall-clock includes the interpreter
    start and the imports (Linux: /proc); otherwise now (later jobs of a Hydra multirun in
    the same process, a notebook, a test session)."""
    now = time.monotonic()
    _STARTED.append(now)
    started = _process_start()
    return started if len(_STARTED) == 1 and now - started < FRESH_PROCESS_S else now


def _process_start() -> float:
    """`time.monotonic()` at this process's start (now where /proc cannot tell)."""
    import os

    try:
        with open("/proc/self/stat") as stat:
            started_ticks = float(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            up = float(uptime.read().split()[0])
        age = up - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        age = 0.0
    return time.monotonic() - max(age, 0.0)


class Budget:
    """`seconds` of wall-clock from `start` (default: now); a context manager for its bar."""

    def __init__(self, seconds: float, start: float | None = None, progress: bool = True, desc: str = "") -> None:
        from tqdm import tqdm

        self.seconds = seconds
        self.start = time.monotonic() if start is None else start
        self.end = self.start + seconds
        self._bar: Any = tqdm(
            total=round(seconds, 1),
            desc=desc,
            unit="s",
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s{postfix}",
            disable=not progress,
            leave=False,
            mininterval=0.5,
        )
        self.tick()

    def until(self, share: float) -> float:
        """The deadline (`time.monotonic()`) `share` of the budget after the start."""
        return self.start + share * self.seconds

    def left(self) -> float:
        """Seconds until the end (negative once overrun)."""
        return self.end - time.monotonic()

    def phase(self, desc: str) -> None:
        """Name what the time goes to now (redrawn at once)."""
        self._bar.set_description_str(desc, refresh=False)
        self.tick()
        self._bar.refresh()

    def tick(self) -> None:
        """Bring the bar to the time spent (cheap: tqdm redraws at most twice a second)."""
        left = self.left()
        self._bar.set_postfix_str(f"{left:.0f} s left" if left >= 0 else f"{-left:.0f} s over", refresh=False)
        self._bar.update(max(min(self.seconds - left, self.seconds) - self._bar.n, 0.0))

    def __enter__(self) -> Budget:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._bar.close()
