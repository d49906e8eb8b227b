"""Benchmark of the concurrency analysis: time per architecture and the survey's throughput.

1. Median time to analyse one 40-vertex architecture on 4 units with the survey's
   partitioners and ε options (`analysis.survey.partitioners` / `.epsilons`: METIS, 3
   options; hypergraph, paths, metrics and the vertex → unit dicts included), over
   generators ER/BA/WS/DP/FB. Target ≤ 20 ms.
2. The default survey (`experiment=paper_survey`: {40, 80} vertices × 5 generators ×
   {4, 6, 8, 10} units, METIS, predicted latency on aws_t2micro, `analysis.survey.workers`
   processes: every core) on `--samples` seeds, each run in a fresh process (start-up,
   worker forks and imports counted). Prints architectures per second of wall time and
   per CPU second (the workers' user + system time: what other processes on a shared
   machine do not distort), the workers' peak RSS and whether they imported torch.
   With `--baseline DIR` (another checkout, e.g. `git archive <commit> | tar -x -C DIR`)
   the same survey runs on that code too, alternating, and the ratios are printed, with
   a check that both gave the same figures (a digest of every row).
Run it on an otherwise idle machine: `.venv/bin/python benchmarks/bench_analysis.py`
(`--samples 1000` for the full survey, `--no-survey` for the analysis time only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import compose, validate  # noqa: E402
from hw.analyze import TargetLatency  # noqa: E402
from nas.factory import create_architecture  # noqa: E402
from partition.analyze import Analyzer, prepare  # noqa: E402
from partition.survey import generator_kwargs, survey_settings  # noqa: E402

GENERATORS = ["er", "ba", "ws", "dp", "fb"]
TARGET_ANALYSIS_MS = 20.0
# The survey's settings on any checkout (since 8a8d992 the task passes the latency model in).
SETTINGS = """
import inspect
from partition.survey import survey_settings
def settings_for(cfg):
    if "latency" in inspect.signature(survey_settings).parameters:
        from hw.analyze import TargetLatency
        return survey_settings(cfg, TargetLatency(cfg.hw))
    return survey_settings(cfg)
"""
# One survey in a fresh process; prints one JSON line. Only APIs that old checkouts share.
SURVEY_RUN = (
    SETTINGS
    + """
import hashlib, json, os, resource, sys, time
from app.config import compose, register_configs, validate
from partition.survey import run_survey
register_configs()
cfg = validate(compose("experiment=paper_survey"))
survey = cfg.analysis.survey
start, cpu = time.perf_counter(), os.times()
frame = run_survey(settings_for(cfg), list(survey.nodes), int(sys.argv[1]), workers=survey.workers,
                   chunksize=survey.chunksize, progress=False)
wall, end = time.perf_counter() - start, os.times()
columns = ["generator", "nodes", "seed", "units", "cs", "eta", "comm", "imbalance", "epsilon", "latency_s",
           "latency_single_s", "transfers"]
print(json.dumps({
    "wall_s": wall,
    "worker_cpu_s": (end.children_user + end.children_system) - (cpu.children_user + cpu.children_system),
    "architectures": len(frame) // len(survey.units),
    "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "parent_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "digest": hashlib.sha256(frame[columns].to_csv(index=False).encode()).hexdigest()[:16],
}))
"""
)
# Run inside every survey worker (as its pool initializer's last step would): torch loaded?
TORCH_CHECK = (
    SETTINGS
    + """
import multiprocessing as mp, sys
from app.config import compose, register_configs, validate
from partition import survey
register_configs()
settings = settings_for(validate(compose("experiment=paper_survey")))
def probe(_):
    return "torch" in sys.modules
with mp.get_context("fork").Pool(2, initializer=survey._init_worker, initargs=(settings, True)) as pool:
    print(any(pool.map(probe, range(4))))
"""
)


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
    analysis = survey_settings(cfg, TargetLatency(cfg.hw)).analysis
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


def _python(code: str, checkout: Path, *args: str) -> str:
    """Run `code` with `checkout` first on the import path (-P: not the current
    directory), from the current directory (every checkout sees the same saved latency
    profile, if any)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    run = subprocess.run([sys.executable, "-P", "-c", code, *args], env=env, capture_output=True, text=True, check=True)
    return run.stdout.strip().splitlines()[-1]


def survey_run(checkout: Path, samples: int) -> dict:
    return json.loads(_python(SURVEY_RUN, checkout, str(samples)))


def _line(label: str, runs: list[dict]) -> str:
    wall = statistics.median(r["wall_s"] for r in runs)
    cpu = statistics.median(r["worker_cpu_s"] for r in runs)
    archs = runs[0]["architectures"]
    rss = max(r["worker_peak_rss_mb"] for r in runs)
    return (
        f"{label:9s} {archs} architectures: wall {wall:6.1f} s ({archs / wall:6.1f} arch/s), "
        f"worker CPU {cpu:6.1f} s ({archs / cpu:6.1f} arch/CPU-s), worker peak RSS {rss:.0f} MB, "
        f"parent {max(r['parent_peak_rss_mb'] for r in runs):.0f} MB; digest {runs[0]['digest']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100, help="survey samples per generator and |V|")
    parser.add_argument("--repeats", type=int, default=2, help="survey runs per checkout (alternating)")
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--no-survey", action="store_true")
    args = parser.parse_args()
    times = analysis_times(survey_config())
    print(
        f"analysis of one 40-vertex architecture on 4 units, {times['options']} ε options ({', '.join(times['partitioners'])}): "
        f"median {times['median_ms']:.2f} ms (p90 {times['p90_ms']:.2f} ms, of which preparation "
        f"{times['prepare_ms']:.2f} ms); target {TARGET_ANALYSIS_MS:.0f} ms → "
        f"{times['median_ms'] / TARGET_ANALYSIS_MS:.2f} of the budget"
    )
    if args.no_survey:
        return
    checkouts = {"this": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    runs: dict[str, list[dict]] = {label: [] for label in checkouts}
    for _ in range(args.repeats):
        for label, checkout in checkouts.items():
            runs[label].append(survey_run(checkout, args.samples))
    print(
        f"survey, {args.samples} samples, workers={survey_config().analysis.survey.workers} (0: {os.cpu_count()} cores)"
    )
    for label, checkout in checkouts.items():
        print(_line(label, runs[label]), "| workers import torch:", _python(TORCH_CHECK, checkout))
    if args.baseline:
        ratio = {
            key: statistics.median(r[key] for r in runs["baseline"]) / statistics.median(r[key] for r in runs["this"])
            for key in ("wall_s", "worker_cpu_s")
        }
        same = {r["digest"] for r in runs["this"] + runs["baseline"]}
        print(
            f"throughput this / baseline: {ratio['wall_s']:.2f}× per wall second, {ratio['worker_cpu_s']:.2f}× per "
            f"CPU second; figures {'identical' if len(same) == 1 else 'DIFFERENT'} ({len(same)} digest(s))"
        )


if __name__ == "__main__":
    main()
