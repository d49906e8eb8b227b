"""`task=search`: one Optuna study; each trial samples, analyses and trains an architecture.

Trials record their metrics as Optuna user attributes (the storage is the source of
truth, so `task=report` and `task=sync` need nothing else) and in a nested MLflow run
with the architecture, partition and plots as artifacts; the study's parent run gets
the Pareto front plot, a CSV of all trials and the summary.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import optuna
from omegaconf import OmegaConf
from optuna.trial import TrialState
from tqdm.auto import tqdm

from nas.config import GENERATOR_SCHEMAS, ChainConfig
from nas.factory import create_architecture
from search.evaluate import evaluate
from search.objectives import Objective, create_objectives, objective_values
from search.samplers import BASELINE_ATTR, create_sampler
from search.space import sample_architecture
from search.storage import create_storage
from search.tracking import Tracker, numeric_metrics

log = logging.getLogger(__name__)
optuna.logging.set_verbosity(optuna.logging.WARNING)


def study_name(cfg: Any) -> str:
    if cfg.search.study_name:
        return cfg.search.study_name
    return f"{cfg.generator.name}-{cfg.staging.name}-{cfg.data.name}-{getattr(cfg.hw, 'name', 'hw')}"


def run_tags(cfg: Any) -> dict[str, str]:
    """Tags that let the MLflow dashboard filter and compare runs."""
    return {"generator": cfg.generator.name, "staging": cfg.staging.name, "dataset": cfg.data.name,
            "hardware": str(getattr(cfg.hw, "name", "")), "sampler": cfg.search.sampler}


def baseline_architecture(name: str, cfg: Any):
    schema = GENERATOR_SCHEMAS.get(name, ChainConfig)
    gen = schema() if name in GENERATOR_SCHEMAS else ChainConfig(name=name)
    return create_architecture(name, cfg.nodes, cfg.seed, params=gen.params(), staging=cfg.staging.name,
                               staging_params=cfg.staging.params(), input_size=cfg.input_size,
                               num_classes=cfg.num_classes, in_channels=cfg.in_channels)


class TrialRunner:
    """The Optuna objective: sample (or take the baseline), evaluate, log, return objectives."""

    def __init__(self, cfg: Any, name: str, objectives: list[Objective], tracker: Tracker, artifacts: Path) -> None:
        self.cfg, self.name, self.objectives, self.tracker, self.artifacts = cfg, name, objectives, tracker, artifacts
        self.datamodule = None

    def _data(self):
        if self.datamodule is None:  # load the data set once per study run
            from training.datamodule import create_datamodule

            train = self.cfg.train
            self.datamodule = create_datamodule(self.cfg.data, train.batch_size, train.eval_batch_size)
        return self.datamodule

    def __call__(self, trial: optuna.Trial) -> list[float]:
        baseline = trial.user_attrs.get(BASELINE_ATTR)
        arch = baseline_architecture(baseline, self.cfg) if baseline else sample_architecture(trial, self.cfg)
        out_dir = self.artifacts / f"trial-{trial.number}"
        tags = {"baseline": baseline or "", "arch_generator": arch.graph.get("generator", "")}
        trial.set_user_attr("arch_generator", tags["arch_generator"])
        run_id = self.tracker.start_trial(trial.number, tags)
        trial.set_user_attr("mlflow_run_id", run_id)
        trial.set_user_attr("artifacts", str(out_dir))
        self.tracker.log_params(run_id, {**trial.params, "arch": _arch_params(arch),
                                         "cfg": OmegaConf.to_container(OmegaConf.structured(self.cfg), resolve=True)})
        try:
            metrics, model = evaluate(arch, self.cfg, out_dir, [self.tracker.epoch_logger(run_id)], self._data())
            values = objective_values(self.objectives, metrics)
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"objective values are not finite: {values}")
        except BaseException as err:
            reason = f"{type(err).__name__}: {err}".splitlines()[0][:500]
            trial.set_user_attr("fail_reason", reason)
            self.tracker.end_trial(run_id, ok=False, reason=reason)
            raise
        scalars = {k: v for k, v in numeric_metrics({k: v for k, v in metrics.items() if k != "options"}).items()}
        for key, value in scalars.items():
            trial.set_user_attr(key, value)
        self.tracker.log_metrics(run_id, scalars)
        self.tracker.log_artifacts(run_id, sorted(p for p in out_dir.iterdir() if p.is_file()))
        if model is not None and self.cfg.search.mlflow.log_models:
            import torch

            example = torch.randn(1, self.cfg.in_channels, self.cfg.input_size, self.cfg.input_size).numpy()
            self.tracker.log_model(run_id, model, example)
        self.tracker.end_trial(run_id, ok=True)
        trial.set_user_attr("mlflow_synced", self.tracker.available)
        return values


def _arch_params(arch) -> dict:
    keys = ("generator", "generator_params", "nodes", "seed", "staging", "staging_params", "orientation", "aggregation")
    return {k: arch.graph[k] for k in keys if k in arch.graph}


class Progress:
    """tqdm bar over this run's trials, with the best value of each objective so far."""

    def __init__(self, total: int | None, name: str, objectives: list[Objective]) -> None:
        self.bar = tqdm(total=total, desc=name, unit="trial", dynamic_ncols=True)
        self.objectives = objectives

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        best = {}
        for i, o in enumerate(self.objectives):
            values = [t.values[i] for t in done]
            if values:
                best[o.name] = round(max(values) if o.direction == "maximize" else min(values), 4)
        failed = len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
        self.bar.set_postfix(best | {"failed": failed})
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


