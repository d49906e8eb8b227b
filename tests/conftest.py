"""Shared fixtures: compose the real Hydra config with tiny CPU overrides."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from search.config import register_configs

CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")
TINY = ["nodes=8", "input_size=16", "staging.channels=8", "staging.max_channels=32"]

torch.set_num_threads(1)  # the suite runs on 2-core machines; keep timings predictable


@pytest.fixture(scope="session", autouse=True)
def _configs() -> None:
    register_configs()


def compose_config(*overrides: str, tiny: bool = True):
    """The composed root config (a DictConfig), like `python run.py <overrides>`."""
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose("config", overrides=[*(TINY if tiny else []), *overrides])


@pytest.fixture
def tiny_cfg():
    return compose_config()
