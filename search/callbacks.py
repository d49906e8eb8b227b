"""The Lightning callbacks a search trial trains with: its per-epoch MLflow metrics and
its Optuna intermediate values (learning curves in optuna-dashboard).

`Trial.report` refuses multi-objective studies (it exists for pruners, which are
single-objective), so there the value goes to the storage directly, through the same
`set_trial_intermediate_value` call.
"""

from __future__ import annotations

import lightning.pytorch as pl
import optuna

from search.tracking import Tracker

CURVE_METRIC = "val_acc"


class EpochMetrics(pl.Callback):
    """Logs each epoch's train_* and val_* metrics into the trial's run at step = epoch (from 0).

    Not Lightning's `MLFlowLogger(run_id=...)`, though it logs into the given nested run:
    Lightning's `finalize` after `fit` and `test` marks the run FINISHED before the trial
    has logged its results (or failed); it calls MLflow directly, so a store locked by
    another worker or a lost server fails the trial, where `Tracker` retries, then turns
    into a no-op; and its step is the optimizer step, not the epoch.
    """

    def __init__(self, tracker: Tracker, run_id: str | None) -> None:
        self.tracker, self.run_id = tracker, run_id
        self.logged: set[str] = set()  # keys with a per-epoch history: not logged again at the end

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # the epoch's validation has run by now, and its train_* means are final
        values = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(("val_", "train_"))}
        self.tracker.log_metrics(self.run_id, values, step=trainer.current_epoch)
        self.logged.update(values)


class IntermediateValues(pl.Callback):
    """After each epoch's validation: `val_acc` (%) at step = epoch (from 0)."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        value = trainer.callback_metrics.get(CURVE_METRIC)
        if value is None:
            return
        if len(self.trial.study.directions) == 1:
            self.trial.report(float(value), trainer.current_epoch)
        else:
            self.trial.storage.set_trial_intermediate_value(self.trial._trial_id, trainer.current_epoch, float(value))
