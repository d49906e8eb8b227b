"""The search space (config group `space`): what each trial samples, and how.

A spec is a list (categorical), a mapping with `low`/`high` (int or float range,
optional `log`), or a scalar/None (pinned). Parameter names in the study are stable
(`nodes`, `arch_seed`, `staging`, `channels`, `<generator>.<param>`) so resumed and
compared studies line up.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import optuna

from nas.checks import require
from nas.factory import create_architecture
from nas.limits import check_memory

SEED_RANGE = {"low": 0, "high": 2**31 - 1}


def _plain(spec: Any) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    return OmegaConf.to_container(spec) if isinstance(spec, (DictConfig, ListConfig)) else spec


def suggest(trial: optuna.Trial, name: str, spec: Any) -> Any:
    spec = _plain(spec)
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        return trial.suggest_categorical(name, list(spec))
    if isinstance(spec, Mapping):
        require({"low", "high"} <= set(spec) <= {"low", "high", "log", "step"},
                f"space.{name}: a range needs low and high (optional log, step), got {spec}")
        low, high = spec["low"], spec["high"]
        if isinstance(low, int) and isinstance(high, int):
            return trial.suggest_int(name, low, high, log=spec.get("log", False), step=spec.get("step", 1))
        return trial.suggest_float(name, float(low), float(high), log=spec.get("log", False), step=spec.get("step"))
    return spec


def grid(cfg: Any, n_trials: int) -> dict[str, list]:
    """The grid sampler's search space: lists as they are, integer ranges enumerated.

    An unpinned architecture seed becomes 0..n_trials-1: the paper's pure sampling study.
    """
    space, out = cfg.space, {}
    specs = {"nodes": space.nodes, "arch_seed": space.seed if space.seed is not None else list(range(max(n_trials, 1))),
             "staging": space.staging, "channels": space.channels}
    specs.update({f"{cfg.generator.name}.{k}": v for k, v in _plain(space.generator_params).get(cfg.generator.name, {}).items()})
    for name, spec in specs.items():
        spec = _plain(spec)
        if isinstance(spec, Mapping):
            require(isinstance(spec.get("low"), int) and isinstance(spec.get("high"), int),
                    f"sampler=grid needs lists or integer ranges; space.{name} is {spec}")
            spec = list(range(spec["low"], spec["high"] + 1, spec.get("step", 1)))
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            out[name] = list(spec)
    return out


def sample_architecture(trial: optuna.Trial, cfg: Any) -> nx.DiGraph:
    """Sample one architecture for `trial` from `cfg.space` around the config's choices."""
    space, gen = cfg.space, cfg.generator
    nodes = suggest(trial, "nodes", space.nodes) or cfg.nodes
    seed = suggest(trial, "arch_seed", space.seed if space.seed is not None else SEED_RANGE)
    staging = suggest(trial, "staging", space.staging) or cfg.staging.name
    staging_params = cfg.staging.params()
    channels = suggest(trial, "channels", space.channels)
    if channels:
        staging_params["channels"] = channels
        staging_params["max_channels"] = max(staging_params["max_channels"], channels)
    params = gen.params()
    for key, spec in _plain(space.generator_params).get(gen.name, {}).items():
        require(key in params, f"space.generator_params.{gen.name}.{key}: generator {gen.name} has no parameter "
                               f"{key!r}; valid: {', '.join(params) or 'none'}")
        value = suggest(trial, f"{gen.name}.{key}", spec)
        if value is not None:
            params[key] = value
    return check_memory(create_architecture(
        gen.name, nodes, seed, params=params, staging=staging, staging_params=staging_params,
        input_size=cfg.input_size, num_classes=cfg.num_classes, in_channels=cfg.in_channels,
        orientation=gen.orientation, aggregation=gen.aggregation,
    ), cfg)
