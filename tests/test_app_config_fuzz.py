"""Fuzz config validation with random override values.

`compose` may refuse an override (Hydra/OmegaConf: wrong type, unknown key, bad
syntax: run.py never starts); otherwise `validate` either returns the config objects
or raises one of the documented one-line user errors, never anything else.
"""

from __future__ import annotations

import math
import os
import string

from hydra.errors import HydraException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf.errors import OmegaConfBaseException

from app.config import validate
from app.tasks import USER_ERRORS
from tests.conftest import compose_config

# FUZZ_EXAMPLES=2000 for a deeper run than the default suite's.
SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 40)) // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

KEYS = [
    "nodes",
    "seed",
    "input_size",
    "num_classes",
    "in_channels",
    "arch",
    "task",
    "search.n_trials",
    "search.timeout",
    "search.sampler",
    "search.objectives",
    "search.storage",
    "search.max_failure_rate",
    "search.min_trials_for_failure_rate",
    "search.heartbeat_interval",
    "search.max_retry",
    "search.n_workers",
    "search.worker",
    "search.population_size",
    "search.accuracy_metric",
    "search.baselines",
    "search.report_from",
    "search.mlflow.tracking_uri",
    "space.nodes",
    "space.seed",
    "space.channels",
    "space.staging",
    "space.generator_params",
    "train.epochs",
    "train.batch_size",
    "train.label_smoothing",
    "train.threads",
    "train.optimizer",
    "data.fraction",
    "data.val_fraction",
    "data.test_fraction",
    "data.input_size",
    "data.in_channels",
    "data.mean",
    "data.std",
    "data.augment",
    "data.num_workers",
    "staging.channels",
    "staging.max_channels",
    "staging.p",
    "generator.p",
    "generator.alpha",
]
SAFE = string.ascii_letters + string.digits + " _-./:"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 10)
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(SAFE, max_size=10)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["low", "high", "log", "step", "p", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def render(value) -> str:
    """A Hydra override value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    return "{" + ",".join(f"{k}:{render(v)}" for k, v in value.items()) + "}"


def validates_or_refuses(overrides: list[str]) -> None:
    try:
        cfg = compose_config(*overrides)
    except (HydraException, OmegaConfBaseException):
        return  # refused at composition, with Hydra's message
    try:
        validate(cfg)
    except USER_ERRORS as err:
        message = str(err)
        assert message and "\n" not in message, message


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(KEYS), values), min_size=1, max_size=3, unique_by=lambda kv: kv[0]))
def test_random_override_values(pairs):
    validates_or_refuses([f"{key}={render(value)}" for key, value in pairs])


@SETTINGS
@given(st.sampled_from(KEYS), st.integers(-5, 5) | st.floats(-2, 2, allow_nan=False))
def test_numbers_around_the_valid_ranges(key, value):
    validates_or_refuses([f"{key}={render(value)}"])
