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


DEPLOY_LATENCY = "deploy_latency_ms"  # trial metric: task=deploy's predicted distributed latency


@register_objective("latency")
def latency(search: Any) -> Objective:
    """Latency of one inference distributed over the target's units (ms), as task=deploy
    predicts it (`deployment_prediction`), so the front is ranked by what deploy runs."""
    return Objective("latency", "minimize", DEPLOY_LATENCY, "ms")


@register_objective("params")
def params(search: Any) -> Objective:
    """Parameter count."""
    return Objective("params", "minimize", "params")


def deployment_prediction(arch: Any, cfg: Any, weights: Any = None) -> dict[str, float]:
    """task=deploy's prediction for `arch` (its `weights`, a state_dict file, only matter
    for `deploy.costs=profile`): the same per-vertex costs (`deploy.costs`, on the capped
    unit with `deploy.testbed=emulated`), placement (`deploy.partitioner`), order and list
    schedule on the `hw` target, through the functions `hw.runtime.task.deploy_task`
    calls. Keys: DEPLOY_LATENCY, deploy_single_ms, deploy_speedup (predicted, ms)."""
    from hw.analyze import latency_report
    from hw.runtime.task import deployment_assignment, deployment_costs
    from hw.target import target_from_config

    deploy, target = cfg.deploy, target_from_config(cfg.hw)
    costs, _ = deployment_costs(arch, cfg, weights)
    assignment, _ = deployment_assignment(arch, target, deploy.partitioner, cfg.analysis, costs)
    order = "topological" if deploy.order == "topological" else cfg.hw.schedule_order
    report = latency_report(arch, assignment, target, costs, order=order).to_json()
    return {
        DEPLOY_LATENCY: report["predicted_distributed_ms"],
        "deploy_single_ms": report["predicted_latency_ms"],
        "deploy_speedup": report["predicted_speedup"],
    }


def create_objectives(search: Any) -> list[Objective]:
    return [OBJECTIVES.create(name, search=search) for name in search.objectives]


def objective_values(objectives: list[Objective], metrics: dict) -> list[float]:
    missing = [o.metric for o in objectives if metrics.get(o.metric) is None]
    if missing:
        raise ValueError(
            f"trial produced no value for {', '.join(missing)} (objectives {[o.name for o in objectives]})"
        )
    return [float(metrics[o.metric]) for o in objectives]


MEMORY_CONSTRAINT = "hw.memory_constraint"  # trial attr: the hw report's memory_constraint (flattened metrics)


def constrain_memory(trial: optuna.Trial) -> None:
    """Optuna constraint `memory`: worst unit's memory / a unit's − 1 (> 0: does not fit).

    NSGA-II and TPE rank infeasible trials last and `study.best_trials` leaves them out
    (`Trial.set_constraint` replaces the samplers' `constraints_func`, deprecated in Optuna 5).
    """
    trial.set_constraint("memory", float(trial.user_attrs[MEMORY_CONSTRAINT]))
