"""`task=survey`: the paper's sampling study of concurrency, without training.

S architectures per generator × vertex count, each analysed on every unit count
(defaults 1000 × {40, 80} × {4, 6, 8, 10}, generators er ba ws dp fb). Random
generators use the configured staging; FB keeps its own. A generator takes the
parameters of the composed `generator` option when that option is the same generator
(so `generator=dp generator.beta=0.5` changes DP in the survey) and its schema defaults
otherwise. Sample s uses seed `cfg.seed + s`, the same for every generator.

Writes `survey.csv` (one row per architecture × unit count), `survey_summary.csv`
box plots of CS, normalised communication and the ideal speed-up per generator
(`survey_cs.png`, `survey_comm.png`, `survey_speedup.png`) and the width-vs-depth
panels of each generator's median-depth sample and the chain baselines
(`survey_width_depth.png`, the paper's Fig. 10); prints the summary table
(median and quartiles per generator) and returns it.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from nas.checks import require
from partition.analyze import Analyzer, prepare

SUMMARY_METRICS = ("cs", "comm_norm", "speedup_bound", "imbalance", "eta")
BASELINE_NAMES = {"cifarnet": "CifarNet", "vgg11": "VGG-11", "resnet50": "ResNet-50"}  # Fig. 10's chains


@dataclass
class SurveySettings:
    """Everything a worker process needs to build and analyse one sample (picklable)."""

    analysis: Any
    generators: dict[str, dict]  # name → create_architecture keyword arguments
    units: list[int]
    staging: str
    staging_params: dict
    input_size: int
    num_classes: int
    in_channels: int


_WORKER: dict[str, Any] = {}


def _init_worker(settings: SurveySettings, quiet: bool = False) -> None:
    if quiet:  # METIS prints C-level diagnostics ("Cannot bisect ...") straight to fd 1
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    _WORKER["settings"] = settings
    _WORKER["analyzer"] = Analyzer(settings.analysis)


def _build(settings: SurveySettings, generator: str, nodes: int, seed: int) -> Any:
    from nas.factory import create_architecture

    return create_architecture(
        generator, nodes, seed, staging=settings.staging, staging_params=settings.staging_params,
        input_size=settings.input_size, num_classes=settings.num_classes,
        in_channels=settings.in_channels, **settings.generators.get(generator, {}),
    )


def _analyse_chunk(item: tuple[str, int, list[int]]) -> list[dict]:
    from nas.arch import total_params

    generator, nodes, seeds = item
    settings: SurveySettings = _WORKER["settings"]
    analyzer: Analyzer = _WORKER["analyzer"]
    rows = []
    for seed in seeds:
        arch = _build(settings, generator, nodes, seed)
        prep = prepare(arch)
        base = {"generator": generator, "nodes": nodes, "seed": seed,
                "vertices": prep.paths.compute_vertices, "edges": arch.number_of_edges(),
                "params": total_params(arch), "depth": max(prep.paths.width_profile(), default=0)}
        for units in settings.units:
            r = analyzer(prep, units, assignments=False)
            rows.append({
                **base, "units": units, "cs": r.cs, "comm": r.comm, "comm_norm": r.comm_norm,
                "imbalance": r.imbalance, "entropy": r.entropy, "eta": r.eta,
                "critical_path_vertices": r.critical_path.vertices, "critical_path_flops": r.critical_path.flops,
                "total_flops": r.total_flops, "speedup_bound": r.speedup_bound, "partitioner": r.partitioner,
                "epsilon": r.epsilon,
            })
    return rows


def generator_kwargs(cfg: Any, name: str, overrides: dict | None = None) -> dict:
    """create_architecture keywords of generator `name`: the composed option's or the
    defaults, then `overrides` (default: `analysis.survey.params[name]`) on top, checked
    by the generator's schema."""
    from dataclasses import asdict

    from nas.config import GENERATOR_SCHEMAS

    require(name in GENERATOR_SCHEMAS, f"analysis.survey.generators: no defaults for {name!r}; valid: {', '.join(GENERATOR_SCHEMAS)}")
    schema = GENERATOR_SCHEMAS[name]
    gen = cfg.generator if getattr(cfg.generator, "name", None) == name else schema()
    if overrides is None:
        overrides = cfg.analysis.survey.params.get(name)
    overrides = dict(overrides or {})
    if overrides:
        base = asdict(gen)
        unknown = sorted(set(overrides) - set(base))
        require(not unknown, f"analysis.survey.params.{name}: unknown parameter(s) {unknown}; valid: {sorted(set(base) - {'name'})}")
        try:
            gen = schema(**{**base, **overrides})
        except ValueError as err:
            raise ValueError(f"analysis.survey.params.{name}: {err}") from None
    return {"params": gen.params(), "orientation": gen.orientation, "aggregation": gen.aggregation}


def _work_items(generators: list[str], nodes: list[int], seeds: list[int], chunk: int) -> Iterator[tuple]:
    for start in range(0, len(seeds), chunk):
        for generator in generators:
            for n in nodes:
                yield generator, n, seeds[start:start + chunk]


