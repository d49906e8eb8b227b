"""Dataclass schema of the `analysis` config group (concurrency analysis and survey).

Stored in Hydra's ConfigStore as `schema/analysis/analysis`; `conf/analysis/*.yaml`
extend it. Range checks run in `__post_init__` when the config is validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from nas.checks import require, require_one_of

# Balance bounds ε of the analysis (W_p ≤ ε·W_avg): one option per ε and partitioner.
FULL_EPSILONS = [1.03, 1.1, 1.2, 1.3, 1.5, 2.0]
# The survey's trimmed sweep. benchmarks/bench_partitioners.py (10 architectures × ER BA
# WS DP FB × |V| 40, 80 × 4-10 units, METIS): half the METIS calls (12.5 vs 28.2 ms per
# architecture and unit count, load ~10 on 2 cores) for a CS higher by 1.0 % on average
# (0.6-1.3 % per generator; never lower, higher in 35 % of cases).
# `analysis.survey.epsilons=null`: the full sweep.
TRIMMED_EPSILONS = [1.1, 1.3, 2.0]


@dataclass
class SurveyConfig:
    """The paper's sampling study without training (`task=survey`)."""

    samples: int = 1000  # architectures per generator × vertex count
    generators: list[str] = field(default_factory=lambda: ["er", "ba", "ws", "dp", "fb"])
    nodes: list[int] = field(default_factory=lambda: [40, 80])
    units: list[int] = field(default_factory=lambda: [4, 6, 8, 10])
    workers: int = 0  # processes; 0 = every core
    chunksize: int = 25  # architectures per work item sent to a process
    # Per-generator parameter overrides, e.g. {er: {p: 0.05}, fb: {per_stage: true}}:
    # the survey's sensitivity to parameters the paper does not publish.
    params: dict[str, Any] = field(default_factory=dict)
    # The survey's own partitioners and ε sweep (analysis.partitioners / epsilons are for
    # task=analyze and the search). METIS: 40 000 analyses in the default survey, and
    # KaHyPar's better partitions cost 4.5x the time (see AnalysisConfig.partitioners).
    partitioners: list[str] = field(default_factory=lambda: ["metis"])
    # TRIMMED_EPSILONS (why: above); null = analysis.epsilons. With the latency scheduling
    # per sample, it keeps the default survey near its former wall time.
    epsilons: list[float] | None = field(default_factory=lambda: list(TRIMMED_EPSILONS))
    # The hardware target of the predicted latencies is the `hw` group (experiment=paper_survey:
    # aws_t2micro, the paper's 10 × t2.micro), each unit count n as n of its units.

    def __post_init__(self) -> None:
        require(self.samples >= 1, f"analysis.survey.samples must be >= 1, got {self.samples}")
        require(len(self.generators) >= 1, "analysis.survey.generators must name at least one generator")
        require(
            len(self.nodes) >= 1 and min(self.nodes) >= 2,
            f"analysis.survey.nodes must be counts >= 2, got {list(self.nodes)}",
        )
        require(
            len(self.units) >= 1 and min(self.units) >= 1,
            f"analysis.survey.units must be counts >= 1, got {list(self.units)}",
        )
        require(self.workers >= 0, f"analysis.survey.workers must be >= 0 (0 = every core), got {self.workers}")
        require(self.chunksize >= 1, f"analysis.survey.chunksize must be >= 1, got {self.chunksize}")
        for name in self.params:
            require(
                name in self.generators,
                f"analysis.survey.params: {name!r} is not one of the surveyed generators {list(self.generators)}",
            )
        _check_partitioners("analysis.survey", self.partitioners, self.epsilons)


@dataclass
class AnalysisConfig:
    name: str = "default"
    # Partitioners whose options compete for the best CS (partition.PARTITIONERS, for
    # task=analyze, search trials and task=deploy; the survey has its own list). `best`:
    # kahypar when installed, else metis (one warning), resolved here on validation.
    # Why KaHyPar (benchmarks/bench_partitioners.py, same 400 cases as below, full ε
    # sweep): 12 % less communication in total than METIS (median per case −11 %), a
    # lower CS in 89 % of cases (mean −5.5 %), at 128 vs 28 ms per architecture and unit
    # count (load ~10) — nothing next to a trial's training. The paper's heuristic is
    # no contender: no balance bound (median δw 5.9, everything on one unit for ER).
    partitioners: list[str] = field(default_factory=lambda: ["best"])
    # Balance bounds ε (W_p ≤ ε·W_avg), one option per ε and partitioner (the best is
    # reported); larger ε trade balance for less communication.
    epsilons: list[float] = field(default_factory=lambda: list(FULL_EPSILONS))
    # CS = (δ_w^a · Λ′^b · η^c)^(1/3), lower is better (the paper's a = c = 1, b = 1.5)
    a: float = 1.0
    b: float = 1.5
    c: float = 1.0
    # Zero-Λ guard: CS floors Λ at comm_floor · U_c bytes (Λ′ ≥ comm_floor / n), so a
    # partition that cuts nothing does not score a perfect 0. 0 disables the guard.
    comm_floor: float = 1.0
    seed: int = 0  # partitioner seed
    # kway (default: keeps W_p <= eps * W_avg far more often) | recursive (bisection, ~4x
    # faster here but often misses the bound for 6 or 10 parts) | auto (pymetis:
    # recursive up to 8 parts, k-way above)
    metis_mode: str = "kway"
    metis_ncuts: int = 1  # METIS tries this many partitionings and keeps the best
    kahypar_preset: str = ""  # KaHyPar .ini; empty = partition/presets/kahypar_km1_fast.ini
    plots: bool = True  # task=analyze: write the width-vs-depth and partition PNGs
    survey: SurveyConfig = field(default_factory=SurveyConfig)

    def __post_init__(self) -> None:
        from partition.partitioners import resolve_partitioner

        _check_partitioners("analysis", self.partitioners, self.epsilons)
        self.partitioners = [resolve_partitioner(name) for name in self.partitioners]
        for key in ("a", "b", "c"):
            require(getattr(self, key) >= 0, f"analysis.{key} (CS exponent) must be >= 0, got {getattr(self, key)}")
        require(self.comm_floor >= 0, f"analysis.comm_floor must be >= 0, got {self.comm_floor}")
        require_one_of("analysis.metis_mode", self.metis_mode, ("auto", "kway", "recursive"))
        require(self.metis_ncuts >= 1, f"analysis.metis_ncuts must be >= 1, got {self.metis_ncuts}")


def _check_partitioners(prefix: str, partitioners: list[str], epsilons: list[float] | None) -> None:
    from partition.partitioners import BEST, PARTITIONERS

    require(len(partitioners) >= 1, f"{prefix}.partitioners must name at least one partitioner")
    for name in partitioners:
        require_one_of(f"{prefix}.partitioners", name, [*PARTITIONERS.names(), BEST])
    if epsilons is None:
        return
    require(len(epsilons) >= 1, f"{prefix}.epsilons must list at least one balance bound")
    for eps in epsilons:
        require(eps >= 1.0, f"{prefix}.epsilons must be >= 1 (W_p <= eps * W_avg), got {eps}")


def register_configs(cs: ConfigStore | None = None) -> None:
    cs = cs or ConfigStore.instance()
    cs.store(group="schema/analysis", name="analysis", node=AnalysisConfig)
