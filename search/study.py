"""`task=search`: one Optuna study; each trial samples, analyses and trains an architecture.

Trials record their metrics as Optuna user attributes (the storage is the source of
truth, so `task=report` and `task=sync` need nothing else) and in a nested MLflow run
with the architecture, partition and plots as artifacts; the study's parent run gets
the Pareto front plot, a CSV of all trials and the summary.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
from omegaconf import OmegaConf
from optuna.trial import TrialState
from tqdm.auto import tqdm

from nas.factory import baseline_architecture
from search.callbacks import EpochMetrics, IntermediateValues
from search.errors import SearchInterrupted, StudyFailedError
from search.evaluate import evaluate
from search.heartbeat import RETRY_OF, StaleTrialHandler, fail_stale_trials, lost_trials, settle_running
from search.identity import keep_identity, study_name, study_params
from search.interrupt import StopCheck, StopRequest
from search.objectives import Objective, constrain_memory, create_objectives, objective_values
from search.outcome import require_completed
from search.preflight import preflight
from search.samplers import BASELINE_ATTR, DUPLICATE_ATTR, create_sampler
from search.space import ARCH_SEED, sample_architecture
from search.storage import create_storage, storage_label
from search.tracking import (
    INTERRUPTED,
    RUN_RECORD,
    STORAGE_TAG,
    Tracker,
    arch_label,
    flatten,
    run_status,
    split_tables,
    trial_run_name,
)

log = logging.getLogger(__name__)
optuna.logging.set_verbosity(optuna.logging.WARNING)
NOT_REUSED = ("train_seconds",)  # what a duplicate did not spend: not copied from its twin


def run_tags(cfg: Any) -> dict[str, str]:
    """Tags that let the MLflow dashboard filter and compare runs."""
    return {
        "generator": cfg.generator.name,
        "staging": cfg.staging.name,
        "dataset": cfg.data.name,
        "hardware": str(getattr(cfg.hw, "name", "")),
        "sampler": cfg.search.sampler,
        STORAGE_TAG: storage_label(cfg.search.storage),
    }


class TrialRunner:
    """The Optuna objective: sample (or take the baseline), evaluate, log, return objectives."""

    def __init__(self, cfg: Any, name: str, objectives: list[Objective], tracker: Tracker, artifacts: Path) -> None:
        self.cfg, self.name, self.objectives, self.tracker, self.artifacts = cfg, name, objectives, tracker, artifacts
        self.datamodule = None
        self.stop = StopRequest()  # Ctrl-C, also when a finalizer swallowed its KeyboardInterrupt

    def _data(self):
        if self.datamodule is None:  # load the data set once per study run
            from training.datamodules import create_datamodule

            train = self.cfg.train
            self.datamodule = create_datamodule(self.cfg.data, train.batch_size, train.eval_batch_size)
        return self.datamodule

    def __call__(self, trial: optuna.Trial) -> list[float]:
        baseline = trial.user_attrs.get(BASELINE_ATTR)
        out_dir = self.artifacts / f"trial-{trial.number}"
        run_id = self.tracker.start_trial(trial.number, {"baseline": baseline or ""})
        trial.set_user_attr("mlflow_run_id", run_id)
        trial.set_user_attr("artifacts", str(out_dir))
        if self.cfg.search.worker is not None:
            trial.set_user_attr("worker", self.cfg.search.worker)
        try:  # everything that can fail is inside: its reason reaches MLflow and the storage
            arch = baseline_architecture(baseline, self.cfg) if baseline else sample_architecture(trial, self.cfg)
            trial.set_user_attr("arch_generator", arch.graph.get("generator", ""))
            record = write_run_record(out_dir, trial, arch, self.cfg)
            twin = None if baseline else completed_twin(trial)
            name = trial_run_name(trial.number, arch_label(arch, baseline), twin.number if twin else None)
            self.tracker.describe_trial(
                run_id, name, record["params"], {"arch_generator": record["tags"]["arch_generator"]}
            )
            if twin is not None:  # NSGA-II may propose a finished architecture again: reuse, don't retrain
                values = self._reuse(trial, twin, run_id)
                constrain_memory(trial)
                self.tracker.end_trial(run_id, "FINISHED")
                trial.set_user_attr("mlflow_synced", self.tracker.available)
                return values
            epochs = EpochMetrics(self.tracker, run_id)
            callbacks = [epochs, IntermediateValues(trial), StopCheck(self.stop)]
            metrics, model = evaluate(arch, self.cfg, out_dir, callbacks, self._data())
            values = objective_values(self.objectives, metrics)
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"objective values are not finite: {values}")
            scalars, tables = split_tables({k: v for k, v in metrics.items() if k != "options"})
            for key, value in {**scalars, **tables}.items():
                trial.set_user_attr(key, value)
            constrain_memory(trial)
            example = None
            if model is not None and self.cfg.search.mlflow.log_models:
                import torch

                example = torch.randn(1, self.cfg.in_channels, self.cfg.input_size, self.cfg.input_size).numpy()
            self.tracker.log_results(
                run_id,
                {k: v for k, v in scalars.items() if k not in epochs.logged},
                tables,
                sorted(p for p in out_dir.iterdir() if p.is_file()),
                model if example is not None else None,
                example,
            )
        except BaseException as err:
            failure = as_interrupt(err, self.stop)
            reason = failure_reason(failure)
            trial.set_user_attr("fail_reason", reason)
            self.tracker.end_trial(run_id, run_status(False, reason), reason=reason)
            trial.set_user_attr("mlflow_synced", self.tracker.available)
            if failure is not err:
                raise failure from err
            raise
        self.tracker.end_trial(run_id, "FINISHED")
        trial.set_user_attr("mlflow_synced", self.tracker.available)
        return values

    def _reuse(self, trial: optuna.Trial, twin: optuna.trial.FrozenTrial, run_id: str | None) -> list[float]:
        """Copy a finished twin's results (not its training time) instead of training again;
        the run points at the twin's run, which has the files."""
        results = {k: v for k, v in result_attrs(twin).items() if k not in NOT_REUSED}
        for key, value in results.items():
            trial.set_user_attr(key, value)
        trial.set_user_attr(DUPLICATE_ATTR, twin.number)
        self.tracker.set_tags(
            run_id, {DUPLICATE_ATTR: twin.number, "duplicate_of_run": twin.user_attrs.get("mlflow_run_id")}
        )
        scalars, tables = split_tables(results)
        self.tracker.log_results(run_id, scalars, tables)
        return list(twin.values)


