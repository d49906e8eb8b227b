"""`task=survey`: the paper's sampling study of concurrency, without training.

S architectures per generator × vertex count, each analysed on every unit count
(defaults 1000 × {40, 80} × {4, 6, 8, 10}, generators er ba ws dp fb) with the survey's
own partitioners and ε sweep (`analysis.survey.partitioners`, `.epsilons`). Random
generators use the configured staging; FB keeps its own. A generator takes the
parameters of the composed `generator` option when that option is the same generator
(so `generator=dp generator.beta=0.5` changes DP in the survey) and its schema defaults
otherwise. Sample s uses seed `cfg.seed + s`, the same for every generator.

Predicted latency (the paper's Figs. 8–9): each sample's best partition on n units is
list-scheduled on n units of the `hw` target by the model the task passes in
(`hw.analyze.TargetLatency`: `hw.schedule.Simulator`) (experiment=paper_survey: aws_t2micro), with the per-vertex latencies of
the target's unit model (`hw.backends`; without a saved profile, a FLOPs stand-in,
flagged in the output). Communication and latency are then normalised to FB's median
at the same vertex and unit count (`comm_fb`, `latency_fb`), as the paper plots them.

Writes `survey.csv` (one row per architecture × unit count), `survey_summary.csv`
(quartiles per generator, pooled), `survey_cells.csv` (medians per generator, vertex
and unit count), box plots (`survey_cs.png`, `survey_comm.png`, `survey_comm_fb.png`,
`survey_latency_fb.png`, `survey_speedup.png`), the latency of the median DP and FB
architectures on 1..max(units) units (`survey_latency_units.csv` / `.png`) and the
width-vs-depth panels of each generator's median-depth sample and the chain baselines
(`survey_width_depth.png`, the paper's Fig. 10); prints the per-cell medians and DP's
predicted speed-up over FB, and returns them.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing as mp
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import networkx as nx
import pandas as pd
from tqdm import tqdm

from nas.checks import require
from partition.analyze import Analyzer, prepare

log = logging.getLogger(__name__)
SUMMARY_METRICS = (
    "cs",
    "comm_norm",
    "comm_fb",
    "latency_s",
    "latency_fb",
    "predicted_speedup",
    "speedup_bound",
    "imbalance",
    "eta",
)
CELL_METRICS = {
    "cs": "median CS",
    "comm_fb": "median communication Λ / FB's median Λ",
    "latency_fb": "median predicted latency / FB's median",
}
REFERENCE = "fb"  # what communication and latency are normalised to
PAPER_GENERATORS = ("er", "ba", "ws", "dp")
PAPER_DP_SPEEDUP = "6–7×"  # DP over FB, the paper's Fig. 9
BASELINE_NAMES = {"cifarnet": "CifarNet", "vgg11": "VGG-11", "resnet50": "ResNet-50"}  # Fig. 10's chains


@dataclass
class SurveySettings:
    """Everything a worker process needs to build and analyse one sample (picklable)."""

    analysis: Any  # the analysis config with the survey's partitioners and ε sweep
    latency: LatencyModel  # the predicted latencies (the `hw` target's model)
    generators: dict[str, dict]  # name → create_architecture keyword arguments
    units: list[int]
    staging: str
    staging_params: dict
    input_size: int
    num_classes: int
    in_channels: int


class LatencyModel(Protocol):
    """What the survey asks of a hardware model (`hw.analyze.TargetLatency`): the predicted
    latency of each (assignment, unit count) of one architecture. Passed in by the task, so
    the concurrency analysis stays hardware-agnostic and imports nothing of `hw`."""

    def describe(self) -> dict: ...

    def predictions(
        self, arch: nx.DiGraph, placements: Sequence[tuple[Mapping[Any, int], int]], topo: list | None = None
    ) -> list: ...


_WORKER: dict[str, Any] = {}


def _init_worker(settings: SurveySettings, quiet: bool = False) -> None:
    if quiet:  # METIS prints C-level diagnostics ("Cannot bisect ...") straight to fd 1
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    _WORKER["settings"] = settings
    _WORKER["analyzer"] = Analyzer(settings.analysis)
    _WORKER["latency"] = settings.latency


def build_architecture(settings: SurveySettings, generator: str, nodes: int, seed: int) -> nx.DiGraph:
    from nas.factory import create_architecture

    return create_architecture(
        generator,
        nodes,
        seed,
        staging=settings.staging,
        staging_params=settings.staging_params,
        input_size=settings.input_size,
        num_classes=settings.num_classes,
        in_channels=settings.in_channels,
        **settings.generators[generator],
    )


def sample_rows(
    sample: dict, arch: nx.DiGraph, units: list[int], analyzer: Analyzer, latency: LatencyModel
) -> list[dict]:
    """Figures of one architecture (`sample`: its generator, nodes, seed) on each unit
    count: the concurrency metrics and the predicted latency."""
    from nas.arch import total_params

    prep = prepare(arch)
    base = {
        **sample,
        "vertices": prep.paths.compute_vertices,
        "edges": arch.number_of_edges(),
        "params": total_params(arch),
        "depth": max(prep.paths.width_profile(), default=0),
    }
    analyses = [analyzer(prep, n) for n in units]
    placements = [(a.assignment, a.units) for a in analyses if a.assignment is not None]
    assert len(placements) == len(analyses)  # the survey's analyzer keeps each best option's assignment
    return [
        {
            **base,
            "units": r.units,
            "cs": r.cs,
            "comm": r.comm,
            "comm_norm": r.comm_norm,
            "imbalance": r.imbalance,
            "entropy": r.entropy,
            "eta": r.eta,
            "critical_path_vertices": r.critical_path.vertices,
            "critical_path_flops": r.critical_path.flops,
            "total_flops": r.total_flops,
            "speedup_bound": r.speedup_bound,
            "partitioner": r.partitioner,
            "epsilon": r.epsilon,
            "latency_single_s": p.single_s,
            "latency_s": p.distributed_s,
            "predicted_speedup": p.speedup,
            "transfers": len(p.schedule.transfers),
        }
        for r, p in zip(analyses, latency.predictions(arch, placements, prep.hypergraph.vertices), strict=True)
    ]


def _analyse_chunk(item: tuple[str, int, list[int]]) -> list[dict]:
    generator, nodes, seeds = item
    settings: SurveySettings = _WORKER["settings"]
    return [
        row
        for seed in seeds
        for row in sample_rows(
            {"generator": generator, "nodes": nodes, "seed": seed},
            build_architecture(settings, generator, nodes, seed),
            settings.units,
            _WORKER["analyzer"],
            _WORKER["latency"],
        )
    ]


def generator_kwargs(cfg: Any, name: str, overrides: dict | None = None) -> dict:
    """create_architecture keywords of generator `name`: the composed option's or the
    defaults, then `overrides` (default: `analysis.survey.params[name]`) on top, checked
    by the generator's schema."""
    from dataclasses import asdict

    from nas.config import GENERATOR_SCHEMAS

    require(
        name in GENERATOR_SCHEMAS,
        f"analysis.survey.generators: no defaults for {name!r}; valid: {', '.join(GENERATOR_SCHEMAS)}",
    )
    schema = GENERATOR_SCHEMAS[name]
    gen = cfg.generator if getattr(cfg.generator, "name", None) == name else schema()
    if overrides is None:
        overrides = cfg.analysis.survey.params.get(name)
    overrides = dict(overrides or {})
    if overrides:
        base = asdict(gen)
        unknown = sorted(set(overrides) - set(base))
        require(
            not unknown,
            f"analysis.survey.params.{name}: unknown parameter(s) {unknown}; valid: {sorted(set(base) - {'name'})}",
        )
        try:
            gen = schema(**{**base, **overrides})
        except ValueError as err:
            raise ValueError(f"analysis.survey.params.{name}: {err}") from None
    return {"params": gen.params(), "orientation": gen.orientation, "aggregation": gen.aggregation}


