"""One architecture's analysis, shared by `task=analyze` and every search trial.

Saves the architecture file into `out_dir` and returns the JSON-ready dict: its size
(`nas.arch.summary`), then what the analysis and hardware packages add (partition
metrics, plots, predicted latency under the best assignment, passed in memory). Extend
`analyze_architecture`, not the callers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from nas.arch import save, summary


def analyze_architecture(arch: nx.DiGraph, cfg: Any, out_dir: Path) -> dict:
    """Size, costs and the saved `arch_path` of `arch` (file written into `out_dir`)."""
    from hw.analyze import analyze_summary
    from partition.task import concurrency_report

    arch_path = save(arch, Path(out_dir) / "architecture.json")
    concurrency = concurrency_report(arch, cfg, arch_path)
    return {
        **summary(arch),
        "input_size": arch.graph["input_size"],
        "num_classes": arch.graph["num_classes"],
        "arch_path": str(arch_path),
        **concurrency.to_json(),
        **analyze_summary(cfg, arch, concurrency.analysis.assignment),
    }
