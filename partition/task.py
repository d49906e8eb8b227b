"""The concurrency part of `task=analyze` (see `search.analysis.analyze_architecture`).

Writes next to the saved architecture file: `partition.json` (the best option's
vertex → unit assignment plus every option's, for users and the search's artifacts),
`width_depth.png` and `partition.png`. The unit count is `cfg.hw.units` (override with
`hw.units=N`). The caller gets the `Analysis` itself, assignment included, in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partition.analyze import Analysis, Analyzer, prepare


@dataclass(frozen=True)
class ConcurrencyReport:
    """The analysis of the configured unit count and the files written for it."""

    analysis: Analysis
    width_profile: dict[int, int]  # depth → compute vertices
    partition_path: Path
    plots: list[Path]  # empty when `analysis.plots` is off

    def to_json(self) -> dict:
        """The figures of the analyze task's JSON line (no assignments: see partition.json)."""
        profile = self.width_profile
        data = {
            **self.analysis.to_json(),
            "depth": max(profile, default=0),
            "max_width": max(profile.values(), default=0),
            "width_profile": profile,
            "options": [o.to_json() for o in self.analysis.options],
            "partition_path": str(self.partition_path),
        }
        return {**data, "plots": [str(p) for p in self.plots]} if self.plots else data


def concurrency_report(arch: Any, cfg: Any, arch_path: Path) -> ConcurrencyReport:
    """The analysis of `arch` on `hw.units` units; files go next to `arch_path`.

    Called by `search.analysis.analyze_architecture` (task=analyze and search trials),
    which adds the architecture's size and saves it first.
    """
    arch_path = Path(arch_path)
    prep = prepare(arch)
    result = Analyzer(cfg.analysis)(prep, cfg.hw.units)
    profile = prep.paths.width_profile()
    plots = []
    if cfg.analysis.plots:
        from partition.plots import plot_partition, plot_width_depth

        plots = [
            plot_width_depth(profile, arch_path.with_name("width_depth.png")),
            plot_partition(arch, result, prep.paths.depth, arch_path.with_name("partition.png")),
        ]
    return ConcurrencyReport(result, profile, write_partition(result, arch_path.with_name("partition.json")), plots)


def write_partition(result: Analysis, path: Path) -> Path:
    """vertex → unit of the best option (`assignment`), plus every option's, as JSON."""
    options = [option.to_json(assignment=True) for option in result.options]
    data = {
        "units": result.units,
        "best_option": result.best_option,
        "assignment": options[result.best_option]["assignment"],
        "options": options,
    }
    path.write_text(json.dumps(data, indent=1))
    return path