def _work_items(generators: list[str], nodes: list[int], seeds: list[int], chunk: int) -> Iterator[tuple]:
    for start in range(0, len(seeds), chunk):
        for generator in generators:
            for n in nodes:
                yield generator, n, seeds[start : start + chunk]


def run_survey(
    settings: SurveySettings,
    nodes: list[int],
    samples: int,
    seed: int = 0,
    workers: int = 0,
    chunksize: int = 25,
    progress: bool = True,
) -> pd.DataFrame:
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
    frame = frame.sort_values(["generator", "nodes", "seed", "units"], kind="stable").reset_index(drop=True)
    return normalise_to_reference(frame) if REFERENCE in settings.generators else frame


def normalise_to_reference(frame: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """`comm_fb`, `latency_fb`: communication and predicted latency over the reference
    generator's median at the same vertex and unit count (the paper's Figs. 8–9)."""
    cell = ["nodes", "units"]
    medians = frame[frame.generator == reference].groupby(cell)[["comm", "latency_s"]].median()
    ref = frame[cell].merge(medians, on=cell, how="left")  # row order kept
    return frame.assign(comm_fb=frame.comm / ref.comm.to_numpy(), latency_fb=frame.latency_s / ref.latency_s.to_numpy())


def cell_medians(frame: pd.DataFrame, metric: str, generators: list[str]) -> pd.DataFrame:
    """Median of `metric` per generator (rows) and (vertex count, unit count) cell (columns)."""
    table = frame.pivot_table(metric, index="generator", columns=["nodes", "units"], aggfunc="median")
    return table.reindex([g for g in generators if g in table.index])


def median_sample(frame: pd.DataFrame, generator: str, nodes: int) -> int:
    """Seed of the sample whose predicted latency on the most surveyed units is its
    generator's median at that vertex count (the lower median for an even count)."""
    rows = frame[(frame.generator == generator) & (frame.nodes == nodes) & (frame.units == frame.units.max())]
    ordered = rows.sort_values(["latency_s", "seed"])
    return int(ordered.seed.iloc[(len(ordered) - 1) // 2])


def latency_curves(
    settings: SurveySettings, frame: pd.DataFrame, units: list[int], generators: tuple[str, ...] = ("dp", REFERENCE)
) -> pd.DataFrame:
    """The median architecture of each of `generators` (`median_sample`) per vertex count,
    re-analysed and scheduled on each of `units` (the paper: one stops speeding up at 8)."""
    analyzer, latency = Analyzer(settings.analysis), settings.latency
    rows = []
    for generator in (g for g in generators if g in settings.generators):
        for nodes in sorted(frame.nodes.unique()):
            n, seed = int(nodes), median_sample(frame, generator, nodes)
            arch = build_architecture(settings, generator, n, seed)
            rows.extend(sample_rows({"generator": generator, "nodes": n, "seed": seed}, arch, units, analyzer, latency))
    return pd.DataFrame(rows)


def median_profiles(
    frame: pd.DataFrame, settings: SurveySettings, baselines: Mapping[str, str] = BASELINE_NAMES
) -> dict[str, dict[int, int]]:
    """Width profiles for the paper's Fig. 10: per generator, the sample of median depth at
    the largest vertex count; then the chain baselines."""
    from nas.factory import create_architecture

    nodes = int(frame.nodes.max())
    picked = {}
    samples = frame[frame.nodes == nodes].drop_duplicates(["generator", "seed"]).sort_values(["depth", "seed"])
    for generator in settings.generators:
        seeds = samples.seed[samples.generator == generator]
        seed = int(seeds.iloc[(len(seeds) - 1) // 2])
        picked[f"{generator.upper()} (|V| {nodes}, seed {seed})"] = build_architecture(settings, generator, nodes, seed)
    picked.update({label: create_architecture(name, 0) for name, label in baselines.items()})  # own input size
    return {label: prepare(arch).paths.width_profile() for label, arch in picked.items()}


def summarize(frame: pd.DataFrame, generators: list[str]) -> pd.DataFrame:
    """Median and quartiles of each metric per generator (pooled over vertex and unit counts)."""
    grouped = frame.groupby("generator")
    table = {}
    for metric in (m for m in SUMMARY_METRICS if m in frame):
        table[(metric, "q1")] = grouped[metric].quantile(0.25)
        table[(metric, "median")] = grouped[metric].median()
        table[(metric, "q3")] = grouped[metric].quantile(0.75)
    summary = pd.DataFrame(table)
    summary.columns = pd.MultiIndex.from_tuples(summary.columns)
    return summary.reindex([g for g in generators if g in summary.index])


def survey_settings(cfg: Any, latency: LatencyModel, generators: dict[str, dict] | None = None) -> SurveySettings:
    """The survey's settings from the composed config and the hardware model of its
    predicted latencies; `generators` (name → keywords) defaults to every surveyed
    generator's `generator_kwargs`."""
    survey = cfg.analysis.survey
    if generators is None:
        generators = {g: generator_kwargs(cfg, g) for g in survey.generators}
    analysis = dataclasses.replace(
        cfg.analysis, partitioners=list(survey.partitioners), epsilons=list(survey.epsilons or cfg.analysis.epsilons)
    )
    return SurveySettings(
        analysis=analysis,
        latency=latency,
        generators=generators,
        units=[int(u) for u in survey.units],
        staging=cfg.staging.name,
        staging_params=cfg.staging.params(),
        input_size=cfg.input_size,
        num_classes=cfg.num_classes,
        in_channels=cfg.in_channels,
    )


def _cells_json(table: pd.DataFrame) -> dict:
    return {g: {f"{n}v_{u}u": round(float(v), 4) for (n, u), v in row.items()} for g, row in table.iterrows()}


def _report(frame: pd.DataFrame, generators: list[str]) -> dict[str, pd.DataFrame]:
    """Print the per-cell medians, the paper generators' CS winner per cell and DP's
    predicted speed-up over FB; return the printed tables."""
    tables = {m: cell_medians(frame, m, generators) for m in CELL_METRICS if m in frame}
    with pd.option_context("display.width", 200):
        for metric, table in tables.items():
            print(f"\n{CELL_METRICS[metric]} per generator; columns: (vertices, units)")
            print(table.round(3).to_string())
    paper = [g for g in PAPER_GENERATORS if g in tables["cs"].index]
    if len(paper) > 1:
        lowest = tables["cs"].loc[paper].idxmin()
        print(
            f"lowest median CS among {', '.join(g.upper() for g in paper)} per cell: "
            + ", ".join(f"{n}v/{u}u {g.upper()}" for (n, u), g in lowest.items())
            + (f" (DP lowest in {int((lowest == 'dp').sum())} of {len(lowest)} cells)" if "dp" in paper else "")
        )
    if "latency_fb" in tables and "dp" in tables["latency_fb"].index:
        speedup = 1.0 / tables["latency_fb"].loc["dp"]
        tables["dp_speedup_over_fb"] = speedup.to_frame("dp").T
        print(
            f"DP's predicted speed-up over FB (FB's median latency / DP's), paper {PAPER_DP_SPEEDUP}: "
            + ", ".join(f"{n}v/{u}u {s:.2f}×" for (n, u), s in speedup.items())
        )
    return tables


def survey_task(cfg: Any, out_dir: Path, latency: LatencyModel) -> dict:
    """task=survey; `latency`: the `hw` target's model (`hw.analyze.TargetLatency(cfg.hw)`)."""
    scfg = cfg.analysis.survey
    generators = list(scfg.generators)
    settings = survey_settings(cfg, latency)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    latency_model = latency.describe()  # in this process: warns once, before the workers fork
    start = time.perf_counter()
    frame = run_survey(settings, [int(n) for n in scfg.nodes], scfg.samples, cfg.seed, scfg.workers, scfg.chunksize)
    wall = time.perf_counter() - start
    csv_path = out_dir / "survey.csv"
    frame.to_csv(csv_path, index=False)
    summary = summarize(frame, generators)
    summary.to_csv(out_dir / "survey_summary.csv")
    ranking = summary[("cs", "median")].sort_values().index.tolist()
    fallback = (
        f"; {latency_model['fallback']} stand-in: {latency_model['note']}" if latency_model.get("fallback") else ""
    )
    print(
        f"survey: {len(frame)} analyses of {len(frame) // len(settings.units)} architectures in {wall:.1f} s "
        f"(input {cfg.input_size} px, staging {cfg.staging.name}, partitioners {settings.analysis.partitioners}, "
        f"ε {settings.analysis.epsilons}); predicted latency on hw={cfg.hw.name} ({latency_model['backend']}{fallback})"
    )
    tables = _report(frame, generators)
    pd.concat(tables, names=["metric"]).to_csv(out_dir / "survey_cells.csv")
    print("ranking by median CS, pooled (best first):", " < ".join(g.upper() for g in ranking))
    curves = latency_curves(settings, frame, list(range(1, max(settings.units) + 1)))
    curves.to_csv(out_dir / "survey_latency_units.csv", index=False)
    from partition.plots import plot_latency_units, plot_survey_metric, plot_width_depth_panels

    records = frame.to_dict("records")
    metrics = [
        ("cs", "survey_cs.png", "concurrency score CS (lower is better)", True),
        ("comm_norm", "survey_comm.png", "communication Λ′ = Λ / (U_c·n)", True),
        ("comm_fb", "survey_comm_fb.png", "Λ / FB's median (Fig. 8)", True),
        ("latency_fb", "survey_latency_fb.png", f"latency on {cfg.hw.name} / FB's", True),
        ("speedup_bound", "survey_speedup.png", "ideal speed-up bound", False),
    ]
    plots = [
        plot_survey_metric(records, m, out_dir / name, label, generators, log=log)
        for m, name, label, log in metrics
        if m in frame
    ]
    plots.append(
        plot_width_depth_panels(
            median_profiles(frame, settings),
            out_dir / "survey_width_depth.png",
            "width vs depth: each generator's sample of median depth, and the chain baselines",
        )
    )
    if len(curves):
        plots.append(
            plot_latency_units(
                curves.to_dict("records"),
                out_dir / "survey_latency_units.png",
                f"predicted latency on {cfg.hw.name}: median architectures",
            )
        )
    return {
        "architectures": len(frame) // len(settings.units),
        "analyses": len(frame),
        "wall_s": round(wall, 2),
        "csv": str(csv_path),
        "plots": [str(p) for p in plots],
        "ranking": ranking,
        "latency_model": latency_model,
        "summary": {g: {f"{m}_{s}": float(summary.loc[g, (m, s)]) for m, s in summary.columns} for g in summary.index},
        "cells": {name: _cells_json(table) for name, table in tables.items()},
    }
