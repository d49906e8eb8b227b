"""`task=train`: train one architecture (sampled, or the `arch=` file) and test it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from nas.arch import save
from nas.checks import require
from nas.factory import architecture_from_config


def train_task(cfg: Any, out_dir: Path | str = ".", weights: Path | None = None) -> dict:
    """Build the architecture the config describes, save it, train it with `cfg.train`
    on `cfg.data` (from the state_dict `weights` when given: fine-tuning, or with
    `train.epochs=0` testing it), save the tested state_dict beside it; returns test_acc
    (%), params, acc_per_param (%/M-params), epochs, train_seconds, the files and what was trained."""
    from hw.runtime.weights import STATE_DICT_FILE
    from training.fit import train_architecture

    require(
        cfg.train.epochs > 0 or weights is not None,
        "train.epochs=0 only tests trained weights: name them with trial=<study>:<number>",
    )
    out_dir = Path(out_dir)
    arch = architecture_from_config(cfg)
    arch_path = save(arch, out_dir / "architecture.json")
    result = train_architecture(
        arch, cfg, enable_progress_bar=sys.stdout.isatty(), weights=weights, save_weights=out_dir / STATE_DICT_FILE
    )
    return {
        **result,
        "data": cfg.data.name,
        "recipe": cfg.train.name,
        "generator": arch.graph.get("generator"),
        "vertices": arch.number_of_nodes() - 2,
        "seed": cfg.seed,
        "arch_path": str(arch_path),
        "weights": str(out_dir / STATE_DICT_FILE),
        "init": "random" if weights is None else str(weights),
    }
