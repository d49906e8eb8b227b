"""Evaluator: one architecture → analysis metrics + training metrics (+ the trained model)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import networkx as nx
from torch import nn

from search.analysis import analyze_architecture
from search.objectives import deployment_prediction


class CaptureModel(pl.Callback):
    """Keeps a reference to the trained network (for mlflow.pytorch.log_model)."""

    model: nn.Module | None = None

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.model = pl_module.model  # type: ignore[assignment]  # torch types Module.__getattr__ as Tensor | Module


def evaluate(
    arch: nx.DiGraph, cfg: Any, out_dir: Path, callbacks: Iterable[pl.Callback] = (), datamodule: Any = None
) -> tuple[dict, nn.Module | None]:
    """Analyse (files into `out_dir`), train `arch` (its state_dict into `out_dir`) and
    predict its deployment; returns (metrics, trained model)."""
    from hw.runtime.weights import STATE_DICT_FILE
    from training.fit import train_architecture

    metrics = analyze_architecture(arch, cfg, out_dir)
    capture = CaptureModel()
    weights = Path(out_dir) / STATE_DICT_FILE
    trained = train_architecture(
        arch,
        cfg,
        callbacks=[*callbacks, capture],
        datamodule=datamodule,
        enable_progress_bar=bool(cfg.verbose),
        save_weights=weights,
    )
    return {**metrics, **trained, **deployment_prediction(arch, cfg, weights)}, capture.model
