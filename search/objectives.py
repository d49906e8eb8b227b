"""What a study optimises: objectives (a name, a direction, the trial metric it reads)
and the memory constraint its trials must meet."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import optuna

from nas.registry import Registry


@dataclass(frozen=True)
class Objective:
    name: str
    direction: Literal["maximize", "minimize"]
    metric: str  # key in the trial's metrics dict
    unit: str = ""  # of the metric's values, for axes and tables ("": a pure number)


OBJECTIVES: Registry = Registry("objective")
register_objective = OBJECTIVES.register


@register_objective("accuracy")
def accuracy(search: Any) -> Objective:
    """Top-1 accuracy (%) of the trained architecture (`search.accuracy_metric`)."""
    return Objective("accuracy", "maximize", search.accuracy_metric, "%")


@register_objective("cs")
def concurrency_score(search: Any) -> Objective:
    """The best partition option's concurrency score (unitless); lower distributes better."""
    return Objective("cs", "minimize", "cs")


@register_objective("latency")
def latency(search: Any) -> Objective:
    """Predicted latency of one inference distributed over the target's units (ms)."""
    return Objective("latency", "minimize", "predicted_distributed_ms", "ms")


@register_objective("params")
def params(search: Any) -> Objective:
    """Parameter count."""
    return Objective("params", "minimize", "params")


def create_objectives(search: Any) -> list[Objective]:
    return [OBJECTIVES.create(name, search=search) for name in search.objectives]


def objective_values(objectives: list[Objective], metrics: dict) -> list[float]:
    missing = [o.metric for o in objectives if metrics.get(o.metric) is None]
    if missing:
        raise ValueError(f"trial produced no value for {', '.join(missing)} (objectives {[o.name for o in objectives]})")
    return [float(metrics[o.metric]) for o in objectives]


MEMORY_CONSTRAINT = "hw.memory_constraint"  # trial attr: the hw report's memory_constraint (flattened metrics)


def constrain_memory(trial: optuna.Trial) -> None:
    """Optuna constraint `memory`: worst unit's memory / a unit's − 1 (> 0: does not fit).

    NSGA-II and TPE rank infeasible trials last and `study.best_trials` leaves them out
    (`Trial.set_constraint` replaces the samplers' `constraints_func`, deprecated in Optuna 5).
    """
    trial.set_constraint("memory", float(trial.user_attrs[MEMORY_CONSTRAINT]))
