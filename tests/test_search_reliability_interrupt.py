"""Ctrl-C stops every worker within one checkpoint (a training batch, the end of a trial),
even when its KeyboardInterrupt was raised inside a finalizer, which Python prints as
"Exception ignored" and drops (a DataLoader iterator shutting its loader processes
down, collected after each trial)."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta

import lightning.pytorch as pl
import pytest
from optuna.trial import TrialState

from search.errors import SearchInterrupted
from search.study import run_search
from tests.reliability_support import (
    STUDY,
    analysis_only,
    nested_runs,
    popen_run_py,
    tiny_config,
    tiny_overrides,
    trials,
)
from tests.test_search_reliability_trials import patch_evaluate
from tests.test_search_reliability_workers import wait_until


class Finalizer:
    """Ctrl-C pressed while a finalizer runs: its KeyboardInterrupt is dropped."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)  # the handler runs here, inside __del__


def swallowed_ctrl_c() -> None:
    Finalizer()  # collected at once


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_dropped_between_trials_stops_the_study_after_that_trial(tmp_path, monkeypatch):
    analysis_only(monkeypatch, accuracy=lambda arch: swallowed_ctrl_c() or 60.0)
    with pytest.raises(SearchInterrupted):
        run_search(tiny_config(tmp_path, "search.n_trials=3"))
    assert [t.state for t in trials(str(tmp_path / "optuna.journal"))] == [TrialState.COMPLETE]


class DroppedCtrlC(pl.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if batch_idx == 0:
            swallowed_ctrl_c()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_dropped_during_training_stops_the_trial_at_the_next_batch(tmp_path, monkeypatch):
    patch_evaluate(monkeypatch, lambda i, cfg, cbs: (cfg, cbs + [DroppedCtrlC()]))
    with pytest.raises(SearchInterrupted):
        run_search(tiny_config(tmp_path, "search.n_trials=3", "train.epochs=3"))
    [trial] = trials(str(tmp_path / "optuna.journal"))
    assert trial.state == TrialState.FAIL and trial.user_attrs["fail_reason"] == "interrupted (Ctrl-C)"
    _, [run] = nested_runs(f"sqlite:///{tmp_path}/mlflow.db")
    assert run.info.status == "KILLED" and "val_acc" not in run.data.metrics  # stopped in its first epoch


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(3))
def test_ctrl_c_stops_both_workers_within_a_trial_every_time(tmp_path, attempt):
    """Short trials (a few batches each), so Ctrl-C often lands between trials, where it was lost."""
    storage = str(tmp_path / "optuna.journal")
    process = popen_run_py(
        *tiny_overrides(tmp_path, "search.n_workers=2", "search.n_trials=60", "data.fraction=0.1"),
        f"hydra.run.dir={tmp_path}/run",
    )

    def both_workers_busy() -> bool:
        if not os.path.exists(storage):
            return False
        done = [t for t in trials(storage) if t.state == TrialState.COMPLETE]
        return {t.user_attrs.get("worker") for t in done} == {0, 1} and len(done) >= 2 + attempt

    wait_until(both_workers_busy, process)
    pressed = datetime.now()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    stopped = datetime.now() - pressed
    assert process.returncode == 2, err[-3000:]
    assert f"error: study {STUDY} interrupted (Ctrl-C)" in err
    done = trials(storage)
    assert not [t for t in done if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    late = [t.number for t in done if t.datetime_start > pressed + timedelta(seconds=5)]
    assert late == [], f"trials started after Ctrl-C: {late}"
    assert stopped < timedelta(seconds=60)
