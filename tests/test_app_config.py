"""Every option of every config group composes, validates and instantiates."""

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf

from app.config import validate
from tests.conftest import CONF_DIR, compose_config

GROUP_OPTIONS = sorted(
    (path.parent.name, path.stem) for path in Path(CONF_DIR).glob("*/*.yaml") if path.parent.name != "experiment"
)
# Options that need a user-given value to be valid.
REQUIRED = {("data", "imagefolder"): ["data.path={tmp}"]}
EXPERIMENTS = sorted(path.stem for path in Path(CONF_DIR).glob("experiment/*.yaml"))


def _instantiate_targets(node) -> int:
    """Instantiate every sub-node that has a `_target_` (partials stay partial)."""
    count = 0
    if isinstance(node, DictConfig):
        if "_target_" in node:
            instantiate(node)
            return 1
        for key in node:
            count += _instantiate_targets(node[key])
    elif isinstance(node, ListConfig):
        for item in node:
            count += _instantiate_targets(item)
    return count


@pytest.mark.parametrize("group,option", GROUP_OPTIONS)
def test_group_option_composes_and_validates(group, option, tmp_path):
    extra = [o.format(tmp=tmp_path) for o in REQUIRED.get((group, option), [])]
    cfg = compose_config(f"{group}={option}", *extra)
    OmegaConf.resolve(cfg)
    validate(cfg)
    _instantiate_targets(cfg)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_validates(experiment):
    cfg = compose_config(f"experiment={experiment}", tiny=False)
    validate(cfg)
    _instantiate_targets(cfg)


@pytest.mark.parametrize(
    "override,message",
    [
        ("nodes=1", "nodes must be >= 2"),
        ("generator=er generator.p=2.0", r"generator.p must be in \[0, 1\]"),
        ("staging=greedy staging.max_channels=4", "max_channels must be >="),
        ("task=nope", "task must be one of"),
    ],
)
def test_out_of_range_values_say_what_is_valid(override, message):
    cfg = compose_config(*override.split())
    with pytest.raises(ValueError, match=message):
        validate(cfg)
