"""Evaluator: one architecture → analysis metrics + training metrics (+ the trained model)."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import networkx as nx
from torch import nn

from search.analysis import analyze_architecture


class CaptureModel(pl.Callback):
    """Keeps a reference to the trained network (for mlflow.pytorch.log_model)."""

    model: nn.Module | None = None

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.model = pl_module.model  # type: ignore[assignment]  # torch types Module.__getattr__ as Tensor | Module


def evaluate(arch: nx.DiGraph, cfg: Any, out_dir: Path, callbacks: Iterable[pl.Callback] = (),
             datamodule: Any = None) -> tuple[dict, nn.Module | None]:
    """Analyse (files into `out_dir`) and train `arch`; returns (metrics, trained model)."""
    from training.fit import train_architecture

    metrics = analyze_architecture(arch, cfg, out_dir)
    capture = CaptureModel()
    trained = train_architecture(arch, cfg, callbacks=[*callbacks, capture], datamodule=datamodule,
                                 enable_progress_bar=bool(cfg.verbose))
    return {**metrics, **trained}, capture.model
