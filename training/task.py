"""`task=train`: train one architecture (sampled, or the `arch=` file) and test it."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from nas.arch import save
from nas.factory import architecture_from_config


def train_task(cfg: Any, out_dir: Path | str = ".") -> dict:
    """Build the architecture the config describes, save it, train it with `cfg.train`
    on `cfg.data`; returns test_acc (%), params, acc_per_param (%/M-params), epochs,
    train_seconds and what was trained."""
    from training.fit import train_architecture

    arch = architecture_from_config(cfg)
    arch_path = save(arch, Path(out_dir) / "architecture.json")
    result = train_architecture(arch, cfg, enable_progress_bar=sys.stdout.isatty())
    return {
        **result,
        "data": cfg.data.name,
        "recipe": cfg.train.name,
        "generator": arch.graph.get("generator"),
        "vertices": arch.number_of_nodes() - 2,
        "seed": cfg.seed,
        "arch_path": str(arch_path),
    }
