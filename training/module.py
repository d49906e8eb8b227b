"""LightningModule that trains any architecture's `nn.Module` for classification.

Logs `train_loss`, `train_acc`, `val_loss`, `val_acc`, `test_loss`, `test_acc` per epoch
(accuracy in %, top-1): the search and MLflow read these names.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from itertools import islice
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import update_bn


class DivergedError(ValueError):
    """The loss became NaN/inf. A ValueError, so `run.py` reports it in one line; the
    search marks the trial failed. Usually the learning rate is too high."""


class ArchitectureClassifier(pl.LightningModule):
    """Cross-entropy training with an optimizer/scheduler built from partials."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        scheduler_interval: str = "epoch",
        label_smoothing: float = 0.0,
        bn_calibration_batches: int = 0,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.model = model.to(memory_format=torch.channels_last) if channels_last else model
        self.make_optimizer, self.make_scheduler = optimizer, scheduler
        self.scheduler_interval, self.label_smoothing = scheduler_interval, label_smoothing
        self.bn_calibration_batches = bn_calibration_batches
        self._calibrated_at: int | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x)

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing if split == "train" else 0.0)
        if not torch.isfinite(loss):
            raise DivergedError(
                f"training diverged: {split} loss is {loss.item()} at epoch {self.current_epoch}, "
                f"step {self.global_step}; lower train.optimizer.lr"
            )
        accuracy = 100.0 * (logits.argmax(1) == y).float().mean()
        # Epoch values are batch-size-weighted means: exact top-1 over the split.
        self.log(f"{split}_loss", loss, on_step=False, on_epoch=True, batch_size=len(y), prog_bar=split != "test")
        self.log(f"{split}_acc", accuracy, on_step=False, on_epoch=True, batch_size=len(y), prog_bar=split != "train")
        return loss

    def calibrate_batchnorm(self) -> None:
        """Precise BatchNorm: re-estimate every BN layer's statistics with the current
        weights on `bn_calibration_batches` training batches before evaluating.

        The running averages lag weights that move fast (short one-cycle runs), and the
        sigmoid merges compound the error vertex after vertex: a DP network on digits
        measured 57 % in eval mode against 97 % with recalibrated statistics.
        """
        if not self.bn_calibration_batches or self._calibrated_at == self.global_step:
            return
        # A loader of its own: re-iterating the fit loop's could disturb its epoch.
        datamodule = self.trainer.datamodule  # type: ignore[attr-defined]  # Lightning sets it at fit time, untyped
        loader = datamodule.train_dataloader() if datamodule is not None else self.trainer.train_dataloader
        if loader is None:
            return
        with torch.inference_mode(False):  # evaluation loops run in inference mode
            # through `forward`, so the batches take the same layout path as in training
            update_bn(islice(loader, self.bn_calibration_batches), self, device=self.device)
        self._calibrated_at = self.global_step

    def on_validation_epoch_start(self) -> None:
        self.calibrate_batchnorm()

    def on_test_epoch_start(self) -> None:
        self.calibrate_batchnorm()

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._evaluate(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def configure_optimizers(self) -> Any:
        optimizer = self.make_optimizer(self.parameters())
        if self.make_scheduler is None:
            return optimizer
        extra = {}
        # A per-step schedule of fixed length (OneCycleLR) learns its length from the data.
        if (
            self.scheduler_interval == "step"
            and "total_steps" in inspect.signature(self.make_scheduler).parameters
            and getattr(self.make_scheduler, "keywords", {}).get("total_steps") is None
        ):
            extra["total_steps"] = int(self.trainer.estimated_stepping_batches)
        scheduler = self.make_scheduler(optimizer, **extra)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval}}
