"""Shared fixtures: compose the real Hydra config with tiny CPU overrides."""

from __future__ import annotations

import pytest
import torch

from app.config import CONF_DIR as _CONF_DIR
from app.config import compose, register_configs

CONF_DIR = str(_CONF_DIR)
TINY = ["nodes=8", "input_size=16", "staging.channels=8", "staging.max_channels=32"]

torch.set_num_threads(1)  # the suite runs on 2-core machines; keep timings predictable


@pytest.fixture(scope="session", autouse=True)
def _configs() -> None:
    register_configs()


def compose_config(*overrides: str, tiny: bool = True):
    """The composed root config (a DictConfig), like `python run.py <overrides>`."""
    return compose(*(TINY if tiny else []), *overrides)


@pytest.fixture
def tiny_cfg():
    return compose_config()
