"""How the DAG orientation shapes an architecture: median longest input→output path.

For each generator (40 compute vertices by default, uniform staging, 40 seeds each,
the generators' schema parameters) and each orientation (`dfs`: a depth-first
discovery order visiting smaller ids first; `index`: lower → higher id, RandWire's
rule), it prints the median number of compute vertices on the longest input→output
path (η's numerator: lower = shorter and wider), the median number of weakly
connected clusters after removing the terminals, and the median width (largest number
of vertices at one depth). A chain has longest path = |V|.

    .venv/bin/python benchmarks/orientation_paths.py [--nodes 40] [--seeds 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nas.config import GeneratorConfig  # noqa: E402
from nas.dag import INPUT, OUTPUT  # noqa: E402
from nas.factory import create_architecture  # noqa: E402
from partition.paths import path_stats  # noqa: E402

GENERATORS = ("er", "ba", "ws", "dp")
ORIENTATIONS = ("dfs", "index")


def shape_figures(generator: str, nodes: int, seed: int, orientation: str) -> tuple[int, int, int]:
    """(longest path in compute vertices, clusters without the terminals, max width)."""
    arch = create_architecture(generator, nodes, seed, staging="uniform", orientation=orientation)
    stats = path_stats(arch)
    inner = arch.subgraph(v for v in arch if v not in (INPUT, OUTPUT))
    return stats.longest_path, nx.number_weakly_connected_components(inner), max(stats.width_profile().values())


def median_figures(generator: str, nodes: int, seeds: int, orientation: str) -> list[float]:
    """Medians over seeds 0..seeds-1 of `shape_figures` (tests/test_nas_orientation.py uses it)."""
    figures = [shape_figures(generator, nodes, seed, orientation) for seed in range(seeds)]
    return [statistics.median(f[i] for f in figures) for i in range(3)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=40, help="compute vertices per architecture")
    parser.add_argument("--seeds", type=int, default=40, help="architectures per generator and orientation")
    args = parser.parse_args(argv)
    rows = {(o, g): median_figures(g, args.nodes, args.seeds, o) for o in ORIENTATIONS for g in GENERATORS}
    print(
        f"median longest input→output path in compute vertices ({args.nodes} vertices, uniform staging, "
        f"{args.seeds} seeds); in brackets: clusters, max width"
    )
    print("| orientation | " + " | ".join(g.upper() for g in GENERATORS) + " |")
    print("|---|" + "---|" * len(GENERATORS))
    for orientation in ORIENTATIONS:
        cells = [f"{p:g} ({c:g}, {w:g})" for p, c, w in (rows[orientation, g] for g in GENERATORS)]
        label = f"{orientation} (default)" if orientation == GeneratorConfig.orientation else orientation
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
