"""`task=sync`: log to MLflow what a search kept only in its Optuna storage.

When MLflow is unreachable during a search, trials still complete: their metrics are
Optuna user attributes, their files stay in `search.artifacts_dir/<study>/trial-<n>/`
with `mlflow_run.json` (the run's params and tags). This task finds, for every
finished trial, its nested MLflow run (by the trial's tags) and creates or completes
it: whatever its run lacks (`Gap`) of the params and tags (`mlflow_run.json`), final
metrics, tables, files and status (FINISHED, or FAILED with fail_reason). MLflow is
the record of what is synced, so running it twice logs nothing twice, and
a sync with nothing to log leaves the parent run (its metrics, status, times) alone.
Not recoverable: per-epoch curves and logged models of trials run while MLflow was down.
"""

from __future__ import annotations

import json
import logging
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from tqdm.auto import tqdm

from search.heartbeat import HEARTBEAT_ATTR
from search.identity import study_name
from search.samplers import DUPLICATE_ATTR
from search.storage import open_existing
from search.study import result_attrs, run_tags
from search.tracking import PARENT_TAG, RUN_RECORD, TRIAL_TAG, Tracker, quoted, run_status, split_tables, trial_run_name

log = logging.getLogger(__name__)

LOST_REASON = "worker lost: no heartbeat (killed or crashed); trial retried as a new trial"


def load_existing_study(cfg: Any, name: str) -> optuna.Study:
    """The study, read without creating a storage or a study that is not there."""
    url = cfg.search.storage
    storage = open_existing(url)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
        raise ValueError(
            f"no study {name!r} in {url} (studies there: {', '.join(names) or 'none'}); set search.study_name"
        ) from None


def trial_runs(tracker: Tracker) -> dict[int, Any]:
    """Trial number → its nested run (the most recently started one, if several)."""
    runs: dict[int, Any] = {}
    token = None
    while True:
        page = tracker._retrying(
            tracker.client.search_runs,
            [tracker.experiment_id],
            filter_string=f"tags.`{PARENT_TAG}.parent` = {quoted(tracker.study_name)}",
            max_results=1000,
            page_token=token,
        )
        for run in page:
            number = int(run.data.tags.get(TRIAL_TAG, -1))
            if number not in runs or run.info.start_time > runs[number].info.start_time:
                runs[number] = run
        token = page.token
        if not token:
            return runs


def run_record(trial: FrozenTrial, folder: Path) -> dict:
    path = folder / RUN_RECORD
    if path.is_file():
        return json.loads(path.read_text())
    return {"params": {k: str(v) for k, v in trial.params.items()}, "tags": {}}


def fail_reason(trial: FrozenTrial) -> str:
    if trial.user_attrs.get("fail_reason"):
        return trial.user_attrs["fail_reason"]
    return LOST_REASON if HEARTBEAT_ATTR in trial.system_attrs else "unknown (no fail_reason recorded)"


def expected_status(trial: FrozenTrial) -> str:
    ok = trial.state == TrialState.COMPLETE
    return run_status(ok, None if ok else fail_reason(trial))


def run_name(trial: FrozenTrial, record: dict) -> str:
    """The name the search gives the trial's run (tracking.trial_run_name)."""
    params, baseline = record.get("params", {}), record.get("tags", {}).get("baseline")
    label = baseline or (f"{params['arch.generator']}{params['arch.nodes']}" if "arch.generator" in params else None)
    return trial_run_name(trial.number, label, trial.user_attrs.get(DUPLICATE_ATTR))


