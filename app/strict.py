"""Checks of the validated config that the dataclass schemas cannot make themselves.

- Keys added with `+` (`+search.n_trails=3`, what Hydra's own message suggests for a
  typo) bypass the schema: `OmegaConf.to_object` keeps them as extra attributes, and
  nothing reads them. Every schema object is checked for such attributes.
- Every `*seed` setting is a non-negative integer (numpy refuses negative seeds deep
  inside a generator, without naming the setting).
- `train.optimizer` / `train.scheduler` are free-form `_target_` mappings: their keys
  and number types are checked against the target's signature, for the tasks that
  train (only those import torch).
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import fields, is_dataclass
from typing import Any

from nas.limits import TRAINING_TASKS


def check_strict(config: Any) -> Any:
    """Raise a one-line ValueError for the first problem of `config`; returns it."""
    _check_schema(config, "")
    if config.task in TRAINING_TASKS:
        for key in ("optimizer", "scheduler"):
            _check_call(f"train.{key}", getattr(config.train, key, None))
    return config


def unknown_setting(full_key: str, names: list[str]) -> str:
    """The message for a key its schema lacks: the closest valid name, and all of them.
    (Also what `app.config.composition_error` says for Hydra's "Key 'x' not in 'Schema'".)"""
    prefix, _, key = full_key.rpartition(".")
    prefix = f"{prefix}." if prefix else ""
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
    hint = f"did you mean {prefix}{close[0]}? " if close else ""
    return f"{full_key} is not a setting ({hint}valid under {prefix.rstrip('.') or 'the root'}: {', '.join(names)})"


def _check_schema(obj: Any, prefix: str) -> None:
    names = [f.name for f in fields(obj)]
    for key in vars(obj):
        if key not in names:
            raise ValueError(unknown_setting(f"{prefix}{key}", names))
    for name in names:
        value = getattr(obj, name)
        if is_dataclass(value):
            _check_schema(value, f"{prefix}{name}.")
        elif name.endswith("seed") and _is_number(value) and value < 0:
            raise ValueError(f"{prefix}{name} must be >= 0 (a random seed), got {value}")


def _check_call(key: str, spec: Any) -> None:
    """`spec`'s keys are parameters of its `_target_`, numbers where the default is one."""
    if not isinstance(spec, dict) or "_target_" not in spec:
        return
    from hydra.utils import get_object

    try:
        parameters = inspect.signature(get_object(spec["_target_"])).parameters
    except Exception as err:  # noqa: BLE001  (an import error, or a target without a signature)
        raise ValueError(
            f"{key}._target_={spec['_target_']!r} cannot be used ({type(err).__name__}); "
            "give an importable class, e.g. torch.optim.SGD"
        ) from None
    open_ended = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    for name, value in spec.items():
        if name.startswith("_"):
            continue
        if name not in parameters:
            if open_ended:
                continue
            valid = ", ".join(p for p in parameters if p not in ("self", "params", "optimizer"))
            raise ValueError(f"{key}.{name}: {spec['_target_']} has no parameter {name!r}; valid: {valid}")
        if _is_number(parameters[name].default) and not _is_number(value):
            raise ValueError(f"{key}.{name} must be a number, got {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
