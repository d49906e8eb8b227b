"""Per-epoch validation accuracy as the trial's Optuna intermediate values.

optuna-dashboard draws them as learning curves. `Trial.report` refuses multi-objective
studies (it exists for pruners, which are single-objective), so there the value goes
to the storage directly, through the same `set_trial_intermediate_value` call.
"""
from __future__ import annotations

import lightning.pytorch as pl
import optuna

CURVE_METRIC = "val_acc"


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
