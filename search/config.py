"""Schemas of the `search` and `space` config groups (the root config is app/config.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from nas.checks import require, require_one_of


@dataclass
class MLflowConfig:
    tracking_uri: str = "sqlite:///mlflow.db"  # MLflow 3's embedded store; or http://host:5000
    experiment: str = "concurrent-nas"
    log_models: bool = True  # log each trained model with mlflow.pytorch (with a signature)
    # MLflow's HTTP client (tracking servers): how long one call may stall while the server is down,
    # before trials go on untracked (task=sync logs them later). MLflow's own defaults (7 retries,
    # backoff factor 2, 120 s per request) stall each call ~4 min; these: ~3 s for a refused connection,
    # at most (retries + 1) x timeout + backoff waits for a server that accepts but never answers.
    request_retries: int = 2  # MLFLOW_HTTP_REQUEST_MAX_RETRIES
    request_timeout: int = 10  # seconds per request: MLFLOW_HTTP_REQUEST_TIMEOUT
    request_backoff: int = 1  # MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: waits 1, 2, 4 … s between retries

    def __post_init__(self) -> None:
        require(self.request_retries >= 0, f"search.mlflow.request_retries must be >= 0, got {self.request_retries}")
        require(self.request_timeout >= 1, f"search.mlflow.request_timeout must be >= 1 s, got {self.request_timeout}")
        require(self.request_backoff >= 0, f"search.mlflow.request_backoff must be >= 0, got {self.request_backoff}")


@dataclass
class SearchConfig:
    """One Optuna study (`task=search`); see search/study.py."""

    name: str = "default"
    # None: "<generator>-<staging>-<data>-<hw>". A study is also defined by its training
    # recipe, data, space and target: resuming it with other values is refused (search/identity.py).
    study_name: str | None = None
    # Any Optuna storage URL: a *.journal file for several processes, postgresql://… on a cluster.
    storage: str = "sqlite:///optuna.db"
    sampler: str = "nsga2"  # nsga2 | tpe | random | grid
    # Trials this run adds, like Optuna's `study.optimize(n_trials=...)`: rerunning grows the study by as many.
    n_trials: int = 6
    # Or the study's total, like Optuna's MaxTrialsCallback: this run adds trials until the study has this
    # many complete ones (n_trials is then ignored); rerunning after a crash tops it up. Several processes
    # at once may each finish one trial more.
    total_trials: int | None = None
    timeout: float | None = None  # seconds for this run; None = no limit
    seed: int = 0  # sampler seed; each trial's own comes from it, the study name and the trial number
    objectives: list[str] = field(default_factory=lambda: ["accuracy", "cs"])  # add latency or params as a third
    accuracy_metric: str = "test_acc"  # what the "accuracy" objective reads (test_acc | val_acc)
    population_size: int = 4  # NSGA-II generation size
    baselines: list[str] = field(default_factory=list)  # fixed trials to read the front against, e.g. [cifarnet, fb]
    artifacts_dir: str = "artifacts"  # per-trial files (architecture, partition, plots), kept for task=sync
    heartbeat_interval: int = 30  # seconds (0 = off); a trial silent for twice as long is failed and retried
    max_retry: int = 2  # times the trial of a lost (killed) worker is retried
    n_workers: int = 1  # worker processes started on the study (search/workers.py); > 1 needs a journal/server storage
    worker: int | None = None  # this process is worker i of several (e.g. `-m search.worker=0,1,2,3` on SLURM)
    max_failure_rate: float = 0.5  # stop the study when more of this run's trials fail
    min_trials_for_failure_rate: int = 4  # ... once at least this many have finished
    report_from: str = "optuna"  # task=report reads the study storage (optuna) or the MLflow experiment
    report_measure: bool = (
        False  # task=report deploys the study's front and baselines (task=deploy) for measured latency
    )
    # task=report: empty = the one study this config names (search.study_name or the derived name);
    # else study names or glob patterns pooled into one table, e.g. ['paper_cifar10-*'] or ['*'] (all)
    report_studies: list[str] = field(default_factory=list)
    mlflow: MLflowConfig = field(default_factory=MLflowConfig)

    def __post_init__(self) -> None:
        from search.objectives import OBJECTIVES
        from search.samplers import SAMPLERS

        require_one_of("search.sampler", self.sampler, SAMPLERS.names())
        require(self.n_trials >= 0, f"search.n_trials must be >= 0, got {self.n_trials}")
        require(
            self.total_trials is None or self.total_trials >= 1,
            f"search.total_trials must be >= 1 or null, got {self.total_trials}",
        )
        require(
            self.timeout is None or self.timeout > 0, f"search.timeout must be > 0 seconds or null, got {self.timeout}"
        )
        require(len(self.objectives) >= 1, "search.objectives must name at least one objective")
        for name in self.objectives:
            require(name in OBJECTIVES, f"search.objectives: unknown {name!r}; valid: {', '.join(OBJECTIVES.names())}")
        require(
            len(set(self.objectives)) == len(self.objectives),
            f"search.objectives repeats a name: {list(self.objectives)}",
        )
        require_one_of("search.accuracy_metric", self.accuracy_metric, ("test_acc", "val_acc"))
        require(self.population_size >= 2, f"search.population_size must be >= 2, got {self.population_size}")
        require(
            0 < self.max_failure_rate <= 1, f"search.max_failure_rate must be in (0, 1], got {self.max_failure_rate}"
        )
        require(
            self.heartbeat_interval >= 0,
            f"search.heartbeat_interval must be >= 0 (0 = off), got {self.heartbeat_interval}",
        )
        require(self.max_retry >= 0, f"search.max_retry must be >= 0, got {self.max_retry}")
        require(
            self.min_trials_for_failure_rate >= 1,
            f"search.min_trials_for_failure_rate must be >= 1, got {self.min_trials_for_failure_rate}",
        )
        require(self.n_workers >= 1, f"search.n_workers must be >= 1, got {self.n_workers}")
        require(self.worker is None or self.worker >= 0, f"search.worker must be >= 0 or null, got {self.worker}")
        require_one_of("search.report_from", self.report_from, ("optuna", "mlflow"))
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


def register_configs(cs: ConfigStore) -> None:
    cs.store(group="schema/search", name="search", node=SearchConfig)
    cs.store(group="schema/space", name="space", node=SpaceConfig)
