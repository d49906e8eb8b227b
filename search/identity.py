"""What defines a study's results, and the check that a resumed study keeps it.

A study's name says generator, staging, data set and target; its trials' results also
depend on the training recipe, the data fraction and split, the space and the analysis.
Resuming a study with any of these changed would mix incomparable trials (and reuse
6-epoch results for 1-epoch trials), so the study keeps its defining config (and a
digest of it) as user attributes and a resume with other values is refused in one
line naming the difference. Execution settings (threads, loader workers, data paths,
the latency profile's folder, the sampler) may change between runs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import optuna
from omegaconf import OmegaConf

from search.tracking import flatten

DEFINING_SECTIONS = (
    "nodes",
    "seed",
    "input_size",
    "num_classes",
    "in_channels",
    "generator",
    "staging",
    "space",
    "data",
    "train",
    "hw",
    "analysis",
)
DEFINING_SEARCH_KEYS = ("objectives", "accuracy_metric")
# Keys of those sections that change how a run executes, not what it measures.
EXECUTION_KEYS = (
    "data.root",
    "data.download",
    "data.num_workers",
    "data.debian_dir",
    "train.threads",
    "train.eval_batch_size",
    "hw.predictor",
    "hw.profile",
)
CONFIG_ATTR, DIGEST_ATTR = "defining_config", "defining_config_digest"
SHOWN_DIFFERENCES = 3


def study_name(cfg: Any) -> str:
    """`search.study_name`, or "<generator>-<staging>-<data>-<hw>"."""
    if cfg.search.study_name:
        return cfg.search.study_name
    return f"{cfg.generator.name}-{cfg.staging.name}-{cfg.data.name}-{getattr(cfg.hw, 'name', 'hw')}"


def defining_config(cfg: Any) -> dict[str, str]:
    """The flattened settings that define a study's results (values as strings)."""
    plain: dict[str, Any] = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)  # type: ignore[assignment]
    chosen = {key: plain[key] for key in DEFINING_SECTIONS if key in plain}
    chosen["search"] = {key: plain["search"][key] for key in DEFINING_SEARCH_KEYS}
    flat = flatten(chosen)
    return {
        k: json.dumps(v, default=str) if isinstance(v, (list, tuple)) else str(v)
        for k, v in sorted(flat.items())
        if not any(k == e or k.startswith(e + ".") for e in EXECUTION_KEYS)
    }


def digest(config: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def differences(stored: dict[str, str], current: dict[str, str]) -> list[str]:
    keys = sorted(k for k in stored.keys() | current.keys() if stored.get(k) != current.get(k))
    return [f"{k}={stored.get(k, '(unset)')} (now {current.get(k, '(unset)')})" for k in keys]


def keep_identity(study: optuna.Study, cfg: Any, storage: str) -> None:
    """Record the defining config on a new study; refuse a resume that changes it."""
    current = defining_config(cfg)
    stored = study.user_attrs.get(CONFIG_ATTR)
    if stored is None:  # a new study (or one from before this check): adopt this config
        study.set_user_attr(CONFIG_ATTR, current)
        study.set_user_attr(DIGEST_ATTR, digest(current))
        return
    if study.user_attrs.get(DIGEST_ATTR) == digest(current):
        return
    diff = differences(stored, current)
    if not diff:
        return
    more = f" and {len(diff) - SHOWN_DIFFERENCES} more" if len(diff) > SHOWN_DIFFERENCES else ""
    raise ValueError(
        f"study {study.study_name!r} in {storage} was run with {', '.join(diff[:SHOWN_DIFFERENCES])}{more}: "
        "its trials would not be comparable; rerun with the study's settings to resume it, "
        "or set another search.study_name"
    )


def study_params(cfg: Any) -> dict[str, str]:
    """The MLflow parent run's params: the defining config and the sampler's settings."""
    search = cfg.search
    return {
        **defining_config(cfg),
        "search.sampler": search.sampler,
        "search.population_size": str(search.population_size),
        "search.seed": str(search.seed),
        "search.baselines": json.dumps(list(search.baselines)),
    }
