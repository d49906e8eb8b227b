"""Heartbeats for Optuna's JournalStorage, and what happens to a trial whose worker died.

Optuna records heartbeats only in RDB storages. `HeartbeatJournalStorage` adds the same
`BaseHeartbeat` interface to the journal file backend, so Optuna's optimize loop starts
its heartbeat thread for every trial and, before each new trial, fails RUNNING trials
whose heartbeat is older than the grace period (a worker killed with SIGKILL, a lost
node). `StaleTrialHandler` is the callback for such a trial in both storages: like
Optuna's `RetryHeartbeatStaleTrialCallback` it re-enqueues the trial's parameters
(`system_attrs` failed_trial / retry_history, up to `max_retry` times), and it also
marks the trial's MLflow run FAILED.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import JournalStorage
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import FrozenTrial, TrialState

from search.samplers import BASELINE_ATTR

log = logging.getLogger(__name__)

HEARTBEAT_ATTR = "heartbeat"  # trial system attr: time.time() of the last beat
# User attrs that describe how a trial is defined (kept on retry); the rest are results.
DEFINING_USER_ATTRS = (BASELINE_ATTR,)
STALE_REASON = "worker lost: no heartbeat for {seconds:.0f} s (killed or crashed); trial retried as a new trial"


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """JournalStorage whose running trials beat every `heartbeat_interval` seconds."""

    def __init__(self, backend: Any, heartbeat_interval: int, grace_period: int | None = None,
                 stale_trial_callback: Any = None) -> None:
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
    first); without one, `task=sync` marks the run later.
    """

    def __init__(self, max_retry: int | None = 2) -> None:
        self.max_retry = max_retry
        self.tracker: Any = None

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        seconds = time.time() - last_sign_of_life(trial)
        reason = STALE_REASON.format(seconds=seconds)
        log.warning("trial %d of study %s: %s", trial.number, study.study_name, reason)
        run_id = trial.user_attrs.get("mlflow_run_id")
        if self.tracker is not None and run_id:
            self.tracker.end_trial(run_id, ok=False, reason=reason)
        self.retry(study, trial)

    def retry(self, study: optuna.Study, trial: FrozenTrial) -> None:
        system_attrs = {k: v for k, v in trial.system_attrs.items() if k != HEARTBEAT_ATTR}
        system_attrs.setdefault("failed_trial", trial.number)
        system_attrs["retry_history"] = [*system_attrs.get("retry_history", []), trial.number]
        if self.max_retry is not None and len(system_attrs["retry_history"]) > self.max_retry:
            log.warning("trial %d was retried %d times already; not retrying", trial.number, self.max_retry)
            return
        user_attrs = {k: v for k, v in trial.user_attrs.items() if k in DEFINING_USER_ATTRS}
        study.add_trial(optuna.create_trial(
            state=TrialState.WAITING, params=trial.params, distributions=trial.distributions,
            user_attrs=user_attrs, system_attrs=system_attrs,
        ))
