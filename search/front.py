"""A hardware-aware study's front and baselines, predicted next to measured latency (task=report).

The rows a user would deploy are the study's Pareto front (Optuna's `best_trials`:
complete, feasible — memory fits a unit —, non-dominated in the study's own objectives,
accuracy × latency or accuracy × CS) and every baseline trial. Each row has accuracy,
the latency task=deploy predicts (`search.objectives.DEPLOY_LATENCY`), CS, parameters,
feasibility and, with `search.report_measure=true`, the measured latency: `measure_latency`
runs task=deploy (`hw.runtime.task.deploy_task`) on the trial's own architecture and
state_dict with the configured `hw` and `deploy` settings (`deploy.testbed=emulated`: on
the emulated testbed), beside that run's own prediction (its `deploy.partitioner`, which
may differ from the search's). `headline` reads the table as the issue's acceptance does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState
from tqdm.auto import tqdm

from search.objectives import DEPLOY_LATENCY
from search.samplers import BASELINE_ATTR


@dataclass(frozen=True)
class TrialRow:
    number: int
    baseline: str  # "" for a sampled architecture
    on_front: bool
    test_acc: float | None  # %
    predicted_ms: float | None  # task=deploy's prediction on the study's target
    cs: float | None
    params: int | None
    feasible: bool  # fits a unit's memory (Optuna constraint <= 0)
    measured_ms: float | None = None  # task=deploy's measured median, when measured
    deploy_predicted_ms: float | None = None  # the measuring run's own prediction (its partitioner)


def trial_rows(study: optuna.Study) -> list[TrialRow]:
    """Every complete trial, the front's members flagged."""
    front = {t.number for t in study.best_trials} if _complete(study) else set()
    return [_row(t, t.number in front) for t in _complete(study)]


def front_rows(study: optuna.Study) -> list[TrialRow]:
    """The front's members and the baselines (on the front or not)."""
    return [r for r in trial_rows(study) if r.on_front or r.baseline]


def measure_latency(cfg: Any, study: str, number: int, out_dir: Path) -> tuple[float, float]:
    """(measured median, predicted) latency (ms) of task=deploy running trial `study:number`'s files."""
    from hw.runtime.task import deploy_task
    from search.trials import resolve_trial

    found = resolve_trial(f"{study}:{number}", cfg)
    deploy_cfg = replace(
        cfg,
        task="deploy",
        trial=None,
        arch=str(found.arch_path),
        deploy=replace(cfg.deploy, weights=str(found.weights_path)),
    )
    result = deploy_task(deploy_cfg, Path(out_dir))
    return float(result["measured"]["median_ms"]), float(result["predicted"]["predicted_distributed_ms"])


def front_table(study: optuna.Study, cfg: Any, out_dir: Path, measure: bool = False) -> pd.DataFrame:
    """The front and baselines as a table; measured latency filled when `measure`."""
    rows = front_rows(study)
    if measure:
        bar = tqdm(rows, desc="deploying the front and baselines", unit="trial")  # a deploy each: minutes
        rows = [_measured(r, cfg, study.study_name, Path(out_dir) / f"deploy-{r.number}") for r in bar]
    return pd.DataFrame([asdict(r) for r in rows], columns=list(TrialRow.__dataclass_fields__))


def _measured(row: TrialRow, cfg: Any, study: str, out_dir: Path) -> TrialRow:
    measured, predicted = measure_latency(cfg, study, row.number, out_dir)
    return replace(row, measured_ms=measured, deploy_predicted_ms=predicted)


@dataclass(frozen=True)
class Headline:
    """The acceptance's reading of a measured front: the most accurate baseline against the
    fastest (measured) sampled front member within `tolerance` accuracy points of it."""

    best_baseline: str
    baseline_acc: float
    baseline_ms: float
    found: int | None  # trial number; None: no sampled front member within the tolerance
    found_acc: float | None
    found_ms: float | None
    best_sampled_acc: float | None  # the most accurate sampled front member's accuracy
    tolerance: float = 1.0

    @property
    def speedup(self) -> float | None:
        """Best baseline's measured latency / the found architecture's (goal: >= 2)."""
        return None if self.found_ms is None else self.baseline_ms / self.found_ms

    def text(self) -> str:
        best = f"best baseline {self.best_baseline}: {self.baseline_acc:.2f} %, {self.baseline_ms:.1f} ms measured"
        if self.found is None or self.found_acc is None or self.speedup is None:
            sampled = "none on the front" if self.best_sampled_acc is None else f"best {self.best_sampled_acc:.2f} %"
            return f"{best}; no sampled front member within {self.tolerance:g} point ({sampled})"
        return (
            f"{best}; trial {self.found}: {self.found_acc:.2f} % ({self.found_acc - self.baseline_acc:+.2f}), "
            f"{self.found_ms:.1f} ms measured: the baseline's latency / its = {self.speedup:.2f}x"
        )


def headline(table: pd.DataFrame, tolerance: float = 1.0) -> Headline:
    """Read a measured `front_table` (needs a baseline row and `measured_ms`)."""
    baselines = table[table["baseline"] != ""]
    if baselines.empty or table["measured_ms"].isna().all():
        raise ValueError("headline needs a measured table with baseline rows (search.report_measure=true)")
    best = baselines.loc[baselines["test_acc"].idxmax()]
    sampled = table[(table["baseline"] == "") & table["on_front"]]
    close = sampled[sampled["test_acc"] >= best["test_acc"] - tolerance]
    found = close.loc[close["measured_ms"].idxmin()] if not close.empty else None
    return Headline(
        str(best["baseline"]),
        float(best["test_acc"]),
        float(best["measured_ms"]),
        None if found is None else int(found["number"]),
        None if found is None else float(found["test_acc"]),
        None if found is None else float(found["measured_ms"]),
        float(sampled["test_acc"].max()) if not sampled.empty else None,
        tolerance,
    )


def _complete(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def _row(t: FrozenTrial, on_front: bool) -> TrialRow:
    attrs = t.user_attrs
    return TrialRow(
        t.number,
        attrs.get(BASELINE_ATTR) or "",
        on_front,
        attrs.get("test_acc"),
        attrs.get(DEPLOY_LATENCY),
        attrs.get("cs"),
        attrs.get("params"),
        all(c <= 0 for c in t.constraints.values()),
    )
