"""The edge search's latency objective against the CS objective at equal trials, both
fronts scored by latency measured on the emulated testbed.

    nice python benchmarks/edge_search_compare.py [--trials 10] [--partitioners metis heft]
        [--dir outputs/edge_compare] [overrides ...]   (as root)

Two `experiment=edge_search` studies with the same seed, budget and baselines:
`edge_search` (accuracy x predicted latency, the experiment's objectives) and
`edge_cs` (accuracy x CS), each in its own storage under --dir (a study that
already has --trials complete trials is reused, one with fewer is topped up:
`search.total_trials`). Then, per study and per placement (`deploy.partitioner`), the
report's front table (`search.front.front_table`: the Pareto front and the baselines)
with every row deployed by task=deploy on 4 emulated rpi3b_wifi units, each study x
placement holding `flock /tmp/measure.lock`. Prints per study: accuracy, the search's
latency objective value, CS, and per placement deploy's prediction and the measured
median; then the headline (`search.front.headline`): the most accurate baseline against
the fastest measured front member within 1 accuracy point of it.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import optuna
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import compose, validate
from search.front import front_table, headline
from search.report import to_markdown
from search.study import run_search

STUDIES = {"edge_search": "[accuracy,latency]", "edge_cs": "[accuracy,cs]"}
LOCK = "/tmp/measure.lock"


@contextlib.contextmanager
def measure_lock() -> Iterator[None]:
    """The machine's measurement lock (no two helpers' timings overlap)."""
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def study_config(study: str, args, *extra: str):
    folder = args.dir.resolve()
    return validate(
        compose(
            "experiment=edge_search",
            f"search.study_name={study}",
            f"search.objectives={STUDIES[study]}",
            f"search.storage=sqlite:///{folder}/{study}.db",
            f"search.mlflow.tracking_uri=sqlite:///{folder}/mlflow_{study}.db",
            f"search.artifacts_dir={folder}/artifacts",
            f"deploy.repeats={args.repeats}",
            "deploy.warmup=2",
            *args.overrides,
            *extra,
        )
    )


def searched(study: str, args) -> optuna.Study:
    """The study with --trials complete trials: reused, or (topped up) searched now."""
    cfg = study_config(study, args, f"search.total_trials={args.trials}")
    with contextlib.suppress(KeyError):
        found = optuna.load_study(study_name=study, storage=cfg.search.storage)
        if len(found.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) >= args.trials:
            return found
    run_search(cfg)
    return optuna.load_study(study_name=study, storage=cfg.search.storage)


def measured(study: optuna.Study, args) -> tuple[pd.DataFrame, dict]:
    """The front table with deploy's prediction and measurement per placement, and the headlines."""
    table, headlines = None, {}
    for partitioner in args.partitioners:
        cfg = study_config(study.study_name, args, f"deploy.partitioner={partitioner}")
        out = args.dir / f"measure-{study.study_name}-{partitioner}"
        load = os.getloadavg()[0]
        with measure_lock():
            front = front_table(study, cfg, out, measure=True)
        print(f"{study.study_name} / {partitioner}: load {load:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)
        found = headline(front)
        headlines[partitioner] = {**asdict(found), "speedup": found.speedup, "text": found.text()}
        front = front.rename(
            columns={"measured_ms": f"measured_{partitioner}", "deploy_predicted_ms": f"predicted_{partitioner}"}
        )
        keep = ["number", "baseline", "on_front", "test_acc", "predicted_ms", "cs", "feasible"]
        table = front if table is None else table.merge(front.drop(columns=keep[1:] + ["params"]), on="number")
    assert table is not None  # at least one partitioner
    return table.drop(columns="params").rename(columns={"predicted_ms": "objective_ms"}), headlines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="complete trials per study, baselines included")
    parser.add_argument("--partitioners", nargs="+", default=["metis", "heft"])
    parser.add_argument("--repeats", type=int, default=10, help="timed inferences per deployment")
    parser.add_argument("--dir", type=Path, default=Path("outputs/edge_compare"))
    parser.add_argument("overrides", nargs="*", help="config overrides for both studies (budget: data.fraction ...)")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for study in STUDIES:
        table, headlines = measured(searched(study, args), args)
        print(f"\n## {study} (objectives {STUDIES[study]}): front and baselines\n\n{to_markdown(table)}\n")
        for partitioner, found in headlines.items():
            print(f"{partitioner}: {found['text']}")
        results[study] = {"rows": table.to_dict(orient="records"), "headline": headlines}
    (args.dir / "compare.json").write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
