"""The task registry `run.py` dispatches on, and what every task shares."""

from __future__ import annotations

import json
import math
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


def result_json(result: dict) -> str:
    """A task's result as the one JSON line `run.py` prints: NaN and infinities as null
    (they are not JSON, and a strict parser refuses them), anything else not JSON as its
    `str`. `allow_nan=False` makes sure none is left."""

    def finite(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [finite(v) for v in value]
        return value

    return json.dumps(finite(result), default=str, allow_nan=False)
