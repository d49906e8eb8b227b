"""The task registry `run.py` dispatches on, and what every task shares."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from nas.checks import INPUT_ERRORS
from nas.registry import Registry
from search.errors import SearchError, SearchInterrupted

# Bad input (config values, files, paths), or a search stopped on purpose (too many
# failed trials, a lost worker, Ctrl-C): `run.py` reports these as one line.
USER_ERRORS = (*INPUT_ERRORS, SearchError, SearchInterrupted)

TASKS: Registry[Callable[[Any], dict]] = Registry("task")
register_task = TASKS.register


def output_dir() -> Path:
    """Hydra's run directory when running under Hydra, else the working directory."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path.cwd()