def failure_reason(failure: BaseException) -> str:
    """The trial's `fail_reason`: one line; Ctrl-C says "interrupted"."""
    if isinstance(failure, KeyboardInterrupt):
        return INTERRUPTED
    return f"{type(failure).__name__}: {failure}".splitlines()[0][:500]


class TrialFailureLine(logging.Filter):
    """Optuna warns of a failed trial with all its parameters and the error's traceback,
    then again with its value: one line a trial instead, `Trial 3 failed: <fail_reason>`.
    The traceback goes to the run's log file (Hydra's), the reason to MLflow and the storage.
    A Ctrl-C prints nothing here (the one `error:` line follows); the trial is still FAIL "interrupted"."""

    FAILED = re.compile(r"Trial (\d+) failed with (parameters|value)")

    def filter(self, record: logging.LogRecord) -> bool:
        match = self.FAILED.match(record.getMessage())
        if match is None:
            return True
        if match[2] == "value":
            return False
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, KeyboardInterrupt):
            return False
        if error is not None:
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.FileHandler):
                    handler.handle(record)
            reason = failure_reason(error)
        else:  # an objective value Optuna refused: its message says why
            reason = record.getMessage().partition("because of the following error: ")[2]
        record.msg, record.args, record.exc_info, record.exc_text = f"Trial {match[1]} failed: {reason}", (), None, None
        return True


TRIAL_FAILURE_LINE = TrialFailureLine()


# Trial attributes that describe the trial itself, not its architecture's results.
OWN_ATTRS = (
    "mlflow_run_id",
    "artifacts",
    "worker",
    "fail_reason",
    "mlflow_synced",
    DUPLICATE_ATTR,
    BASELINE_ATTR,
    ARCH_SEED,
)


