"""Thin Hydra entry point: compose the config, validate it, dispatch on `task` (see app/).

The last stdout line is the task's result as one JSON object; a short human summary of
it (`partition.summary`) goes to stderr just before.
"""

from __future__ import annotations

import json
import sys

import hydra
from omegaconf import DictConfig

from app import TASKS, USER_ERRORS, register_configs, validate
from app.console import reader_may_leave
from partition.summary import print_summary

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict | None:
    try:
        config = validate(cfg)
        result = TASKS.get(config.task)(config)
    except USER_ERRORS as err:
        if cfg.get("verbose"):
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    with reader_may_leave(sys.stderr):
        print_summary(result)  # a few lines for a person, on stderr
    with reader_may_leave(sys.stdout):  # `run.py ... | head`: no traceback, the task's exit code
        print(json.dumps(result, default=str), flush=True)
    return result


if __name__ == "__main__":
    main()