class FailureGuard:
    """Stops a study whose trials fail systematically (share of this run's trials)."""

    def __init__(self, max_rate: float, min_trials: int) -> None:
        self.max_rate, self.min_trials = max_rate, min_trials
        self.finished = self.failed = 0
        self.tripped = False

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.finished += 1
        self.failed += trial.state == TrialState.FAIL
        if self.finished >= self.min_trials and self.failed / self.finished > self.max_rate:
            self.tripped = True
            study.stop()


def enqueue_baselines(study: optuna.Study, names: list[str]) -> None:
    present = {t.user_attrs.get(BASELINE_ATTR) for t in study.get_trials(deepcopy=False)
               if t.state in (TrialState.COMPLETE, TrialState.WAITING, TrialState.RUNNING)}
    for name in names:
        if name not in present:
            study.enqueue_trial({}, user_attrs={BASELINE_ATTR: name})


def open_study(cfg: Any, name: str, objectives: list[Objective]) -> optuna.Study:
    storage = create_storage(cfg.search.storage, cfg.search.heartbeat_interval)
    directions = [o.direction for o in objectives]
    study = optuna.create_study(study_name=name, storage=storage, sampler=create_sampler(cfg),
                                directions=directions, load_if_exists=True)
    existing = [d.name.lower() for d in study.directions]
    if existing != directions:
        raise ValueError(f"study {name!r} in {cfg.search.storage} optimises {existing}, not {directions} "
                         f"(objectives {list(cfg.search.objectives)}); pick another search.study_name")
    study.set_user_attr("dataset", cfg.data.name)
    study.set_user_attr("objectives", [o.name for o in objectives])
    study.set_user_attr("metrics", [o.metric for o in objectives])
    return study


def run_search(cfg: Any) -> dict:
    from search.report import study_summary, write_study_files

    name = study_name(cfg)
    objectives = create_objectives(cfg.search)
    study = open_study(cfg, name, objectives)
    tracker = Tracker(cfg.search.mlflow.tracking_uri, cfg.search.mlflow.experiment, name, run_tags(cfg))
    artifacts = Path(cfg.search.artifacts_dir) / name
    enqueue_baselines(study, list(cfg.search.baselines))
    runner = TrialRunner(cfg, name, objectives, tracker, artifacts)
    guard = FailureGuard(cfg.search.max_failure_rate, cfg.search.min_trials_for_failure_rate)
    progress = Progress(cfg.search.n_trials, name, objectives)
    interrupted = False
    try:
        study.optimize(runner, n_trials=cfg.search.n_trials, timeout=cfg.search.timeout,
                       callbacks=[progress, guard], catch=(Exception,), gc_after_trial=True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    summary = study_summary(study, objectives)
    files = write_study_files(study, objectives, summary, artifacts)
    tracker.end_study(summary, files, ok=not (interrupted or guard.tripped))
    summary.update(study=name, storage=cfg.search.storage, artifacts=str(artifacts),
                   mlflow_experiment=cfg.search.mlflow.experiment, mlflow_run_id=tracker.parent_id,
                   mlflow_available=tracker.available)
    if interrupted:
        raise KeyboardInterrupt(f"study {name} interrupted; {summary['complete']} complete trials kept in {cfg.search.storage}")
    if guard.tripped:
        raise RuntimeError(f"study {name} stopped: {guard.failed} of {guard.finished} trials failed "
                           f"(more than search.max_failure_rate={cfg.search.max_failure_rate}); "
                           f"see the fail_reason of the failed trials in MLflow or the storage")
    return summary
