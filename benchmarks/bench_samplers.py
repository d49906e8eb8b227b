"""NSGA-II vs random sampling at equal trial budgets: hypervolume of both fronts.

    python benchmarks/bench_samplers.py --trials 12 --seeds 0 1 2 [--data digits]

Each (sampler, seed) runs its own study on the same space (DP architectures, digits by
default) with objectives accuracy (max) and CS (min). The hypervolume of every front
is measured against one reference point shared by all runs (accuracy 0 %, CS = the
worst CS seen + 10 %), so the numbers compare directly. MLflow logging is off.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile

import optuna
from optuna.trial import TrialState

from app.config import compose, validate
from search.report import hypervolume_2d
from search.study import run_search


def run_study(sampler: str, seed: int, trials: int, data: str, workdir: str) -> list[tuple[float, float]]:
    cfg = validate(
        compose(
            f"data={data}",
            f"search.sampler={sampler}",
            f"search.seed={seed}",
            f"search.n_trials={trials}",
            f"search.study_name={sampler}-{seed}",
            f"search.storage=sqlite:///{workdir}/optuna.db",
            f"search.mlflow.tracking_uri=sqlite:///{workdir}/mlflow.db",
            "search.mlflow.log_models=false",
            f"search.artifacts_dir={workdir}/artifacts",
            "search.population_size=4",
            "train.epochs=3",
            "staging.channels=8",
            "staging.max_channels=32",
        )
    )
    run_search(cfg)
    study = optuna.load_study(study_name=f"{sampler}-{seed}", storage=f"sqlite:///{workdir}/optuna.db")
    return [(t.values[0], t.values[1]) for t in study.get_trials(states=(TrialState.COMPLETE,))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", default="digits")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        points = {
            (s, seed): run_study(s, seed, args.trials, args.data, workdir)
            for seed in args.seeds
            for s in ("nsga2", "random")
        }
    worst_cs = max(cs for pts in points.values() for _, cs in pts) * 1.1
    volumes = {key: hypervolume_2d([(-acc, cs) for acc, cs in pts], (0.0, worst_cs)) for key, pts in points.items()}
    for sampler in ("nsga2", "random"):
        values = [volumes[sampler, seed] for seed in args.seeds]
        print(f"{sampler:>6}: hypervolume per seed {[round(v, 2) for v in values]}, mean {statistics.mean(values):.2f}")
    ratio = statistics.mean(volumes["nsga2", s] for s in args.seeds) / statistics.mean(
        volumes["random", s] for s in args.seeds
    )
    print(
        json.dumps({"trials": args.trials, "seeds": args.seeds, "reference_cs": worst_cs, "nsga2_over_random": ratio})
    )


if __name__ == "__main__":
    main()
