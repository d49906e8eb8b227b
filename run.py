"""Thin Hydra entry point: compose the config, validate it, dispatch on `task` (see app/).

The last stdout line is the task's result as one JSON object.
"""
from __future__ import annotations

import json
import sys

import hydra
from omegaconf import DictConfig

from app import TASKS, USER_ERRORS, register_configs, validate

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
    print(json.dumps(result, default=str))
    return result


if __name__ == "__main__":
    main()
