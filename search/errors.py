"""Errors a search ends with, reported by `run.py` as one `error: …` line (exit 2)."""

from __future__ import annotations


class SearchError(RuntimeError):
    """A search that could not finish; the message is one line saying why and what to do."""


class StudyFailedError(SearchError):
    """Too many trials failed (`search.max_failure_rate`): the set-up, not one
    architecture, is wrong (learning rate, data, memory)."""


class WorkerError(SearchError):
    """A worker process of `search.n_workers` died or stopped with an error."""


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C: the running trial was recorded FAIL; completed trials are kept."""
