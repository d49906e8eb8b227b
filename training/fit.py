"""Train one architecture on the configured data set and evaluate it on the test split.

`train_architecture` is what `task=train` and the search call. Accuracy is top-1 in %;
accuracy per parameter is in **% per million parameters**, the unit that reproduces the
paper's tables: ResNet-50 on Flower-102, 87.80 % / 3.43 = 25.6 M, torchvision's
ResNet-50 counted with its 1000-class head (with a 102-class head it has 23.7 M).
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import networkx as nx
import torch
from hydra.utils import instantiate

from hw.runtime.weights import read_state_dict, save_state_dict
from nas.builder import build_model, count_parameters
from training.datamodule import ImageDataModule
from training.datamodules import create_datamodule
from training.module import ArchitectureClassifier

# Lightning's start-up chatter ("GPU available: ...", tips) and advice that does not apply:
# loader workers are sized on purpose. `pytorch_lightning` too: once mlflow.pytorch has
# imported that package (the first logged model), Lightning's messages come from its loggers.
_QUIET_LOGGERS = ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric")
_IGNORED_WARNINGS = (r".*does not have many workers.*", r".*LeafSpec.*", r".*treespec.*")


def accuracy_per_parameter(accuracy: float, params: int) -> float:
    """Accuracy (%) per million parameters, the paper's "Acc./Param."."""
    return accuracy / (params / 1e6)


@contextlib.contextmanager
def quiet_lightning(verbose: bool = False) -> Iterator[None]:
    levels = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    with warnings.catch_warnings():
        if not verbose:
            for name in _QUIET_LOGGERS:
                logging.getLogger(name).setLevel(logging.WARNING)
            for pattern in _IGNORED_WARNINGS:
                warnings.filterwarnings("ignore", message=pattern)
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


def _check_shapes(arch: nx.DiGraph, data: Any) -> None:
    for key in ("num_classes", "in_channels", "input_size"):
        have, want = arch.graph.get(key), getattr(data, key)
        if have is not None and have != want:
            raise ValueError(
                f"the architecture has {key}={have} but data={data.name} has {want}; "
                f"build it for the data (leave {key} to follow data.{key})"
            )


def train_architecture(
    arch: nx.DiGraph,
    cfg: Any,
    callbacks: Iterable[pl.Callback] = (),
    enable_progress_bar: bool = False,
    datamodule: ImageDataModule | None = None,
    weights: Path | None = None,
    save_weights: Path | None = None,
) -> dict:
    """Train `arch` with `cfg.train` on `cfg.data` (seeded by `cfg.seed`), then test it.

    `callbacks` go to Lightning's Trainer (the search passes its per-epoch MLflow logging,
    `search.tracking.EpochMetrics`); `datamodule` may be shared between calls to load data once.
    `weights`: a state_dict to start from (fine-tuning; with `train.epochs=0` it is only
    tested, as it is: no BatchNorm recalibration); `save_weights`: where the tested
    state_dict goes (`hw.runtime.weights`, what task=deploy loads).
    Raises `training.module.DivergedError` if the loss becomes NaN/inf.
    Returns test_acc, val_acc (%, last epoch), params, acc_per_param (%/M-params),
    epochs (completed), train_seconds (fit wall time incl. validation), train_loss.
    """
    train, data = cfg.train, cfg.data
    _check_shapes(arch, data)
    if train.threads:
        torch.set_num_threads(train.threads)
    with quiet_lightning(getattr(cfg, "verbose", False)):
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        model = build_model(arch)
        if weights is not None:
            model.load_state_dict(read_state_dict(weights, mmap=False))
        if train.compile:
            model.compile()  # in place: the state_dict keys stay those of the model
        module = ArchitectureClassifier(
            model,
            optimizer=instantiate(train.optimizer),
            scheduler=instantiate(train.scheduler) if train.scheduler else None,
            scheduler_interval=train.scheduler_interval,
            label_smoothing=train.label_smoothing,
            bn_calibration_batches=train.bn_calibration_batches if train.epochs else 0,
            channels_last=train.channels_last,
        )
        datamodule = datamodule or create_datamodule(data, train.batch_size, train.eval_batch_size)
        trainer = pl.Trainer(
            max_epochs=train.epochs,
            accelerator=train.accelerator,
            devices=train.devices,
            precision=train.precision,
            deterministic=train.deterministic,
            gradient_clip_val=train.gradient_clip_val,
            callbacks=list(callbacks),
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            enable_progress_bar=enable_progress_bar,
            num_sanity_val_steps=0,
        )
        start = time.perf_counter()
        if train.epochs:
            trainer.fit(module, datamodule=datamodule)
        train_seconds = time.perf_counter() - start
        fitted = {k: float(v) for k, v in trainer.callback_metrics.items()}
        tested = trainer.test(module, datamodule=datamodule, verbose=False)[0]
    if save_weights is not None:
        save_state_dict(model, save_weights)
    params = count_parameters(model)
    test_acc = float(tested["test_acc"])
    return {
        "test_acc": test_acc,
        "val_acc": fitted.get("val_acc"),
        "train_loss": fitted.get("train_loss"),
        "params": params,
        "acc_per_param": accuracy_per_parameter(test_acc, params),
        "epochs": trainer.current_epoch,
        "train_seconds": train_seconds,
    }