@dataclass
class Gap:
    """What a trial's MLflow run lacks of what the storage and the trial's folder hold
    (a call lost while the server was down leaves a FINISHED run without its params)."""

    name: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tables: dict[str, dict[str, float]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    status: str | None = None

    def __bool__(self) -> bool:
        return any(astuple(self))


def find_gap(tracker: Tracker, trial: FrozenTrial, run: Any, folder: Path, record: dict) -> Gap:
    """Params, tags, final metrics, tables, files and status the run (None: no run) lacks."""
    params: dict[str, str] = dict(run.data.params) if run else {}
    tags: dict[str, str] = dict(run.data.tags) if run else {}
    metrics = set(run.data.metrics) if run else set()
    logged = {a.path for a in (tracker._call(tracker.client.list_artifacts, run.info.run_id) or [])} if run else set()
    scalars, tables = split_tables(result_attrs(trial))
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    name = run_name(trial, record)
    return Gap(
        name=None if run and run.info.run_name == name else name,
        params={k: v for k, v in record.get("params", {}).items() if k not in params},
        tags={k: v for k, v in record.get("tags", {}).items() if k not in tags},
        metrics={k: v for k, v in scalars.items() if k not in metrics},
        tables={k: v for k, v in tables.items() if f"{k}.json" not in logged},
        # a duplicate's files are its twin's
        files=[] if DUPLICATE_ATTR in trial.user_attrs else [p for p in files if p.name not in logged],
        status=None if run and run.info.status == expected_status(trial) else expected_status(trial),
    )


def sync_trial(tracker: Tracker, trial: FrozenTrial, run: Any, folder: Path) -> str:
    """Create or complete the trial's run: 'created', 'completed', 'already_synced' or 'errors'."""
    from mlflow.entities import Metric

    client, record = tracker.client, run_record(trial, folder)
    gap = find_gap(tracker, trial, run, folder, record)
    if not gap:
        return "already_synced"
    ms = lambda moment: int(moment.timestamp() * 1000) if moment else None  # noqa: E731
    action = "completed"
    if run is None:
        tags = tracker.trial_tags(trial.number, record.get("tags", {}))
        created = tracker._call(
            client.create_run, tracker.experiment_id, run_name=gap.name, start_time=ms(trial.datetime_start), tags=tags
        )
        if created is None:
            return "errors"
        run, action = created, "created"
    elif gap.name:
        tracker._call(client.update_run, run.info.run_id, name=gap.name)
    run_id = run.info.run_id
    tracker.log_params(run_id, gap.params, gap.tags)
    when = ms(trial.datetime_complete) or ms(trial.datetime_start) or 0
    metrics = [Metric(k, v, when, 0) for k, v in gap.metrics.items()]
    for i in range(0, len(metrics), 500):
        tracker._call(client.log_batch, run_id, metrics=metrics[i : i + 500])
    tracker.log_tables(run_id, gap.tables)
    tracker.log_artifacts(run_id, gap.files)
    ok = trial.state == TrialState.COMPLETE
    tracker.end_trial(
        run_id, expected_status(trial), reason=None if ok else fail_reason(trial), end_time=ms(trial.datetime_complete)
    )
    return action


def sync_task(cfg: Any) -> dict:
    """Log the study's unsynced trials and refresh its parent run; returns the counts."""
    from search.objectives import OBJECTIVES
    from search.report import study_summary, write_study_files

    name = study_name(cfg)
    study = load_existing_study(cfg, name)
    mlflow = cfg.search.mlflow
    tracker = Tracker(mlflow.tracking_uri, mlflow.experiment, name, run_tags(cfg), reopen=False, http=mlflow)
    if not tracker.available:
        raise ValueError(
            f"MLflow at {cfg.search.mlflow.tracking_uri} is unreachable; start the tracking server "
            "or fix search.mlflow.tracking_uri, then rerun task=sync"
        )
    runs = trial_runs(tracker)
    artifacts = Path(cfg.search.artifacts_dir) / name
    counts = {"created": 0, "completed": 0, "already_synced": 0, "errors": 0}
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
    for trial in tqdm(finished, desc=f"sync {name}", unit="trial"):
        folder = Path(trial.user_attrs.get("artifacts") or artifacts / f"trial-{trial.number}")
        counts[sync_trial(tracker, trial, runs.get(trial.number), folder)] += 1
    if counts["created"] + counts["completed"]:  # else the parent run is left exactly as it was
        objectives = [
            OBJECTIVES.create(o, search=cfg.search) for o in study.user_attrs.get("objectives", cfg.search.objectives)
        ]
        summary = study_summary(study, objectives)
        tracker.end_study(summary, write_study_files(study, objectives, summary, artifacts))
        if not study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
            last = max((t.datetime_complete for t in finished if t.datetime_complete), default=None)
            tracker.end_parent("FINISHED", end_time=int(last.timestamp() * 1000) if last else None)
    if not tracker.available:
        raise ValueError(
            f"MLflow at {cfg.search.mlflow.tracking_uri} became unreachable during the sync "
            f"({counts['created'] + counts['completed']} trials logged); rerun task=sync"
        )
    return {
        "study": name,
        "storage": cfg.search.storage,
        "trials": len(finished),
        **counts,
        "mlflow_experiment": cfg.search.mlflow.experiment,
        "mlflow_run_id": tracker.parent_id,
    }
