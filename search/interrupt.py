"""Ctrl-C as a flag as well as a KeyboardInterrupt, so that no worker loses it.

Python raises KeyboardInterrupt wherever the main thread is; raised inside a
finalizer (`__del__`: a DataLoader iterator shutting its loader processes down, run
by the garbage collector after every trial) it is printed as "Exception ignored" and
lost, and the worker went on to train more trials. `StopRequest` also records the
signal; the trial's next training batch (`StopCheck`) and the end of each trial
(`StopRequest.after_trial`, an Optuna callback) raise it again.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import lightning.pytorch as pl
import optuna

from search.tracking import INTERRUPTED


class StopRequest:
    """SIGINT handler (while `installed`): remember the request, then raise as Python does."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        raise KeyboardInterrupt(INTERRUPTED)

    def check(self) -> None:
        """Raise the request again if it was swallowed since."""
        if self.requested:
            raise KeyboardInterrupt(INTERRUPTED)

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.check()

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopRequest]:
        """This handler for SIGINT in the block (main thread only), the previous one after it."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous: Any = signal.signal(signal.SIGINT, self)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    def restore(self) -> None:
        """Lightning ignores SIGINT while it shuts a fit down after Ctrl-C: listen again."""
        if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            signal.signal(signal.SIGINT, self)


class StopCheck(pl.Callback):
    """Before each training batch: a Ctrl-C swallowed since is raised again (Lightning then
    stops the fit as for any Ctrl-C)."""

    def __init__(self, stop: StopRequest) -> None:
        self.stop = stop

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int):
        self.stop.check()
