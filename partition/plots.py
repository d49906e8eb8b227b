"""PNG plots of analysis results (matplotlib, Agg backend: no display needed).

Plots draw what the analysis already computed (results are data): the width profile,
an assignment, the survey's table; nothing is recomputed here.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

from nas.dag import INPUT, OUTPUT  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_width_depth(profile: Mapping[int, int], path: str | Path, title: str = "") -> Path:
    """Width-vs-depth histogram (paper Fig. 10 style): vertices per depth, log width."""
    depths = sorted(int(d) for d in profile)
    widths = [int(profile[d]) for d in depths]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(depths, widths, color="tab:blue", width=0.8)
    ax.set_yscale("log", base=2)
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("depth (longest path from the input)")
    ax.set_ylabel("width (compute vertices)")
    ax.set_title(title or f"width vs depth: depth {max(depths, default=0)}, max width {max(widths, default=0)}")
    fig.tight_layout()
    return _save(fig, path)


def plot_partition(arch: nx.DiGraph, assignment: Mapping[Hashable, int], depth: Mapping[Hashable, int],
                   path: str | Path, title: str = "") -> Path:
    """The DAG laid out by depth (left → right), vertices coloured by unit (Fig. 11 style).

    Edges whose ends sit on different units (cut tensors) are drawn red and dashed.
    """
    layers: dict[int, list[Hashable]] = {}
    for v in arch.nodes:
        layers.setdefault(depth[v], []).append(v)
    pos = {}
    for d, members in layers.items():
        for i, v in enumerate(sorted(members, key=str)):
            pos[v] = (d, i - (len(members) - 1) / 2)
    units = max(assignment.values()) + 1 if assignment else 1
    cmap = plt.get_cmap("tab10" if units <= 10 else "tab20")
    colors = [cmap(assignment[v] % cmap.N) for v in arch.nodes]
    cut = [(u, v) for u, v in arch.edges if assignment[u] != assignment[v]]
    kept = [(u, v) for u, v in arch.edges if assignment[u] == assignment[v]]
    width = max(6.0, 0.45 * len(layers))
    height = max(3.5, 0.45 * max(len(m) for m in layers.values()))
    fig, ax = plt.subplots(figsize=(min(width, 30), min(height, 20)))
    nx.draw_networkx_edges(arch, pos, edgelist=kept, ax=ax, edge_color="0.6", arrowsize=6, width=0.8)
    nx.draw_networkx_edges(arch, pos, edgelist=cut, ax=ax, edge_color="tab:red", style="dashed", arrowsize=6, width=0.8)
    nx.draw_networkx_nodes(arch, pos, ax=ax, node_color=colors, node_size=160, edgecolors="black", linewidths=0.5)
    labels = {v: ("in" if v == INPUT else "out" if v == OUTPUT else str(v)) for v in arch.nodes}
    nx.draw_networkx_labels(arch, pos, labels, ax=ax, font_size=6)
    handles = [plt.Line2D([], [], marker="o", ls="", color=cmap(u % cmap.N), label=f"unit {u}") for u in range(units)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    ax.set_title(title or f"partition on {units} units ({len(cut)} cut edges, red)")
    ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)


def plot_survey_metric(rows: Sequence[Mapping], metric: str, path: str | Path, label: str,
                       generators: Sequence[str], log: bool = False) -> Path:
    """Grouped box plots (paper Figs. 7–9 style): one panel per vertex count, x = units,
    one box per generator. `rows` are the survey's per-sample records."""
    nodes = sorted({int(r["nodes"]) for r in rows})
    units = sorted({int(r["units"]) for r in rows})
    data: dict[tuple, list[float]] = {}
    for r in rows:
        data.setdefault((int(r["nodes"]), int(r["units"]), r["generator"]), []).append(float(r[metric]))
    cmap = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(nodes), figsize=(5.5 * len(nodes), 3.8), squeeze=False, sharey=True)
    box_width = 0.8 / len(generators)
    for ax, n_vertices in zip(axes[0], nodes, strict=True):
        for g_index, gen in enumerate(generators):
            positions, values = [], []
            for u_index, u in enumerate(units):
                sample = data.get((n_vertices, u, gen))
                if sample:
                    positions.append(u_index - 0.4 + box_width * (g_index + 0.5))
                    values.append(sample)
            if not values:
                continue
            parts = ax.boxplot(values, positions=positions, widths=box_width * 0.9, patch_artist=True,
                               showfliers=False, manage_ticks=False)
            for box in parts["boxes"]:
                box.set(facecolor=cmap(g_index), alpha=0.75)
            for median in parts["medians"]:
                median.set(color="black")
        ax.set_xticks(range(len(units)), [str(u) for u in units])
        ax.set_xlabel("units")
        ax.set_title(f"|V| = {n_vertices}")
        if log:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
            ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[0][0].set_ylabel(label)
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(i), alpha=0.75, label=g.upper()) for i, g in enumerate(generators)]
    axes[0][-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return _save(fig, path)
