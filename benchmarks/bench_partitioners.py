"""Partitioner quality: Λ, CS and time per call of each partitioner on the same architectures.

Every generator of the survey (ER, BA, WS, DP, FB at their defaults, `experiment=paper_survey`:
32 px, probabilistic staging), |V| ∈ {40, 80}, `--samples` seeds each, analysed on 4, 6, 8
and 10 units by each variant below with `partition.analyze.Analyzer` (best balanced option
of the ε sweep, as task=analyze and the survey pick it). Prints, per variant: median Λ and
CS, Λ and CS relative to METIS's on the same case (total Λ ratio, median per-case ratios,
share of cases with a lower CS), and the median time per call (one architecture and unit
count, the whole ε sweep; the hypergraph is prepared once, outside the timing). The
defaults of `analysis.partitioners` (best available: KaHyPar) and of the survey (METIS,
`analysis.survey.partitioners`) follow from this table: see partition/config.py.

    .venv/bin/python benchmarks/bench_partitioners.py [--samples 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import compose, validate  # noqa: E402
from nas.factory import create_architecture  # noqa: E402
from partition.analyze import Analyzer, prepare  # noqa: E402
from partition.config import FULL_EPSILONS, TRIMMED_EPSILONS  # noqa: E402
from partition.partitioners import kahypar_available  # noqa: E402
from partition.survey import generator_kwargs  # noqa: E402

UNITS = (4, 6, 8, 10)


def variants() -> dict[str, tuple[str, list[float]]]:
    """label → (partitioner, ε sweep); METIS (full sweep) is the reference."""
    table = {
        "metis": ("metis", FULL_EPSILONS),
        "metis, trimmed ε": ("metis", TRIMMED_EPSILONS),
        "heuristic": ("heuristic", FULL_EPSILONS),
    }
    if kahypar_available():
        table.update({"kahypar": ("kahypar", FULL_EPSILONS), "kahypar, trimmed ε": ("kahypar", TRIMMED_EPSILONS)})
    return table


def measure(cfg, samples: int, nodes: list[int]) -> pd.DataFrame:
    """One row per variant × architecture × unit count: Λ, CS, options, seconds."""
    generators = list(cfg.analysis.survey.generators)
    analyzers = {
        label: Analyzer(dataclasses.replace(cfg.analysis, partitioners=[name], epsilons=list(eps)))
        for label, (name, eps) in variants().items()
    }
    rows = []
    cases = [(g, n, s) for g in generators for n in nodes for s in range(samples)]
    for generator, n, seed in tqdm(cases, desc="architectures", unit="arch"):
        arch = create_architecture(
            generator,
            n,
            seed,
            staging=cfg.staging.name,
            staging_params=cfg.staging.params(),
            input_size=cfg.input_size,
            num_classes=cfg.num_classes,
            **generator_kwargs(cfg, generator),
        )
        prep = prepare(arch)
        for units in UNITS:
            for label, analyzer in analyzers.items():
                start = time.perf_counter()
                result = analyzer(prep, units, assignments=False)
                rows.append(
                    {
                        "variant": label,
                        "generator": generator,
                        "nodes": n,
                        "seed": seed,
                        "units": units,
                        "comm": result.comm,
                        "cs": result.cs,
                        "imbalance": result.imbalance,
                        "options": len(result.options),
                        "seconds": time.perf_counter() - start,
                    }
                )
    return pd.DataFrame(rows)


KEY = ["generator", "nodes", "seed", "units"]


def against(frame: pd.DataFrame, reference: str = "metis") -> pd.DataFrame:
    """Every row with the reference variant's Λ and CS on the same case (`comm_ref`, `cs_ref`)."""
    ref = frame[frame.variant == reference][KEY + ["comm", "cs"]]
    return frame.merge(ref, on=KEY, suffixes=("", "_ref"))


def compare(frame: pd.DataFrame, reference: str = "metis") -> pd.DataFrame:
    """Per variant: medians, ratios to `reference` on the same case, time per call."""
    table = {}
    for label, group in against(frame, reference).groupby("variant", sort=False):
        pos = group[group.comm_ref > 0]
        table[label] = {
            "median Λ (kB)": group.comm.median() / 1e3,
            "median CS": group.cs.median(),
            "median δw": group.imbalance.median(),
            "ΣΛ / ΣΛ_metis": group.comm.sum() / group.comm_ref.sum(),
            "median Λ/Λ_metis": (pos.comm / pos.comm_ref).median(),
            "mean CS/CS_metis - 1 (%)": 100 * ((group.cs / group.cs_ref).mean() - 1),
            "CS < metis (%)": 100 * (group.cs < group.cs_ref - 1e-12).mean(),
            "CS > metis (%)": 100 * (group.cs > group.cs_ref + 1e-12).mean(),
            "options per call": group.options.mean(),
            "ms per call": 1e3 * group.seconds.median(),
        }
    return pd.DataFrame(table).T


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10, help="architectures per generator and vertex count")
    parser.add_argument("--nodes", type=int, nargs="+", default=[40, 80])
    args = parser.parse_args(argv)
    cfg = validate(compose("experiment=paper_survey"))
    frame = measure(cfg, args.samples, args.nodes)
    print(
        f"\n{args.samples} architectures × {len(cfg.analysis.survey.generators)} generators × |V| {args.nodes} × "
        f"units {list(UNITS)} = {len(frame) // frame.variant.nunique()} cases per variant "
        f"(input {cfg.input_size} px, staging {cfg.staging.name}); ratios against METIS on the same case"
    )
    with pd.option_context("display.width", 220):
        print(compare(frame).round(3).to_string())
        joined = against(frame).assign(
            lower=lambda f: 100 * (f.cs < f.cs_ref - 1e-12), change=lambda f: 100 * (f.cs / f.cs_ref - 1)
        )
        others = joined[joined.variant != "metis"]
        print("\nshare of cases with a lower CS than METIS (%), per generator:")
        print(others.pivot_table("lower", "variant", "generator", sort=False).round(0).to_string())
        print("\nmean CS change against METIS (%), per generator:")
        print(others.pivot_table("change", "variant", "generator", sort=False).round(2).to_string())


if __name__ == "__main__":
    main()
