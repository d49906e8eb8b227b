"""run.py's console when its reader leaves early (`run.py ... | head`, `| true`): quiet.

A write to a pipe whose reader has closed fails with BrokenPipeError: Hydra's console log
handler would print "--- Logging error ---" and a traceback for every later record, and
the JSON line's print would end the job with Hydra's "Error executing job". Instead the
stream's descriptor is pointed at /dev/null at the first failure, so the task finishes
(its files are written) and exits with its own code, and nothing more is said.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


def discard(stream: TextIO) -> None:
    """From now on, writes to `stream` (and the exit flush) go to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


@contextmanager
def reader_may_leave(stream: TextIO) -> Iterator[None]:
    """Writes to `stream` inside the block: a closed reader discards the stream, silently."""
    try:
        yield
    except BrokenPipeError:
        discard(stream)


class ConsoleHandler(logging.StreamHandler):
    """Hydra's console handler (conf/config.yaml), silent once its reader has gone."""

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            discard(self.stream)
        else:
            super().handleError(record)
