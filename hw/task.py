"""`task=profile`: profile the configured target's device and save the predictor."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def profile_task(cfg: Any) -> dict:
    """Measure this machine (hw=local) within hw.profile.budget_s of wall-clock from the
    process start (interpreter, imports, saving included); save to hw.predictor."""
    from hw.backends import create_backend
    from hw.budget import task_start

    start = task_start()
    predictor = create_backend(cfg.hw).profile(progress=True, start=start)
    path = predictor.save(Path(cfg.hw.predictor))
    log.info("saved the latency predictor to %s", path)
    kinds = {k: m.samples for k, m in predictor.models.items()}
    return {
        "task": "profile",
        "hw": cfg.hw.name,
        "predictor": str(path),
        "duration_s": round(time.monotonic() - start, 1),
        "ops_profiled": predictor.metadata.get("ops_profiled"),
        "architectures_profiled": predictor.metadata.get("architectures_profiled"),
        "samples_per_kind": kinds,
        "overheads_us": {
            k: round(v * 1e6, 3)
            for k, v in vars(predictor.overheads).items()
            if k not in ("scale", "kind_scale")  # fast path: a dict of per-kind scales
        },
        "scales": {"other kinds": round(predictor.overheads.scale, 4)}
        | {k: round(v, 4) for k, v in predictor.overheads.kind_scale.items()},
        "references_ms": {k: round(v, 2) for k, v in predictor.metadata.get("references_ms", {}).items()},
        "cpu": predictor.metadata.get("cpu"),
        "torch": predictor.metadata.get("torch"),
        "threads": predictor.metadata.get("threads"),
        "load_before": predictor.metadata.get("load_before"),
        "budget_s": predictor.metadata.get("budget_s"),
    }
