"""The task registry `run.py` dispatches on, and what every task shares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hw.testbed import TestbedError
from nas.checks import INPUT_ERRORS
from nas.registry import Registry
from search.errors import SearchError, SearchInterrupted

# Bad input (config values, files, paths), a search stopped on purpose (too many failed
# trials, a lost worker, Ctrl-C), or a host that cannot run the emulated testbed (no
# root, a failed `ip`/`tc` command): `run.py` reports these as one line.
USER_ERRORS = (*INPUT_ERRORS, SearchError, SearchInterrupted, TestbedError)

TASKS: Registry[Callable[[Any], dict]] = Registry("task")
register_task = TASKS.register


def output_dir() -> Path:
    """Hydra's run directory when running under Hydra, else the working directory."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path.cwd()
