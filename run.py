"""Thin Hydra entry point: compose the config, validate it, dispatch on `task` (see app/).

The last stdout line is the task's result as one JSON object; a short human summary of
it (`partition.summary`) goes to stderr just before. Bad input, from a mistyped override
to a missing data set, is one `error:` line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import os
import sys

import hydra
from hydra.errors import CompactHydraException, InstantiationException
from omegaconf import DictConfig

from app import TASKS, USER_ERRORS, register_configs, validate
from app.config import composition_error
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
    print_summary(result)  # a few lines for a person, on stderr
    print(json.dumps(result, default=str))
    return result


def cli() -> None:
    """`main`, with Hydra's own errors (composing the config: an unknown option or key, a
    value of the wrong type, an override it cannot parse) as one line too. Hydra prints
    them over several lines and exits 1 unless HYDRA_FULL_ERROR=1 lets them through to
    here; a user who sets it (or verbose=true, for the task's errors) gets the traceback."""
    full_error = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        main()
    except CompactHydraException as err:
        if full_error or isinstance(err, InstantiationException):
            raise
        print(f"error: {composition_error(err)}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    cli()
