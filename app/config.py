"""The root config schema and the registration of every group's schema (nanoGPT-style dataclasses).

`register_configs()` stores the root schema and each package's group schemas in
Hydra's ConfigStore; `validate(cfg)` turns the composed config into dataclass objects
so every `__post_init__` range check runs before any work starts. Each default lives
once, in a schema; a YAML option sets only what differs from it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import II, MISSING, DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

import hw.config
import hw.runtime.config
import nas.config
import partition.config
import search.config
import training.config
from app.strict import check_strict, unknown_setting
from app.tasks import TASKS
from nas.checks import require, require_one_of

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


@dataclass
class Config:
    task: str = "search"  # search | analyze | survey | train | profile | deploy | report | sync
    nodes: int = 16  # compute vertices of a sampled architecture
    seed: int = 0
    # Image shape and classes follow the data set; override to analyse at another size.
    input_size: int = II("data.input_size")  # square input side in pixels
    num_classes: int = II("data.num_classes")
    in_channels: int = II("data.in_channels")
    arch: str | None = None  # architecture file (node-link JSON); overrides the generator
    # a trained search trial (analyze, train, deploy take its architecture and weights):
    # <study>:<number>, <number> (of search.study_name's study) or its MLflow run id
    trial: str | None = None
    verbose: bool = False  # a failing task raises with its traceback instead of one line
    generator: Any = MISSING
    staging: Any = MISSING
    hw: Any = MISSING
    analysis: Any = MISSING
    data: Any = MISSING
    train: Any = MISSING
    search: Any = MISSING
    space: Any = MISSING
    deploy: Any = MISSING

    def __post_init__(self) -> None:
        require_one_of("task", self.task, TASKS.names())
        require(self.nodes >= 2, f"nodes must be >= 2, got {self.nodes}")
        require(self.input_size >= 8, f"input_size must be >= 8 pixels, got {self.input_size}")
        require(self.num_classes >= 2, f"num_classes must be >= 2, got {self.num_classes}")
        require(self.in_channels >= 1, f"in_channels must be >= 1, got {self.in_channels}")
        require(not (self.trial and self.arch), "give arch=<file> or trial=<study>:<number>, not both")


@cache
def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    for package in (nas.config, partition.config, hw.config, hw.runtime.config, training.config, search.config):
        package.register_configs(cs)


def validate(cfg: DictConfig) -> Config:
    """Composed config → dataclass objects; raises ValueError with a one-line message."""
    try:
        return check_strict(OmegaConf.to_object(cfg))
    except OmegaConfBaseException as err:  # e.g. an interpolation into a key set to null
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        key = getattr(err, "full_key", None)
        raise ValueError(f"{key}: {first}" if key and key not in first else first) from None


# The detail lines OmegaConf adds under its message: the key is named on the line already.
_DETAIL_LINES = ("full_key:", "object_type=", "reference_type=")


def composition_error(err: Exception) -> str:
    """Hydra's error for a bad override or option (several lines: what failed, OmegaConf's
    reason, its full_key and object_type, the available options, the search path) as one line."""
    options = getattr(err, "options", None)
    if options:  # MissingConfigException: an option of a group that does not exist
        return f"{str(err).strip().splitlines()[0]}; available: {', '.join(options)}"
    cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else None
    schema = getattr(cause, "object_type", None)
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and cause.full_key and is_dataclass(schema):
        # a key the schema lacks: the `+` Hydra advises would be refused too (app.strict)
        return unknown_setting(cause.full_key, [f.name for f in fields(schema)])
    lines = [line.strip() for part in (err, cause) if part is not None for line in str(part).splitlines()]
    return "; ".join(line for line in lines if line and not line.startswith(_DETAIL_LINES)) or type(err).__name__


def compose(*overrides: str) -> DictConfig:
    """The root config as `python run.py <overrides>` would compose it (for scripts, tests)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))
