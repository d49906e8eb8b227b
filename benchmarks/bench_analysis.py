"""Benchmark of the concurrency analysis: time per architecture and the survey's wall time.

1. Median time to analyse one 40-vertex architecture on 4 units with the survey's
   partitioners and ε options (`analysis.survey.partitioners` / `.epsilons`: METIS, 3
   options; hypergraph, paths, metrics and the vertex → unit dicts included), over
   generators ER/BA/WS/DP/FB. Target ≤ 20 ms.
2. Wall time of the survey at its defaults (1000 × {40, 80} × {4, 6, 8, 10}, all cores,
   CIFAR-10 shape, probabilistic staging, latency predicted on aws_t2micro:
   `experiment=paper_survey`). Target ≤ 600 s.
Run it on an otherwise idle machine: `.venv/bin/python benchmarks/bench_analysis.py`
(`--samples 100` for a quicker survey, `--no-survey` for the analysis time only).
"""

from __future__ import annotations

import argparse
import statistics
import time

from app.config import compose, validate
from nas.factory import create_architecture
from partition.analyze import Analyzer, prepare
from partition.survey import generator_kwargs, run_survey, summarize, survey_settings

GENERATORS = ["er", "ba", "ws", "dp", "fb"]
TARGET_ANALYSIS_MS = 20.0
TARGET_SURVEY_S = 600.0


def survey_config():
    """`experiment=paper_survey`: the survey's analysis, every generator's defaults, 32 px, probabilistic staging."""
    return validate(compose("experiment=paper_survey"))


def analysis_times(cfg, archs_per_generator: int = 20, repeats: int = 3) -> dict[str, float]:
    archs = [
        create_architecture(
            g, 40, seed, staging=cfg.staging.name, input_size=cfg.input_size, **generator_kwargs(cfg, g)
        )
        for g in GENERATORS
        for seed in range(archs_per_generator)
    ]
    analysis = survey_settings(cfg).analysis
    analyzer = Analyzer(analysis)
    total, prep_times = [], []
    for _ in range(repeats):
        for arch in archs:
            start = time.perf_counter()
            prep = prepare(arch)
            middle = time.perf_counter()
            analyzer(prep, 4)
            end = time.perf_counter()
            total.append(end - start)
            prep_times.append(middle - start)
    return {
        "median_ms": 1e3 * statistics.median(total),
        "p90_ms": 1e3 * sorted(total)[int(0.9 * len(total))],
        "prepare_ms": 1e3 * statistics.median(prep_times),
        "options": len(analysis.epsilons),
        "partitioners": analysis.partitioners,
    }


def survey_time(cfg, samples: int) -> tuple[float, object]:
    survey = cfg.analysis.survey
    start = time.perf_counter()
    frame = run_survey(
        survey_settings(cfg), list(survey.nodes), samples, workers=survey.workers, chunksize=survey.chunksize
    )
    return time.perf_counter() - start, summarize(frame, list(survey.generators))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000, help="survey samples per generator and |V|")
    parser.add_argument("--no-survey", action="store_true")
    args = parser.parse_args()
    cfg = survey_config()
    times = analysis_times(cfg)
    print(
        f"analysis of one 40-vertex architecture on 4 units, {times['options']} ε options ({', '.join(times['partitioners'])}): "
        f"median {times['median_ms']:.2f} ms (p90 {times['p90_ms']:.2f} ms, of which preparation "
        f"{times['prepare_ms']:.2f} ms); target {TARGET_ANALYSIS_MS:.0f} ms → "
        f"{times['median_ms'] / TARGET_ANALYSIS_MS:.2f} of the budget"
    )
    if args.no_survey:
        return
    wall, summary = survey_time(cfg, args.samples)
    print(
        f"survey: {args.samples} × {{40, 80}} × 5 generators × {{4, 6, 8, 10}} units in {wall:.1f} s; "
        f"target {TARGET_SURVEY_S:.0f} s → {wall / TARGET_SURVEY_S:.2f} of the budget"
    )
    print(summary.round(3).to_string())
    print("ranking by median CS:", " < ".join(summary[("cs", "median")].sort_values().index.str.upper()))


if __name__ == "__main__":
    main()
