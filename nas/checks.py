"""The two checks every config schema's `__post_init__` makes, with one message style.

Every package's schema (nas, partition, hw, training, search) raises `ValueError`
with a one-line message naming the full config key, which `run.py` prints as
`error: ...`. Torch-free, so any process may import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nas.registry import UnknownNameError

# What bad input (config values, names, files, paths) raises anywhere in the project:
# reported as one line, not a traceback (app.tasks.USER_ERRORS adds a search's stops).
INPUT_ERRORS = (ValueError, UnknownNameError, FileNotFoundError, NotImplementedError)


def require(condition: bool, message: str) -> None:
    """Raise `ValueError(message)` unless `condition` holds."""
    if not condition:
        raise ValueError(message)


def require_one_of(key: str, value: Any, choices: Iterable[Any]) -> None:
    """`key` (a full config key, e.g. `deploy.partitioner`) must be one of `choices`."""
    options = list(choices)
    if value not in options:
        raise ValueError(f"{key} must be one of {', '.join(map(str, options))}, got {value!r}")
