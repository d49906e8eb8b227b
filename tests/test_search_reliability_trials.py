"""Failing trials: NaN loss, out-of-memory, an unbuildable architecture, Ctrl-C, too many failures.

Each becomes a FAIL trial whose reason is in the storage (user attr fail_reason) and
on its FAILED MLflow run (tag fail_reason), and the study goes on, or stops cleanly.
"""

from __future__ import annotations

import copy
import logging
import os
import signal

import lightning.pytorch as pl
import pytest
import torch
from optuna.trial import TrialState

import search.study
from nas.arch import ArchitectureError
from search.errors import SearchInterrupted, StudyFailedError
from search.study import run_search
from tests.reliability_support import nested_runs, tiny_config, trials


def patch_evaluate(monkeypatch, per_call) -> list:
    """Wrap the trial's evaluate: `per_call(i, arch, cfg, callbacks)` may change or raise."""
    real, calls = search.study.evaluate, []

    def evaluate(arch, cfg, out_dir, callbacks, datamodule):
        calls.append(len(calls))
        cfg, callbacks = per_call(len(calls) - 1, cfg, list(callbacks))
        return real(arch, cfg, out_dir, callbacks, datamodule)

    monkeypatch.setattr(search.study, "evaluate", evaluate)
    return calls


def huge_lr(cfg):
    """The recipe with a learning rate that makes the loss NaN within a few steps."""
    cfg = copy.deepcopy(cfg)
    cfg.train.optimizer["lr"] = 1e30
    if cfg.train.scheduler and "max_lr" in cfg.train.scheduler:  # one-cycle: its peak is the rate
        cfg.train.scheduler["max_lr"] = 1e30
    return cfg


def test_a_nan_trial_fails_and_the_next_one_runs(tmp_path, monkeypatch):
    patch_evaluate(monkeypatch, lambda i, cfg, cbs: (huge_lr(cfg) if i == 0 else cfg, cbs))
    summary = run_search(tiny_config(tmp_path))
    done = trials(str(tmp_path / "optuna.journal"))
    assert [t.state for t in done] == [TrialState.FAIL, TrialState.COMPLETE]
    assert done[0].user_attrs["fail_reason"].startswith("DivergedError: training diverged")
    assert summary["complete"] == 1 and summary["failed"] == 1
    _, runs = nested_runs(f"sqlite:///{tmp_path}/mlflow.db", summary["mlflow_run_id"])
    status = {r.data.tags["cnas.trial"]: (r.info.status, r.data.tags.get("fail_reason", "")) for r in runs}
    assert status["0"][0] == "FAILED" and "lower train.optimizer.lr" in status["0"][1]
    assert status["1"] == ("FINISHED", "")


def test_out_of_memory_and_unbuildable_architectures_fail_their_trial_only(tmp_path, monkeypatch):
    def per_call(i, cfg, cbs):
        if i == 0:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return cfg, cbs

    patch_evaluate(monkeypatch, per_call)
    real_sample = search.study.sample_architecture

    def sample(trial, cfg):
        if trial.number == 1:
            raise ArchitectureError("vertex 3: channels must be a positive integer, got 0")
        return real_sample(trial, cfg)

    monkeypatch.setattr(search.study, "sample_architecture", sample)
    summary = run_search(tiny_config(tmp_path, "search.n_trials=3", "search.max_failure_rate=1"))
    done = trials(str(tmp_path / "optuna.journal"))
    assert [t.state for t in done] == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]
    assert done[0].user_attrs["fail_reason"].startswith("OutOfMemoryError: CUDA out of memory")
    assert done[1].user_attrs["fail_reason"].startswith("ArchitectureError: vertex 3")
    _, runs = nested_runs(f"sqlite:///{tmp_path}/mlflow.db", summary["mlflow_run_id"])
    failed = {r.data.tags["cnas.trial"]: r.data.tags["fail_reason"] for r in runs if r.info.status == "FAILED"}
    assert failed.keys() == {"0", "1"} and "out of memory" in failed["0"] and "channels" in failed["1"]


def test_a_systematically_failing_study_stops_with_a_clear_message(tmp_path):
    cfg = tiny_config(
        tmp_path,
        "search.n_trials=6",
        "train.optimizer.lr=1e30",
        "search.min_trials_for_failure_rate=2",
        "search.max_failure_rate=0.5",
    )
    with pytest.raises(StudyFailedError) as err:
        run_search(cfg)
    message = str(err.value)
    assert "\n" not in message
    assert "2 of 2 trials failed" in message and "search.max_failure_rate=0.5" in message
    assert "DivergedError" in message and "lower train.optimizer.lr" in message
    assert [t.state for t in trials(str(tmp_path / "optuna.journal"))] == [TrialState.FAIL] * 2  # stopped early
    parents, _ = nested_runs(f"sqlite:///{tmp_path}/mlflow.db")
    assert [p.info.status for p in parents] == ["FAILED"]


class CtrlC(pl.Callback):
    """Presses Ctrl-C (a real SIGINT to this process) in the middle of training."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == 1:
            os.kill(os.getpid(), signal.SIGINT)


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage() + (" (with traceback)" if record.exc_info else ""))


def test_ctrl_c_records_the_running_trial_failed_and_stops_cleanly(tmp_path, monkeypatch):
    patch_evaluate(monkeypatch, lambda i, cfg, cbs: (cfg, cbs + [CtrlC()] if i == 1 else cbs))
    optuna_log, recorder = logging.getLogger("optuna.study._optimize"), Recorder()
    optuna_log.addHandler(recorder)  # what Optuna's handler prints (its logger's filters apply first)
    try:
        with pytest.raises(
            SearchInterrupted, match="interrupted .Ctrl-C.; the running trial is recorded FAIL, 1 complete"
        ):
            run_search(tiny_config(tmp_path, "search.n_trials=4"))
    finally:
        optuna_log.removeHandler(recorder)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C works again
    assert recorder.messages == []  # not Optuna's 70-line traceback of the interrupted trial before the error line
    done = trials(str(tmp_path / "optuna.journal"))
    assert [t.state for t in done] == [TrialState.COMPLETE, TrialState.FAIL]
    assert done[1].user_attrs["fail_reason"] == "interrupted (Ctrl-C)"
    parents, runs = nested_runs(f"sqlite:///{tmp_path}/mlflow.db")
    assert sorted(r.info.status for r in runs) == ["FINISHED", "KILLED"]
    assert [p.info.status for p in parents] == ["KILLED"]
