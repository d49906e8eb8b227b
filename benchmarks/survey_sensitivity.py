"""How the survey's ranking (the paper: DP best, FB worst) depends on unpublished parameters.

The paper publishes neither ER's P nor how FB's size relates to |V|. This runs the
`experiment=paper_survey` survey once at our defaults, then re-runs one generator at a
time with other values (`analysis.survey.params`, the same mechanism as
`python run.py experiment=paper_survey +analysis.survey.params.er.p=0.05`) and prints, per
variant, the median CS of every generator and the ranking (best first). FB variants use
`per_stage` (RandWire's N per stage: 2.5 N compute nodes at |V| = N) and the regular regime.

    .venv/bin/python benchmarks/survey_sensitivity.py --samples 100
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import compose, validate  # noqa: E402
from hw.analyze import TargetLatency  # noqa: E402
from partition.survey import generator_kwargs, run_survey, survey_settings  # noqa: E402

VARIANTS: list[tuple[str, str, dict]] = [  # label, generator, parameter overrides
    ("ER p=0.10", "er", {"p": 0.10}),
    ("ER p=0.07", "er", {"p": 0.07}),
    ("ER p=0.05", "er", {"p": 0.05}),
    ("FB N per stage", "fb", {"per_stage": True}),
    ("FB regular", "fb", {"regime": "regular"}),
    ("FB regular, N per stage", "fb", {"regime": "regular", "per_stage": True}),
]


def medians(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby("generator")["cs"].median()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=100, help="architectures per generator × vertex count")
    parser.add_argument("--workers", type=int, default=0, help="processes (0 = every core)")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides on top of experiment=paper_survey")
    args = parser.parse_args()
    cfg = validate(compose("experiment=paper_survey", *args.overrides))
    survey = cfg.analysis.survey
    nodes = [int(n) for n in survey.nodes]
    generators = list(survey.generators)
    start = time.perf_counter()

    def run(gens: dict[str, dict]) -> pd.DataFrame:
        return run_survey(
            survey_settings(cfg, TargetLatency(cfg.hw), gens),
            nodes,
            args.samples,
            cfg.seed,
            args.workers,
            max(1, args.samples // 4),
        )

    base = run({g: generator_kwargs(cfg, g) for g in generators})
    rows = [("defaults", medians(base))]
    for label, generator, params in VARIANTS:
        varied = run({generator: generator_kwargs(cfg, generator, params)})
        rows.append((label, medians(pd.concat([base[base.generator != generator], varied]))))
    print(
        f"\nmedian CS per generator ({args.samples} samples × |V| {nodes} × units {list(survey.units)}, "
        f"input {cfg.input_size} px, staging {cfg.staging.name}); {time.perf_counter() - start:.0f} s"
    )
    table = pd.DataFrame({label: series for label, series in rows}).T[generators]
    table["ranking (best first)"] = [" < ".join(g.upper() for g in s.sort_values().index) for _, s in rows]
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table.round(2).to_string())


if __name__ == "__main__":
    main()