def run_survey(settings: SurveySettings, nodes: list[int], samples: int, seed: int = 0,
               workers: int = 0, chunksize: int = 25, progress: bool = True) -> pd.DataFrame:
    """Every sample's metrics as a DataFrame (rows sorted by generator, nodes, seed, units)."""
    seeds = list(range(seed, seed + samples))
    items = list(_work_items(list(settings.generators), list(nodes), seeds, chunksize))
    total = len(seeds) * len(settings.generators) * len(nodes)
    workers = workers or os.cpu_count() or 1
    rows: list[dict] = []
    bar = tqdm(total=total, desc="survey", unit="arch", disable=not progress, smoothing=0.05)
    if workers == 1:
        _init_worker(settings)
        results = map(_analyse_chunk, items)
        for chunk_rows in results:
            rows.extend(chunk_rows)
            bar.update(len(chunk_rows) // len(settings.units))
    else:
        with mp.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(settings, True)) as pool:
            for chunk_rows in pool.imap_unordered(_analyse_chunk, items):
                rows.extend(chunk_rows)
                bar.update(len(chunk_rows) // len(settings.units))
    bar.close()
    frame = pd.DataFrame(rows)
    return frame.sort_values(["generator", "nodes", "seed", "units"], kind="stable").reset_index(drop=True)


def summarize(frame: pd.DataFrame, generators: list[str]) -> pd.DataFrame:
    """Median and quartiles of each metric per generator (pooled over vertex and unit counts)."""
    grouped = frame.groupby("generator")
    table = {}
    for metric in SUMMARY_METRICS:
        table[(metric, "q1")] = grouped[metric].quantile(0.25)
        table[(metric, "median")] = grouped[metric].median()
        table[(metric, "q3")] = grouped[metric].quantile(0.75)
    summary = pd.DataFrame(table)
    summary.columns = pd.MultiIndex.from_tuples(summary.columns)
    return summary.reindex([g for g in generators if g in summary.index])


def median_profiles(frame: pd.DataFrame, settings: SurveySettings,
                    baselines: Mapping[str, str] = BASELINE_NAMES) -> dict[str, dict[int, int]]:
    """Width profiles for the paper's Fig. 10: per generator, the sample of median depth at
    the largest vertex count; then the chain baselines."""
    from nas.factory import create_architecture

    nodes = int(frame.nodes.max())
    picked = {}
    samples = frame[frame.nodes == nodes].drop_duplicates(["generator", "seed"]).sort_values(["depth", "seed"])
    for generator in settings.generators:
        seeds = samples.seed[samples.generator == generator]
        seed = int(seeds.iloc[(len(seeds) - 1) // 2])
        picked[f"{generator.upper()} (|V| {nodes}, seed {seed})"] = _build(settings, generator, nodes, seed)
    picked.update({label: create_architecture(name, 0) for name, label in baselines.items()})  # own input size
    return {label: prepare(arch).paths.width_profile() for label, arch in picked.items()}


def survey_settings(cfg: Any, generators: dict[str, dict] | None = None) -> SurveySettings:
    """The survey's settings from the composed config; `generators` (name → keywords)
    defaults to every surveyed generator's `generator_kwargs`."""
    if generators is None:
        generators = {g: generator_kwargs(cfg, g) for g in cfg.analysis.survey.generators}
    return SurveySettings(
        analysis=cfg.analysis, generators=generators, units=[int(u) for u in cfg.analysis.survey.units],
        staging=cfg.staging.name, staging_params=cfg.staging.params(),
        input_size=cfg.input_size, num_classes=cfg.num_classes, in_channels=cfg.in_channels,
    )


def survey_task(cfg: Any, out_dir: Path) -> dict:
    scfg = cfg.analysis.survey
    generators = list(scfg.generators)
    settings = survey_settings(cfg)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    frame = run_survey(settings, [int(n) for n in scfg.nodes], scfg.samples, cfg.seed, scfg.workers, scfg.chunksize)
    wall = time.perf_counter() - start
    csv_path = out_dir / "survey.csv"
    frame.to_csv(csv_path, index=False)
    summary = summarize(frame, generators)
    summary.to_csv(out_dir / "survey_summary.csv")
    ranking = summary[("cs", "median")].sort_values().index.tolist()
    print(f"survey: {len(frame)} analyses of {len(frame) // len(settings.units)} architectures in {wall:.1f} s "
          f"(input {cfg.input_size} px, staging {cfg.staging.name}); median and quartiles per generator:")
    print(summary.round(3).to_string())
    print("ranking by median CS (best first):", " < ".join(g.upper() for g in ranking))
    from partition.plots import plot_survey_metric, plot_width_depth_panels

    records = frame[["generator", "nodes", "units", "cs", "comm_norm", "speedup_bound"]].to_dict("records")
    plots = [
        plot_survey_metric(records, "cs", out_dir / "survey_cs.png", "concurrency score CS (lower is better)", generators, log=True),
        plot_survey_metric(records, "comm_norm", out_dir / "survey_comm.png", "communication Λ′ = Λ / (U_c·n)", generators, log=True),
        plot_survey_metric(records, "speedup_bound", out_dir / "survey_speedup.png", "ideal speed-up bound", generators),
        plot_width_depth_panels(median_profiles(frame, settings), out_dir / "survey_width_depth.png",
                                "width vs depth: each generator's sample of median depth, and the chain baselines"),
    ]
    return {
        "architectures": len(frame) // len(settings.units),
        "analyses": len(frame),
        "wall_s": round(wall, 2),
        "csv": str(csv_path),
        "plots": [str(p) for p in plots],
        "ranking": ranking,
        "summary": {g: {f"{m}_{s}": float(summary.loc[g, (m, s)]) for m, s in summary.columns} for g in summary.index},
    }
