"""Root config schema; composes every package's config groups (nanoGPT-style dataclasses).

`register_configs()` stores the root schema and each package's group schemas in
Hydra's ConfigStore; `validate(cfg)` turns the composed config into dataclass objects
so every `__post_init__` range check runs before any work starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

import nas.config


@dataclass
class Config:
    task: str = "search"  # search | analyze | survey | train | profile | deploy | report | sync
    nodes: int = 40  # compute vertices of a sampled architecture
    seed: int = 0
    input_size: int = 32  # square input side in pixels
    num_classes: int = 10
    in_channels: int = 3
    arch: Optional[str] = None  # architecture file (node-link JSON); overrides the generator
    verbose: bool = False
    generator: Any = MISSING
    staging: Any = MISSING
    hw: Any = MISSING
    analysis: Any = MISSING
    data: Any = MISSING
    train: Any = MISSING
    search: Any = MISSING
    deploy: Any = MISSING

    def __post_init__(self) -> None:
        from search.tasks import TASKS

        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS.names())}, got {self.task!r}")
        if self.nodes < 2:
            raise ValueError(f"nodes must be >= 2, got {self.nodes}")
        if self.input_size < 8:
            raise ValueError(f"input_size must be >= 8 pixels, got {self.input_size}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {self.num_classes}")
        if self.in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {self.in_channels}")


_REGISTERED = False


def register_configs() -> None:
    global _REGISTERED
    if _REGISTERED:
        return
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    nas.config.register_configs(cs)
    import importlib

    for package in ("partition", "hw", "hw.runtime", "training"):
        try:
            module = importlib.import_module(f"{package}.config")
        except ModuleNotFoundError as err:
            if err.name != f"{package}.config":
                raise
            continue
        module.register_configs(cs)
    _REGISTERED = True


def validate(cfg: DictConfig) -> Config:
    """Composed config → dataclass objects; raises ValueError with a one-line message."""
    return OmegaConf.to_object(cfg)