def result_attrs(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The trial's user attributes that are its architecture's results (what MLflow gets as metrics)."""
    return {k: v for k, v in trial.user_attrs.items() if k not in OWN_ATTRS}


def completed_twin(trial: optuna.Trial) -> optuna.trial.FrozenTrial | None:
    """A complete trial of the same study with the same architecture: the same parameters
    and seed (a pinned or listed `space.seed`), itself no duplicate."""
    seed = trial.user_attrs.get(ARCH_SEED)
    for other in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if (
            other.params == trial.params
            and other.user_attrs.get(ARCH_SEED) == seed
            and not other.user_attrs.get(BASELINE_ATTR)
            and DUPLICATE_ATTR not in other.user_attrs
        ):
            return other
    return None


def as_interrupt(err: BaseException, stop: StopRequest) -> BaseException:
    """Lightning turns Ctrl-C during fit into `sys.exit(1)` (raised while handling the
    KeyboardInterrupt); Optuna would leave such a trial RUNNING. Give it back as a
    KeyboardInterrupt, which Optuna records as FAIL, with Ctrl-C working again."""
    if isinstance(err, SystemExit) and isinstance(err.__context__, KeyboardInterrupt):
        stop.restore()
        return KeyboardInterrupt(INTERRUPTED)
    return err


def write_run_record(out_dir: Path, trial: optuna.Trial, arch, cfg: Any) -> dict:
    """The params and tags of the trial's MLflow run, kept beside its files so that
    `task=sync` can log the run later if MLflow is unreachable now."""
    import json

    params = flatten(
        {
            **trial.params,
            "arch": _arch_params(arch),
            "cfg": OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True),
        }
    )
    tags = {
        **run_tags(cfg),
        "baseline": trial.user_attrs.get(BASELINE_ATTR) or "",
        "arch_generator": arch.graph.get("generator", ""),
    }
    record = {"params": {k: str(v) for k, v in params.items()}, "tags": tags}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RUN_RECORD).write_text(json.dumps(record, indent=1, default=str))
    return record


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
        self.last_reason = ""

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.finished += 1
        if trial.state == TrialState.FAIL:
            self.failed += 1
            self.last_reason = trial.user_attrs.get("fail_reason", self.last_reason)
        if self.finished >= self.min_trials and self.failed / self.finished > self.max_rate:
            self.tripped = True
            study.stop()

    def error(self, name: str) -> StudyFailedError:
        return StudyFailedError(
            f"study {name} stopped: {self.failed} of {self.finished} trials failed (more than "
            f"search.max_failure_rate={self.max_rate}); last reason: {self.last_reason or 'unknown'}; "
            "fix the set-up (or raise search.max_failure_rate), then rerun to resume the study"
        )


def enqueue_baselines(study: optuna.Study, names: list[str]) -> None:
    """Fixed baseline trials, once per study (only worker 0 of several enqueues)."""
    present = {
        t.user_attrs.get(BASELINE_ATTR)
        for t in study.get_trials(deepcopy=False)
        if t.state in (TrialState.COMPLETE, TrialState.WAITING, TrialState.RUNNING)
    }
    for name in names:
        if name not in present:
            study.enqueue_trial({}, user_attrs={BASELINE_ATTR: name})


def open_study(cfg: Any, name: str, objectives: list[Objective], on_stale: Any = None) -> optuna.Study:
    storage = create_storage(cfg.search.storage, cfg.search.heartbeat_interval, cfg.search.max_retry, on_stale=on_stale)
    directions = [o.direction for o in objectives]
    study = optuna.create_study(
        study_name=name, storage=storage, sampler=create_sampler(cfg), directions=directions, load_if_exists=True
    )
    existing = [d.name.lower() for d in study.directions]
    if existing != directions:
        raise ValueError(
            f"study {name!r} in {cfg.search.storage} optimises {existing}, not {directions} "
            f"(objectives {list(cfg.search.objectives)}); pick another search.study_name"
        )
    keep_identity(study, cfg, cfg.search.storage)
    study.set_user_attr("dataset", cfg.data.name)
    study.set_user_attr("objectives", [o.name for o in objectives])
    study.set_user_attr("metrics", [o.metric for o in objectives])
    with warnings.catch_warnings():  # experimental since Optuna 3.2; optuna-dashboard shows the names
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([o.name for o in objectives])
    return study


class Search:
    """One process's part of a study: checked inputs, the opened study, its MLflow tracker.

    Construction checks every input (search/preflight.py) before the storage is touched.
    """

    def __init__(self, cfg: Any) -> None:
        self.cfg, self.name = cfg, study_name(cfg)
        self.objectives = create_objectives(cfg.search)
        datamodule = preflight(cfg)
        self.stale = StaleTrialHandler(cfg.search.max_retry)
        self.study = open_study(cfg, self.name, self.objectives, on_stale=self.stale)
        self.tracker = Tracker(
            cfg.search.mlflow.tracking_uri,
            cfg.search.mlflow.experiment,
            self.name,
            run_tags(cfg),
            params=study_params(cfg),
            http=cfg.search.mlflow,
        )
        self.stale.tracker = self.tracker  # a lost worker's trial gets its MLflow run failed
        self.artifacts = Path(cfg.search.artifacts_dir) / self.name
        if cfg.search.worker in (None, 0):
            enqueue_baselines(self.study, list(cfg.search.baselines))
        self.runner = TrialRunner(cfg, self.name, self.objectives, self.tracker, self.artifacts)
        self.runner.datamodule = datamodule
        self.guard = FailureGuard(cfg.search.max_failure_rate, cfg.search.min_trials_for_failure_rate)
        self.interrupted = False
        self.started = datetime.now()  # Optuna's trial timestamps are local and naive
        self.running_elsewhere: list[int] = []  # other processes' RUNNING trials at the end (recover_lost)
        self.planned = 0  # trials this run set out to add (set by optimize)

    def remaining_trials(self) -> int:
        """Trials this run is to add: `search.n_trials`, or what `search.total_trials` lacks."""
        total = self.cfg.search.total_trials
        if total is None:
            return self.cfg.search.n_trials
        return max(0, total - len(self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))))

    def optimize(self) -> None:
        """This process's trials; Ctrl-C stops after recording the running trial FAIL.
        Anything else that escapes Optuna's loop ends the parent run FAILED first. A
        process on its own (no `search.worker`) then settles the study's other RUNNING
        trials (`recover_lost`)."""
        worker, total = self.cfg.search.worker, self.cfg.search.total_trials
        remaining = self.planned = self.remaining_trials()
        if remaining == 0:
            return
        # other processes add trials too: stop on the study's count, not ours
        stop_at = [] if total is None else [optuna.study.MaxTrialsCallback(total, states=(TrialState.COMPLETE,))]
        self._trials(None if total is not None else remaining, remaining, self.cfg.search.timeout, stop_at)
        if worker is None:
            self.recover_lost()

    def recover_lost(self) -> None:
        """Wait out the study's RUNNING trials of other processes (search/heartbeat.py):
        a killed worker's is failed once its grace period has passed, and its retry runs
        here; a live worker's is reported. Skipped after Ctrl-C or a tripped guard."""
        if self.interrupted or self.guard.tripped:
            return
        try:
            self.running_elsewhere = settle_running(self.study)
        except KeyboardInterrupt:
            self.interrupted = True
            return
        waiting = self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        retries = sum(RETRY_OF in t.system_attrs for t in waiting)  # Optuna runs WAITING trials first
        if retries:
            self._trials(retries, retries, None, [])

    def _trials(self, n_trials: int | None, expected: int, timeout: float | None, extra: list) -> None:
        worker = self.cfg.search.worker
        progress = Progress(
            expected, self.name if worker is None else f"{self.name} [worker {worker}]", self.objectives
        )
        stop = self.runner.stop
        callbacks: list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = [
            progress,
            self.guard,
            *extra,
            stop.after_trial,  # a Ctrl-C lost during the trial stops the study here
        ]
        logging.getLogger("optuna.study._optimize").addFilter(TRIAL_FAILURE_LINE)
        try:
            with stop.installed():
                self.study.optimize(
                    self.runner,
                    n_trials=n_trials,
                    timeout=timeout,
                    callbacks=callbacks,
                    catch=(Exception,),
                    gc_after_trial=True,
                )
        except KeyboardInterrupt:
            self.interrupted = True
        except BaseException:
            self.tracker.end_parent("FAILED")
            raise
        finally:
            progress.close()
            fail_stale_trials(self.study)  # a trial whose worker died while this one ran

    def finish(self, close: bool | None = None) -> dict:
        """Summary and study files onto the parent run. `close` (default: no trial of the
        study left running or waiting) ends the parent run; raises if interrupted/tripped."""
        from search.report import study_summary, write_study_files

        cfg, study = self.cfg, self.study
        if close is None:
            close = not study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))
        status = "KILLED" if self.interrupted else "FAILED" if self.guard.tripped else "FINISHED"
        try:
            summary = {
                **study_summary(study, self.objectives),
                "lost_trials": lost_trials(study, self.started),
                "running_elsewhere": self.running_elsewhere,
            }
            files = write_study_files(study, self.objectives, summary, self.artifacts)
            self.tracker.end_study(summary, files)
        finally:  # the parent run ends even if its files could not be written (a closed pipe, a full disk)
            if close:
                self.tracker.end_parent(status)
        summary.update(
            study=self.name,
            storage=cfg.search.storage,
            artifacts=str(self.artifacts),
            mlflow_experiment=cfg.search.mlflow.experiment,
            mlflow_run_id=self.tracker.parent_id,
            mlflow_available=self.tracker.available,
        )
        self.raise_if_stopped(summary["complete"])
        if self.planned:  # not in spawned workers: the launcher judges the run
            require_completed(study, self.started, cfg.search)
        return summary

    def raise_if_stopped(self, complete: int | None = None) -> None:
        if self.interrupted:
            kept = "" if complete is None else f"{complete} complete trials "
            raise SearchInterrupted(
                f"study {self.name} interrupted (Ctrl-C); the running trial is recorded FAIL, "
                f"{kept}kept in {self.cfg.search.storage}; rerun to resume"
            )
        if self.guard.tripped:
            raise self.guard.error(self.name)


def run_search(cfg: Any) -> dict:
    """Run (or resume) the study in this process; `search.worker=i`: as one of several.
    `task=search` (app/search.py) starts `search.n_workers` > 1 processes with run_workers."""
    search = Search(cfg)
    search.optimize()
    return search.finish()  # the parent run stays open while another process runs trials of the study
