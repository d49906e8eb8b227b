"""A hardware-aware study's front and baselines, predicted next to measured latency (task=report).

The rows a user would deploy are the study's Pareto front (Optuna's `best_trials`:
complete, feasible — memory fits a unit —, non-dominated in the study's own objectives,
accuracy × latency or accuracy × CS) and every baseline trial. Each row has accuracy,
the latency task=deploy predicts (`search.objectives.DEPLOY_LATENCY`), CS, parameters,
feasibility and, with `search.report_measure=true`, the measured latency: `measure_latency`
runs task=deploy (`hw.runtime.task.deploy_task`) on the trial's own architecture and
state_dict with the configured `hw` and `deploy` settings (`hw.units` local workers
today; the emulated testbed once task=deploy runs there).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

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


def trial_rows(study: optuna.Study) -> list[TrialRow]:
    """Every complete trial, the front's members flagged."""
    front = {t.number for t in study.best_trials} if _complete(study) else set()
    return [_row(t, t.number in front) for t in _complete(study)]


def front_rows(study: optuna.Study) -> list[TrialRow]:
    """The front's members and the baselines (on the front or not)."""
    return [r for r in trial_rows(study) if r.on_front or r.baseline]


def measure_latency(cfg: Any, study: str, number: int, out_dir: Path) -> float:
    """Median measured latency (ms) of task=deploy running trial `study:number`'s files."""
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
    return float(deploy_task(deploy_cfg, Path(out_dir))["measured"]["median_ms"])


def front_table(study: optuna.Study, cfg: Any, out_dir: Path, measure: bool = False) -> pd.DataFrame:
    """The front and baselines as a table; measured latency filled when `measure`."""
    rows = front_rows(study)
    if measure:
        rows = [
            replace(
                r, measured_ms=measure_latency(cfg, study.study_name, r.number, Path(out_dir) / f"deploy-{r.number}")
            )
            for r in rows
        ]
    return pd.DataFrame([asdict(r) for r in rows], columns=list(TrialRow.__dataclass_fields__))


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
