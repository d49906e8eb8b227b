"""A search that completes no trial ends with SearchError (exit 2) naming why."""

from __future__ import annotations

import time
from datetime import datetime
from types import SimpleNamespace

import optuna
import pytest

import search.study
from nas.arch import ArchitectureError
from search.errors import SearchError
from search.outcome import require_completed
from search.study import run_search
from tests.reliability_support import tiny_config

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_a_run_whose_every_trial_failed_exits_with_the_reason(tmp_path, monkeypatch):
    def unbuildable(trial, cfg):
        raise ArchitectureError("vertex 3: channels must be a positive integer, got 0")

    monkeypatch.setattr(search.study, "sample_architecture", unbuildable)
    with pytest.raises(SearchError) as err:
        run_search(tiny_config(tmp_path))  # 2 trials: below the failure-rate guard's 4
    assert str(err.value) == (
        "study rel: none of this run's 2 trials completed (2 failed); last reason: "
        "ArchitectureError: vertex 3: channels must be a positive integer, got 0; "
        "fix the set-up, then rerun"
    )


def _study_with_an_old_complete_trial() -> tuple[optuna.Study, datetime]:
    study = optuna.create_study(study_name="s")
    study.optimize(lambda t: 1.0, n_trials=1)
    time.sleep(0.01)
    return study, datetime.now()


def test_trials_completed_by_an_earlier_run_do_not_count():
    study, since = _study_with_an_old_complete_trial()
    study.optimize(lambda t: 1 / 0, n_trials=1, catch=(ZeroDivisionError,))
    with pytest.raises(SearchError, match="none of this run's 1 trials completed"):
        require_completed(study, since, SimpleNamespace(n_trials=1, timeout=None))
    study.optimize(lambda t: 2.0, n_trials=1)
    require_completed(study, since, SimpleNamespace(n_trials=2, timeout=None))


def test_no_trial_finished_names_the_timeout_and_zero_trials_is_no_error():
    study, since = _study_with_an_old_complete_trial()
    with pytest.raises(SearchError, match=r"no trial finished \(search.timeout=5\); raise search.timeout"):
        require_completed(study, since, SimpleNamespace(n_trials=3, timeout=5))
    require_completed(study, since, SimpleNamespace(n_trials=0, timeout=None))
