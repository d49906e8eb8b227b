"""Root config schema; composes every package's config groups (nanoGPT-style dataclasses).

`register_configs()` stores the root schema and each package's group schemas in
Hydra's ConfigStore; `validate(cfg)` turns the composed config into dataclass objects
so every `__post_init__` range check runs before any work starts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

import nas.config
from search.strict import check_strict


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass
class MLflowConfig:
    tracking_uri: str = "sqlite:///mlflow.db"  # MLflow 3's embedded store; or http://host:5000
    experiment: str = "concurrent-nas"
    log_models: bool = True  # log each trained model with mlflow.pytorch (with a signature)


@dataclass
class SearchConfig:
    """One Optuna study (`task=search`); see search/study.py."""

    name: str = "default"
    study_name: Optional[str] = None  # None: "<generator>-<staging>-<data>-<hw>"
    storage: str = "sqlite:///optuna.db"  # any Optuna storage URL, or a *.journal file path
    sampler: str = "nsga2"  # nsga2 | tpe | random | grid
    n_trials: int = 4  # trials added by this run (a resumed study grows by this many)
    timeout: Optional[float] = None  # seconds for this run; None = no limit
    seed: int = 0  # sampler seed
    objectives: list[str] = field(default_factory=lambda: ["accuracy", "cs"])
    accuracy_metric: str = "test_acc"  # what the "accuracy" objective reads (test_acc | val_acc)
    population_size: int = 8  # NSGA-II generation size
    baselines: list[str] = field(default_factory=list)  # fixed trials, e.g. [cifarnet, fb]
    artifacts_dir: str = "artifacts"  # per-trial files (architecture, partition, plots), kept for task=sync
    heartbeat_interval: int = 30  # seconds (0 = off); a trial silent for twice as long is failed and retried
    max_retry: int = 2  # times the trial of a lost (killed) worker is retried
    n_workers: int = 1  # worker processes started on the study (search/workers.py); > 1 needs a journal/server storage
    worker: Optional[int] = None  # this process is worker i of several (e.g. `-m search.worker=0,1,2,3` on SLURM)
    max_failure_rate: float = 0.5  # stop the study when more of this run's trials fail
    min_trials_for_failure_rate: int = 4  # ... once at least this many have finished
    report_from: str = "optuna"  # task=report reads the study storage (optuna) or the MLflow experiment
    mlflow: MLflowConfig = field(default_factory=MLflowConfig)

    def __post_init__(self) -> None:
        from search.objectives import OBJECTIVES
        from search.samplers import SAMPLERS

        _require(self.sampler in SAMPLERS, f"search.sampler must be one of {', '.join(SAMPLERS.names())}, got {self.sampler!r}")
        _require(self.n_trials >= 0, f"search.n_trials must be >= 0, got {self.n_trials}")
        _require(self.timeout is None or self.timeout > 0, f"search.timeout must be > 0 seconds or null, got {self.timeout}")
        _require(len(self.objectives) >= 1, "search.objectives must name at least one objective")
        for name in self.objectives:
            _require(name in OBJECTIVES, f"search.objectives: unknown {name!r}; valid: {', '.join(OBJECTIVES.names())}")
        _require(len(set(self.objectives)) == len(self.objectives), f"search.objectives repeats a name: {list(self.objectives)}")
        _require(self.accuracy_metric in ("test_acc", "val_acc"), f"search.accuracy_metric must be test_acc or val_acc, got {self.accuracy_metric!r}")
        _require(self.population_size >= 2, f"search.population_size must be >= 2, got {self.population_size}")
        _require(0 < self.max_failure_rate <= 1, f"search.max_failure_rate must be in (0, 1], got {self.max_failure_rate}")
        _require(self.heartbeat_interval >= 0, f"search.heartbeat_interval must be >= 0 (0 = off), got {self.heartbeat_interval}")
        _require(self.max_retry >= 0, f"search.max_retry must be >= 0, got {self.max_retry}")
        _require(self.min_trials_for_failure_rate >= 1,
                 f"search.min_trials_for_failure_rate must be >= 1, got {self.min_trials_for_failure_rate}")
        _require(self.n_workers >= 1, f"search.n_workers must be >= 1, got {self.n_workers}")
        _require(self.worker is None or self.worker >= 0, f"search.worker must be >= 0 or null, got {self.worker}")
        _require(self.report_from in ("optuna", "mlflow"), f"search.report_from must be optuna or mlflow, got {self.report_from!r}")
        from search.preflight import check_workers
        from search.storage import check_url

        check_url(self.storage)
        check_workers(self)


@dataclass
class SpaceConfig:
    """What a trial samples. A list is a categorical choice, {low, high[, log]} a range,
    a scalar (or null) pins the value; `generator_params.<generator>.<param>` likewise."""

    name: str = "default"
    nodes: Any = None  # null = the config's `nodes`
    seed: Any = None  # null = a fresh architecture seed per trial (0..2**31-1)
    staging: Any = None  # null = the config's staging policy
    channels: Any = None  # null = staging.channels
    generator_params: dict[str, Any] = field(default_factory=dict)


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
    space: Any = MISSING
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
    cs.store(group="schema/search", name="search", node=SearchConfig)
    cs.store(group="schema/space", name="space", node=SpaceConfig)
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
    try:
        return check_strict(OmegaConf.to_object(cfg))
    except OmegaConfBaseException as err:  # e.g. an interpolation into a key set to null
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        key = getattr(err, "full_key", None)
        raise ValueError(f"{key}: {first}" if key and key not in first else first) from None


CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def compose(*overrides: str) -> DictConfig:
    """The root config as `python run.py <overrides>` would compose it (for scripts, tests)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))
