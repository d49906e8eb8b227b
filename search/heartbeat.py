"""Heartbeats for Optuna's JournalStorage, and what happens to a trial whose worker died.

Optuna records heartbeats only in RDB storages. `HeartbeatJournalStorage` adds the same
`BaseHeartbeat` interface to the journal file backend, so Optuna's optimize loop starts
its heartbeat thread for every trial and, before each new trial, fails RUNNING trials
whose heartbeat is older than the grace period (a worker killed with SIGKILL, a lost
node). `StaleTrialHandler` is the callback for such a trial in both storages: it marks
the trial's MLflow run FAILED, then Optuna's `RetryHeartbeatStaleTrialCallback`
re-enqueues its parameters (`system_attrs` failed_trial / retry_history, up to
`max_retry` times). Optuna checks only before each trial, so a run that starts right
after a worker was killed would end with that trial RUNNING: `settle_running` waits at
the end of a run until every RUNNING trial beats (a live worker's) or goes stale.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from datetime import datetime
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import JournalStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import FrozenTrial, TrialState

from search.samplers import BASELINE_ATTR
from search.space import ARCH_SEED

log = logging.getLogger(__name__)

HEARTBEAT_ATTR = "heartbeat"  # trial system attr: time.time() of the last beat
# User attrs that describe how a trial is defined (kept on retry: the same architecture); the rest are results.
DEFINING_USER_ATTRS = (BASELINE_ATTR, ARCH_SEED)
RETRY_OF = "failed_trial"  # system attr Optuna's retry callback gives the retry: the lost trial's number
STALE_REASON = "worker lost: no heartbeat for {seconds:.0f} s (killed or crashed); trial retried as a new trial"


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """JournalStorage whose running trials beat every `heartbeat_interval` seconds."""

    def __init__(
        self, backend: Any, heartbeat_interval: int, grace_period: int | None = None, stale_trial_callback: Any = None
    ) -> None:
        super().__init__(backend)
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period or 2 * heartbeat_interval
        self.stale_trial_callback = stale_trial_callback

    def record_heartbeat(self, trial_id: int) -> None:
        # Runs in Optuna's heartbeat thread: never let it die on a trial finished meanwhile.
        try:
            if self.get_trial(trial_id).state == TrialState.RUNNING:
                self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())
        except (UpdateFinishedTrialError, KeyError):
            pass

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        stale = []
        for trial in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            if now - last_sign_of_life(trial) > self.grace_period:
                stale.append(trial._trial_id)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self.heartbeat_interval

    def get_heartbeat_stale_trial_callback(self) -> Any:
        return self.stale_trial_callback


def last_sign_of_life(trial: FrozenTrial) -> float:
    """The later of its last heartbeat and its start (a retried trial copies old attrs)."""
    started = trial.datetime_start.timestamp() if trial.datetime_start else 0.0
    return max(float(trial.system_attrs.get(HEARTBEAT_ATTR, 0.0)), started)


class StaleTrialHandler:
    """Heartbeat-stale trial → its MLflow run FAILED, its parameters enqueued again.

    `tracker` is attached once the study's MLflow tracker exists (the storage is opened
    first); without one, `task=sync` marks the run later. Optuna's retry gets a copy of
    the trial without its last heartbeat and results (`mlflow_run_id`, metrics): the
    retry is a new run of the same parameters (and baseline), not a resumed one.
    """

    def __init__(self, max_retry: int | None = 2) -> None:
        with warnings.catch_warnings():  # experimental in name only: unchanged since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        self.tracker: Any = None

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        seconds = time.time() - last_sign_of_life(trial)
        reason = STALE_REASON.format(seconds=seconds)
        log.warning("trial %d of study %s: %s", trial.number, study.study_name, reason)
        run_id = trial.user_attrs.get("mlflow_run_id")
        if self.tracker is not None and run_id:
            self.tracker.end_trial(run_id, "FAILED", reason=reason)
        defining = copy.deepcopy(trial)  # the storage's cached trial: Optuna's retry appends to its lists
        defining.user_attrs = {k: v for k, v in trial.user_attrs.items() if k in DEFINING_USER_ATTRS}
        defining.system_attrs.pop(HEARTBEAT_ATTR, None)
        self.retry(study, defining)


def fail_stale_trials(study: optuna.Study) -> None:
    """Optuna's check (which `optimize` runs before each trial), run now."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def settle_running(study: optuna.Study, poll_s: float = 0.5) -> list[int]:
    """Wait until each RUNNING trial either ends, beats again, or goes stale, which fails
    it (its MLflow run too, `StaleTrialHandler`) and enqueues its retry; returns those
    still running (another process's, or unknown with heartbeats off). A dead worker's
    trial is stale within one grace period of now; a live one beats within an interval
    (journal), or is never stale (RDB storages keep beats out of the trial)."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    storage = study._storage
    interval = storage.get_heartbeat_interval() if isinstance(storage, BaseHeartbeat) else None
    if not running or not interval:
        return [t.number for t in running]
    grace = getattr(storage, "grace_period", None) or 2 * interval
    log.warning(
        "trial(s) %s of study %s still RUNNING: waiting up to %d s for a heartbeat",
        ", ".join(str(t.number) for t in running),
        study.study_name,
        grace,
    )
    beats = {t.number: t.system_attrs.get(HEARTBEAT_ATTR) for t in running}
    deadline = time.time() + grace + poll_s
    alive = []
    while beats:
        fail_stale_trials(study)
        for trial in [t for t in study.get_trials(deepcopy=False) if t.number in beats]:
            if trial.state == TrialState.RUNNING:
                if trial.system_attrs.get(HEARTBEAT_ATTR) == beats[trial.number] and time.time() < deadline:
                    continue
                alive.append(trial.number)
            del beats[trial.number]
        if beats:
            time.sleep(poll_s)
    if alive:
        log.warning(
            "trial(s) %s of study %s run in another process (they beat): its parent run stays open",
            ", ".join(map(str, alive)),
            study.study_name,
        )
    return alive


def lost_trials(study: optuna.Study, since: datetime) -> list[dict[str, int | None]]:
    """The trials failed as stale since `since` (FAIL without a `fail_reason`: their worker
    died before it could record one), each with the number of its retry (None: none left)."""
    trials = study.get_trials(deepcopy=False)
    retry = {t.system_attrs[RETRY_OF]: t.number for t in trials if RETRY_OF in t.system_attrs}
    return [
        {"trial": t.number, "retry": retry.get(t.number)}
        for t in trials
        if t.state == TrialState.FAIL
        and "fail_reason" not in t.user_attrs
        and t.datetime_complete is not None
        and t.datetime_complete >= since
    ]
