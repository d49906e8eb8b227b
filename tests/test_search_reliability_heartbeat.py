"""Heartbeats on the journal storage: a silent RUNNING trial is failed and retried, a
beating one is left alone, and retries stop after search.max_retry."""

from __future__ import annotations

import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

import search.heartbeat
from search.heartbeat import HEARTBEAT_ATTR, HeartbeatJournalStorage, StaleTrialHandler, fail_stale_trials
from search.storage import create_storage

# The tests drive trials by hand (ask) to play a killed worker; Optuna warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")


class FakeTracker:
    def __init__(self) -> None:
        self.ended: list[tuple] = []

    def end_trial(self, run_id, status, reason=None):
        self.ended.append((run_id, status, reason))


@pytest.fixture
def journal(tmp_path):
    return str(tmp_path / "s.journal")


def open_worker(journal: str, handler=None):
    """A worker's own view of the study (as after a restart: a fresh storage object)."""
    storage = create_storage(journal, heartbeat_interval=1, on_stale=handler)
    assert isinstance(storage, HeartbeatJournalStorage) and storage.grace_period == 2
    return optuna.create_study(study_name="s", storage=storage, load_if_exists=True)


def later(monkeypatch, seconds: float) -> None:
    now = time.time()
    monkeypatch.setattr(search.heartbeat.time, "time", lambda: now + seconds)


def test_a_silent_running_trial_is_failed_and_its_parameters_retried(journal, monkeypatch):
    killed = open_worker(journal)
    trial = killed.ask()
    x = trial.suggest_float("x", 0, 1)
    trial.set_user_attr("baseline", "cifarnet")
    trial.set_user_attr("arch_seed", 1234)  # derived from the lost trial's number: the retry keeps it
    trial.set_user_attr("mlflow_run_id", "run-0")
    trial.set_user_attr("test_acc", 50.0)
    killed._storage.record_heartbeat(trial._trial_id)  # then the worker is SIGKILLed: no more beats
    assert HEARTBEAT_ATTR in killed.trials[0].system_attrs

    handler = StaleTrialHandler(max_retry=2)
    handler.tracker = FakeTracker()
    restarted = open_worker(journal, handler)
    fail_stale_trials(restarted)
    assert restarted.trials[0].state == TrialState.RUNNING  # beat recently: not stale yet

    later(monkeypatch, 3)
    fail_stale_trials(restarted)
    failed, retry = restarted.trials
    assert failed.state == TrialState.FAIL and retry.state == TrialState.WAITING
    assert retry.params == {"x": x} and retry.user_attrs == {"baseline": "cifarnet", "arch_seed": 1234}
    assert retry.system_attrs["failed_trial"] == 0 and retry.system_attrs["retry_history"] == [0]
    assert HEARTBEAT_ATTR not in retry.system_attrs
    [(run_id, status, reason)] = handler.tracker.ended
    assert (run_id, status) == ("run-0", "FAILED") and reason.startswith("worker lost: no heartbeat")

    monkeypatch.undo()
    restarted.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)  # the retry runs first
    assert restarted.trials[1].state == TrialState.COMPLETE and restarted.trials[1].value == x


def test_retries_stop_after_max_retry(journal, monkeypatch):
    study = open_worker(journal, StaleTrialHandler(max_retry=1))
    for _ in range(2):  # run, lose the worker; run the retry, lose it again
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        later(monkeypatch, 3 + 3 * len(study.trials))
        fail_stale_trials(study)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL]  # no third attempt
    assert study.trials[1].system_attrs["retry_history"] == [0]
    assert study.trials[1].params == study.trials[0].params


def test_a_long_trial_that_beats_is_not_failed_by_another_worker(journal):
    study = open_worker(journal)
    other = open_worker(journal)
    checked = []

    def check_from_another_worker():
        time.sleep(3.0)  # past the 2 s grace period of the trial's start
        fail_stale_trials(other)
        checked.append(other.trials[0].state)

    checker = threading.Thread(target=check_from_another_worker)
    checker.start()
    study.optimize(lambda t: time.sleep(3.6) or t.suggest_float("x", 0, 1), n_trials=1)
    checker.join()
    assert checked == [TrialState.RUNNING]
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]


def test_heartbeat_interval_zero_gives_a_plain_journal(journal):
    storage = create_storage(journal, heartbeat_interval=0)
    assert type(storage) is optuna.storages.JournalStorage
