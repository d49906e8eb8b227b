"""Heartbeats for Optuna's JournalStorage, and what happens to a trial whose worker died.

Optuna records heartbeats only in RDB storages. `HeartbeatJournalStorage` adds the same
`BaseHeartbeat` interface to the journal file backend, so Optuna's optimize loop starts
its heartbeat thread for every trial and, before each new trial, fails RUNNING trials
whose heartbeat is older than the grace period (a worker killed with SIGKILL, a lost
node). `StaleTrialHandler` is the callback for such a trial in both storages: it marks
the trial's MLflow run FAILED, then Optuna's `RetryHeartbeatStaleTrialCallback`
re-enqueues its parameters (`system_attrs` failed_trial / retry_history, up to
`max_retry` times).
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
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
