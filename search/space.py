"""The search space (config group `space`): what each trial samples, and how.

A spec is a list (categorical), a mapping with `low`/`high` (int or float range,
optional `log`), or a scalar/None (pinned). Parameter names in the study are stable
(`nodes`, `staging`, `channels`, `<generator>.<param>`) so resumed and compared studies
line up. The architecture seed is not tuned: unless `space.seed` lists seeds (or the
grid sampler enumerates them), each trial's comes from the study and its number
(search/seeds.py) and is the trial's user attribute `arch_seed`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import optuna

from nas.checks import require
from nas.factory import create_architecture
from nas.limits import check_memory
from search.seeds import trial_seed

ARCH_SEED = "arch_seed"  # trial user attr (and parameter name, where the seed is a choice)


def _plain(spec: Any) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    return OmegaConf.to_container(spec) if isinstance(spec, (DictConfig, ListConfig)) else spec


def suggest(trial: optuna.Trial, name: str, spec: Any) -> Any:
    spec = _plain(spec)
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        return trial.suggest_categorical(name, list(spec))
    if isinstance(spec, Mapping):
        require(
            {"low", "high"} <= set(spec) <= {"low", "high", "log", "step"},
            f"space.{name}: a range needs low and high (optional log, step), got {spec}",
        )
        low, high = spec["low"], spec["high"]
        if isinstance(low, int) and isinstance(high, int):
            return trial.suggest_int(name, low, high, log=spec.get("log", False), step=spec.get("step", 1))
        return trial.suggest_float(name, float(low), float(high), log=spec.get("log", False), step=spec.get("step"))
    return spec


def seed_spec(cfg: Any) -> Any:
    """`space.seed`; unset, the grid sampler enumerates 0..n-1 (the paper's pure sampling
    study, n = the study's trials) and the other samplers leave it to `trial_seed`."""
    if cfg.space.seed is None and cfg.search.sampler == "grid":
        return list(range(max(cfg.search.total_trials or cfg.search.n_trials, 1)))
    return cfg.space.seed


def arch_seed(trial: optuna.Trial, cfg: Any) -> int:
    """The trial's architecture seed, kept as its user attribute `arch_seed`: a choice
    of `seed_spec`, the one a retried trial carries over, or derived from the trial."""
    spec = seed_spec(cfg)
    if spec is not None:
        seed = suggest(trial, ARCH_SEED, spec)
    else:
        seed = trial.user_attrs.get(ARCH_SEED)
        if seed is None:
            seed = trial_seed(cfg.search.seed, trial.study.study_name, trial.number, "arch")
    trial.set_user_attr(ARCH_SEED, int(seed))
    return int(seed)


def grid(cfg: Any) -> dict[str, list]:
    """The grid sampler's search space: lists as they are, integer ranges enumerated."""
    space, out = cfg.space, {}
    specs = {"nodes": space.nodes, ARCH_SEED: seed_spec(cfg), "staging": space.staging, "channels": space.channels}
    specs.update(
        {f"{cfg.generator.name}.{k}": v for k, v in _plain(space.generator_params).get(cfg.generator.name, {}).items()}
    )
    for name, spec in specs.items():
        spec = _plain(spec)
        if isinstance(spec, Mapping):
            require(
                isinstance(spec.get("low"), int) and isinstance(spec.get("high"), int),
                f"sampler=grid needs lists or integer ranges; space.{name} is {spec}",
            )
            spec = list(range(spec["low"], spec["high"] + 1, spec.get("step", 1)))
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            out[name] = list(spec)
    return out


def sample_architecture(trial: optuna.Trial, cfg: Any) -> nx.DiGraph:
    """Sample one architecture for `trial` from `cfg.space` around the config's choices."""
    space, gen = cfg.space, cfg.generator
    nodes = suggest(trial, "nodes", space.nodes) or cfg.nodes
    seed = arch_seed(trial, cfg)
    staging = suggest(trial, "staging", space.staging) or cfg.staging.name
    staging_params = cfg.staging.params()
    channels = suggest(trial, "channels", space.channels)
    if channels:
        staging_params["channels"] = channels
        staging_params["max_channels"] = max(staging_params["max_channels"], channels)
    params = gen.params()
    for key, spec in _plain(space.generator_params).get(gen.name, {}).items():
        require(
            key in params,
            f"space.generator_params.{gen.name}.{key}: generator {gen.name} has no parameter "
            f"{key!r}; valid: {', '.join(params) or 'none'}",
        )
        value = suggest(trial, f"{gen.name}.{key}", spec)
        if value is not None:
            params[key] = value
    return check_memory(
        create_architecture(
            gen.name,
            nodes,
            seed,
            params=params,
            staging=staging,
            staging_params=staging_params,
            input_size=cfg.input_size,
            num_classes=cfg.num_classes,
            in_channels=cfg.in_channels,
            orientation=gen.orientation,
            aggregation=gen.aggregation,
        ),
        cfg,
    )
