"""Optuna samplers by name (`search.sampler`), reseeded per trial (search/seeds.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
from optuna.samplers._lazy_random_state import LazyRandomState
from optuna.search_space import intersection_search_space
from optuna.trial import FrozenTrial, TrialState

from nas.registry import Registry
from search.seeds import trial_seed
from search.space import grid

SAMPLERS: Registry = Registry("sampler")
register_sampler = SAMPLERS.register
BASELINE_ATTR = "baseline"  # trial user attr: the fixed baseline it trains (enqueued, no sampled parameters)
DUPLICATE_ATTR = "duplicate_of"  # trial user attr: the finished twin whose results it reused (search/study.py)


class BaselineAwareNSGAII(optuna.samplers.NSGAIISampler):
    """NSGA-II whose crossover space ignores the fixed baseline trials.

    Baselines have none of the sampled parameters; Optuna's intersection search space
    would then be empty and every child would be sampled at random.
    """

    def infer_relative_search_space(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict:
        trials = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if BASELINE_ATTR not in t.user_attrs
        ]
        return {name: d for name, d in intersection_search_space(trials).items() if not d.single()}


def reseed(sampler: optuna.samplers.BaseSampler, seed: int) -> None:
    """Seed every random state of `sampler` and of the samplers inside it (NSGA-II's and
    TPE's random sampler). Optuna's `reseed_rng` draws a fresh, unreproducible seed;
    its `LazyRandomState` objects are shared with the strategies (NSGA-II's crossover),
    so seeding them in place reaches those too."""
    for value in vars(sampler).values():
        if isinstance(value, LazyRandomState):
            value.rng.seed(seed)
        elif isinstance(value, optuna.samplers.BaseSampler):
            reseed(value, seed)


class PerTrialSeed(optuna.samplers.BaseSampler):
    """`base`, reseeded before each trial from (search.seed, study, trial number).

    The grid sampler's shuffle of its grid, done once with `search.seed`, stays shared
    by every process (its grid ids must mean the same cells everywhere).
    """

    def __init__(self, base: optuna.samplers.BaseSampler, seed: int) -> None:
        self.base, self.seed = base, seed

    def __str__(self) -> str:
        return str(self.base)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        reseed(self.base, trial_seed(self.seed, study.study_name, trial.number, "sampler"))
        self.base.before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict:
        return self.base.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict) -> dict[str, Any]:
        return self.base.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: Any
    ) -> Any:
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()


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
    return optuna.samplers.GridSampler(grid(cfg), seed=cfg.search.seed)


def create_sampler(cfg: Any) -> optuna.samplers.BaseSampler:
    """The `search.sampler`, reseeded per trial so no two trials of a study draw alike."""
    return PerTrialSeed(SAMPLERS.create(cfg.search.sampler, cfg=cfg), cfg.search.seed)
