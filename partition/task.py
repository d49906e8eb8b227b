"""The concurrency part of `task=analyze` (see `search.analysis.analyze_architecture`).

Writes next to the saved architecture file: `partition.json` (the best option's
vertex → unit assignment plus every option's), `width_depth.png` and `partition.png`.
The unit count is `cfg.hw.units` (override with `hw.units=N`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from partition.analyze import Analyzer, prepare

SCALAR_KEYS = ("eta", "cs", "comm", "comm_norm", "imbalance", "entropy", "critical_path",
               "speedup_bound", "total_flops", "min_edge_bytes", "partitioner", "epsilon", "units")


def units_of(cfg: Any) -> int:
    """The unit count of the hardware target (`hw.units`)."""
    hw = cfg.hw
    units = hw.get("units") if isinstance(hw, Mapping) else getattr(hw, "units", None)
    if not isinstance(units, int) or isinstance(units, bool) or units < 1:
        raise ValueError(f"hw.units must be a positive integer (the number of units), got {units!r}")
    return units


def concurrency_report(arch: Any, cfg: Any, arch_path: Path) -> dict:
    """The analysis figures of `arch` on `hw.units` units; files go next to `arch_path`.

    Called by `search.analysis.analyze_architecture` (task=analyze and search trials),
    which adds the architecture's size and saves it first.
    """
    arch_path = Path(arch_path)
    units = units_of(cfg)
    prep = prepare(arch)
    result = Analyzer(cfg.analysis)(prep, units)
    profile = prep.paths.width_profile()
    report = {
        **{key: result[key] for key in SCALAR_KEYS},
        "depth": max(profile, default=0), "max_width": max(profile.values(), default=0),
        "width_profile": profile,
        "options": [{k: v for k, v in option.items() if k != "assignment"} for option in result["options"]],
        "partition_path": str(write_partition(result, arch_path.with_name("partition.json"))),
    }
    if cfg.analysis.plots:
        from partition.plots import plot_partition, plot_width_depth

        report["plots"] = [
            str(plot_width_depth(profile, arch_path.with_name("width_depth.png"))),
            str(plot_partition(arch, result["assignment"], prep.paths.depth, arch_path.with_name("partition.png"),
                               title=f"{arch.graph.get('generator')} on {units} units: CS {result['cs']:.2f}, "
                                     f"Λ′ {result['comm_norm']:.2f}, δw {result['imbalance']:.2f}")),
        ]
    return report


def write_partition(result: dict, path: Path) -> Path:
    """vertex → unit of the best option (`assignment`), plus every option's, as JSON."""
    data = {
        "units": result["units"],
        "best_option": result["best_option"],
        "assignment": {str(v): u for v, u in result["assignment"].items()},
        "options": [
            {**{k: v for k, v in option.items() if k != "assignment"},
             "assignment": {str(v): u for v, u in option["assignment"].items()}}
            for option in result["options"]
        ],
    }
    path.write_text(json.dumps(data, indent=1))
    return path


def read_partition(path: str | Path) -> dict:
    """The best assignment of a `partition.json`, keyed by architecture vertex ids again."""
    data = json.loads(Path(path).read_text())
    return {(int(v) if v.lstrip("-").isdigit() else v): int(u) for v, u in data["assignment"].items()}
