"""Settings the schemas cannot check: `+` typos, seeds, the optimizer's and scheduler's keys."""

from __future__ import annotations

import pytest

from app.config import validate
from tests.conftest import compose_config

REFUSED = [
    ("+search.n_trails=3", "search.n_trails is not a setting (did you mean search.n_trials? valid under search: name,"),
    ("+n_trails=3", "n_trails is not a setting (valid under the root: task, nodes,"),
    ("+search.mlflow.tracking=x", "search.mlflow.tracking is not a setting (did you mean search.mlflow.tracking_uri?"),
    ("+train.epoch=3", "train.epoch is not a setting (did you mean train.epochs?"),
    ("train.optimizer.lr=abc", "train.optimizer.lr must be a number, got 'abc'"),
    (
        "+train.optimizer.momentun=0.9",
        "train.optimizer.momentun: torch.optim.AdamW has no parameter 'momentun'; valid: lr,",
    ),
    ("train.optimizer._target_=torch.optim.Nope", "train.optimizer._target_='torch.optim.Nope' cannot be used"),
    ("seed=-1", "seed must be >= 0 (a random seed), got -1"),
    ("search.seed=-3", "search.seed must be >= 0 (a random seed), got -3"),
    ("data.split_seed=-2", "data.split_seed must be >= 0 (a random seed), got -2"),
]


@pytest.mark.parametrize("override,message", REFUSED)
def test_refused_in_one_line_naming_the_setting(override, message):
    with pytest.raises(ValueError) as err:
        validate(compose_config(override))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["+train.optimizer.amsgrad=true"],
        ["train=paper_cifar10"],
        ["task=analyze", "train.optimizer.lr=abc"],
        ["+analysis.survey.params.fb.per_stage=true"],
        ["seed=0", "search.seed=7"],
    ],
)
def test_valid_settings_pass(overrides):
    validate(compose_config(*overrides))
