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


def task_start() -> float:
    """`time.monotonic()` at this process's start for its first task (the user's wall-clock
    includes the interpreter start and imports; Linux: /proc, else now), now for later
    ones (a Hydra multirun runs its jobs in one process)."""
    _STARTED.append(time.monotonic())
    return _process_start() if len(_STARTED) == 1 else _STARTED[-1]


def _process_start() -> float:
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
        self._bar.set_description_str(desc, refresh=False)
        self.tick()

    def tick(self) -> None:
        """Bring the bar to the time spent (cheap: tqdm redraws at most twice a second)."""
        left = self.left()
        self._bar.set_postfix_str(f"{left:.0f} s left" if left >= 0 else f"{-left:.0f} s over", refresh=False)
        self._bar.update(max(min(self.seconds - left, self.seconds) - self._bar.n, 0.0))

    def __enter__(self) -> Budget:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._bar.close()
