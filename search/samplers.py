"""Optuna samplers by name (`search.sampler`)."""
from __future__ import annotations

from typing import Any

import optuna
from optuna.search_space import intersection_search_space
from optuna.trial import TrialState

from nas.registry import Registry
from search.space import grid

SAMPLERS: Registry = Registry("sampler")
register_sampler = SAMPLERS.register
BASELINE_ATTR = "baseline"


class BaselineAwareNSGAII(optuna.samplers.NSGAIISampler):
    """NSGA-II whose crossover space ignores the fixed baseline trials.

    Baselines have none of the sampled parameters; Optuna's intersection search space
    would then be empty and every child would be sampled at random.
    """

    def infer_relative_search_space(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict:
        trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                  if BASELINE_ATTR not in t.user_attrs]
        return {name: d for name, d in intersection_search_space(trials).items() if not d.single()}


@register_sampler("nsga2")
def nsga2(cfg: Any) -> optuna.samplers.BaseSampler:
    return BaselineAwareNSGAII(population_size=cfg.search.population_size, seed=cfg.search.seed)


@register_sampler("tpe")
def tpe(cfg: Any) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=cfg.search.seed)


@register_sampler("random")
def random(cfg: Any) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=cfg.search.seed)


@register_sampler("grid")
def grid_sampler(cfg: Any) -> optuna.samplers.BaseSampler:
    return optuna.samplers.GridSampler(grid(cfg, cfg.search.n_trials), seed=cfg.search.seed)


def create_sampler(cfg: Any) -> optuna.samplers.BaseSampler:
    """The `search.sampler`; NSGA-II and TPE honour `search.objectives.constrain_memory`."""
    return SAMPLERS.create(cfg.search.sampler, cfg=cfg)
