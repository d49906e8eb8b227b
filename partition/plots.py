"""PNG plots of analysis results (matplotlib, Agg backend: no display needed).

Plots draw what the analysis already computed (results are data): the width profile,
an assignment, the survey's table; nothing is recomputed here.

The DAG is drawn with a layered layout written here: layer = depth, the order within
a layer from barycentre sweeps (fewer crossings), and an edge that would pass through a vertex is drawn as the lowest
quadratic curve that clears every vertex (matplotlib's angle3 connection), so every
edge stays visible. Graphviz `dot` would route long edges more tightly, but it is a
system package; this keeps matplotlib and numpy the only needs.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.ticker
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from nas.dag import INPUT, OUTPUT  # noqa: E402
from partition.analyze import Analysis  # noqa: E402
from partition.summary import human_bytes  # noqa: E402

FONT_PT = 8  # every label: readable at any graph size
NODE_PT = 20  # vertex marker diameter: room for a 3-character label
MAX_PLOT_IN = (36.0, 20.0)  # the drawing area's cap (a deep or wide graph shrinks to it)
BULGES = tuple(sign * 0.25 * k for k in range(1, 25) for sign in (1, -1))  # curve heights tried, data units
SHIFTS = (0.0, -0.25, 0.25)  # control point shifts along the chord tried, in chord lengths
CUT_COLOR = "tab:red"
LEGEND_IN, TITLE_IN = 3.3, 0.6  # room right of the drawing for the legend, above it for the title
Edge = tuple[Hashable, Hashable]


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _width_bars(ax, profile: Mapping[int, int], top: int, last_depth: int, labels: bool) -> None:
    """Bars of width per depth on a log₂ axis whose bottom (½) keeps width-1 bars visible;
    `labels` writes each width above 1 on its bar."""
    depths = sorted(int(d) for d in profile)
    widths = [int(profile[d]) for d in depths]
    ax.bar(depths, [w - 0.5 for w in widths], bottom=0.5, width=0.8, color="tab:blue")
    if labels:
        for d, w in zip(depths, widths, strict=True):
            if w > 1:
                ax.annotate(
                    str(w),
                    (d, w),
                    xytext=(0, 1),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=FONT_PT,
                )
    powers = [2**k for k in range(max(1, math.ceil(math.log2(max(top, 1)))) + 1)]
    ax.set_yscale("log", base=2)
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(powers))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:.0f}"))
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_ylim(0.5, powers[-1] * 1.5)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlim(0.4, last_depth + 0.6)
    ax.tick_params(labelsize=FONT_PT)


def _profile_title(profile: Mapping[int, int]) -> str:
    n, depth, width = sum(profile.values()), max(profile, default=0), max(profile.values(), default=0)
    return f"{n} vertices, depth {depth}, max width {width}" + (
        " (a chain)" if width == 1 else f", mean {n / depth:.1f}"
    )


WIDTH_LABEL, DEPTH_LABEL = "width (compute vertices, log₂ axis)", "depth (longest path from the input, edges)"


def plot_width_depth(profile: Mapping[int, int], path: str | Path, title: str = "") -> Path:
    """Width-vs-depth histogram (paper Fig. 10 style): compute vertices per depth, log₂ width."""
    fig, ax = plt.subplots(figsize=(max(6.0, min(0.12 * len(profile), 16.0)), 3.4))
    _width_bars(ax, profile, max(profile.values(), default=1), max(profile, default=1), labels=len(profile) <= 60)
    ax.set_xlabel(DEPTH_LABEL, fontsize=FONT_PT + 1)
    ax.set_ylabel(WIDTH_LABEL, fontsize=FONT_PT + 1)
    ax.set_title(title or f"width vs depth: {_profile_title(profile)}", fontsize=FONT_PT + 2)
    fig.tight_layout()
    return _save(fig, path)


def plot_width_depth_panels(profiles: Mapping[str, Mapping[int, int]], path: str | Path, title: str = "") -> Path:
    """Paper Fig. 10: one width-vs-depth panel per architecture, all on the same axes."""
    cols = min(4, len(profiles))
    rows = math.ceil(len(profiles) / cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(3.8 * cols, 2.9 * rows + 0.6),
        squeeze=False,
        sharex=True,
        sharey=True,
        layout="constrained",
    )
    top = max(max(p.values(), default=1) for p in profiles.values())
    last = max(max(p, default=1) for p in profiles.values())
    for ax, (name, profile) in zip(axes.flat, profiles.items(), strict=False):  # the grid may have spare axes
        _width_bars(ax, profile, top, last, labels=False)
        ax.set_title(f"{name}\n{_profile_title(profile)}", fontsize=FONT_PT)
        ax.tick_params(labelbottom=True, labelleft=True)
    for ax in axes.flat[len(profiles) :]:
        ax.axis("off")
    fig.supxlabel(DEPTH_LABEL, fontsize=FONT_PT + 1)
    fig.supylabel(WIDTH_LABEL, fontsize=FONT_PT + 1)
    if title:
        fig.suptitle(title, fontsize=FONT_PT + 2)
    return _save(fig, path)


def _vertex_key(v: Hashable) -> tuple:
    return (0, v, "") if isinstance(v, int) else (1, 0, str(v))  # ids by value, then input/output


def layered_layout(
    arch: nx.DiGraph, depth: Mapping[Hashable, int], sweeps: int = 4
) -> dict[Hashable, tuple[float, float]]:
    """x = depth, y = place in the layer (centred). Barycentre sweeps order each layer by
    the mean height of the vertices' predecessors (down) or successors (up): most edge
    crossings go."""
    layers: dict[int, list[Hashable]] = {}
    for v in sorted(arch.nodes, key=_vertex_key):
        layers.setdefault(depth[v], []).append(v)
    y: dict[Hashable, float] = {}

    def place(members: list[Hashable]) -> None:
        for i, v in enumerate(members):
            y[v] = i - (len(members) - 1) / 2

    def barycentre(v: Hashable, neighbours) -> float:
        heights = [y[u] for u in neighbours(v)]
        return sum(heights) / len(heights) if heights else y[v]

    for members in layers.values():
        place(members)
    order = sorted(layers)
    for _ in range(sweeps):
        for sweep, neighbours in ((order, arch.predecessors), (order[::-1], arch.successors)):
            for d in sweep:
                layers[d].sort(key=lambda v: (barycentre(v, neighbours), y[v]))
                place(layers[d])
    return {v: (float(depth[v]), y[v]) for v in arch.nodes}


def _controls(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Candidate control points of a quadratic Bézier edge from a to b, lowest first: the
    chord's midpoint (a straight line), then off the chord by each of `BULGES` (twice the
    curve's height), at the middle or shifted along the chord (an asymmetric curve
    leaves one end more steeply than it enters the other)."""
    chord = b - a
    normal = np.array([chord[1], -chord[0]]) / np.linalg.norm(chord)
    mid = (a + b) / 2
    return [mid, *(mid + shift * chord + 2 * h * normal for h in BULGES for shift in SHIFTS)]


def _curve(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Points of the quadratic Bézier a → b with control c, 8 per data unit of its length."""
    t = np.linspace(0.0, 1.0, max(16, int(8 * (np.linalg.norm(c - a) + np.linalg.norm(b - c)))))[:, None]
    return (1 - t) ** 2 * a + 2 * t * (1 - t) * c + t**2 * b


def _angle(p: np.ndarray, q: np.ndarray) -> float:
    return math.atan2(q[1] - p[1], q[0] - p[0])


def route_edges(
    arch: nx.DiGraph, pos: Mapping[Hashable, tuple[float, float]], clearance: float
) -> dict[Edge, np.ndarray]:
    """Control point per edge: the first of `_controls` whose curve clears every other
    vertex by `clearance` (else by 70 % of it, else the clearest), preferring a curve
    that leaves and enters its vertices at an angle no earlier edge uses."""
    names = list(arch.nodes)
    points = np.array([pos[v] for v in names])
    index = {v: i for i, v in enumerate(names)}
    used: dict[Hashable, list[float]] = {v: [] for v in names}  # directions of the edges at a vertex

    def clash(v: Hashable, theta: float) -> bool:
        return any(abs((theta - t + math.pi) % (2 * math.pi) - math.pi) < 0.08 for t in used[v])

    controls = {}
    for u, v in sorted(arch.edges, key=lambda e: (abs(pos[e[1]][0] - pos[e[0]][0]), _vertex_key(e[0]))):
        a, b = np.array(pos[u]), np.array(pos[v])
        others = np.delete(points, [index[u], index[v]], axis=0)
        best: tuple = (math.inf,)
        for i, c in enumerate(_controls(a, b)):
            curve = _curve(a, b, c)
            near = others[
                np.all((others > curve.min(axis=0) - clearance) & (others < curve.max(axis=0) + clearance), axis=1)
            ]
            gap = float(np.linalg.norm(curve[:, None] - near[None], axis=2).min()) if len(near) else math.inf
            tier = 0 if gap >= clearance else 1 if gap >= 0.7 * clearance else 2  # clear, visible, hidden
            clashes = clash(u, _angle(a, c)) or clash(v, _angle(b, c))
            best = min(best, (tier, -gap if tier == 2 else 0.0, i + 4 * clashes, i, c), key=lambda s: s[:4])
            if tier == 0 and not clashes:
                break  # no later candidate scores better
        c = best[-1]
        used[u].append(_angle(a, c))
        used[v].append(_angle(b, c))
        controls[(u, v)] = c
    return controls


def _connection(a: Sequence[float], b: Sequence[float], c: np.ndarray) -> str:
    """matplotlib's connection style for the quadratic Bézier a → b with control c."""
    (dx, dy), (ex, ey) = np.subtract(b, a), c - np.asarray(a)
    if abs(dx * ey - dy * ex) < 1e-9:  # on the chord
        return "arc3,rad=0"
    return f"angle3,angleA={math.degrees(_angle(np.asarray(a), c))},angleB={math.degrees(_angle(np.asarray(b), c))}"


def _unit_colors(units: int) -> list:
    """One colour per unit, none of them red (red marks the cut edges)."""
    cmap = plt.get_cmap("tab10" if units <= 9 else "tab20")
    reds = {3} if units <= 9 else {6, 7}
    palette = [cmap(i) for i in range(cmap.N) if i not in reds]
    return [palette[u % len(palette)] for u in range(units)]


def _partition_title(arch: nx.DiGraph, result: Analysis) -> str:
    compute = sum(v not in (INPUT, OUTPUT) for v in arch)
    eps = "none" if result.epsilon is None else f"{result.epsilon:g}"
    return (
        f"{arch.graph.get('generator', 'architecture')}: {compute} compute vertices, {arch.number_of_edges()} edges, "
        f"on {result.units} units ({result.partitioner})\n"
        f"η {result.eta:.2f}   ε {eps}   CS {result.cs:.3f}   Λ {human_bytes(result.comm)} (Λ′ {result.comm_norm:.2f})   "
        f"δw {result.imbalance:.2f}"
    )


def plot_partition(arch: nx.DiGraph, result: Analysis, depth: Mapping[Hashable, int], path: str | Path) -> Path:
    """The DAG laid out by depth (left → right), vertices coloured by unit (Fig. 11 style).

    Every edge is one arrow; an edge whose ends sit on different units (a tensor sent
    between units) is red. The legend lists the units that hold a vertex.
    """
    assignment = result.assignment
    assert assignment is not None, "the analysis was run without assignments"
    pos = layered_layout(arch, depth)
    xs, ys = zip(*pos.values(), strict=True)
    grid = np.array([max(xs) - min(xs) + 2, max(ys) - min(ys) + 2])  # data units, one margin each side
    scale = min(0.6, *(np.array(MAX_PLOT_IN) / grid))  # inches per data unit, the same on x and y
    controls = route_edges(arch, pos, clearance=0.75 * NODE_PT / 72 / scale)
    curves = np.vstack(
        [_curve(np.array(pos[u]), np.array(pos[v]), controls[(u, v)]) for u, v in arch.edges]
        + [np.array([*pos.values()])]
    )
    low, high = curves.min(axis=0) - 0.7, curves.max(axis=0) + 0.7
    scale = min(scale, *(np.array(MAX_PLOT_IN) / (high - low)))
    used = sorted(set(assignment.values()))
    size = np.maximum((high - low) * scale, (6.0, 0.2 * len(used) + 0.4))  # room for the title and legend
    centre, span = (low + high) / 2, size / scale
    low, high = centre - span / 2, centre + span / 2  # the drawing's aspect is exactly the data's
    width, height = size[0] + LEGEND_IN, size[1] + TITLE_IN
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0.0, 0.0, size[0] / width, size[1] / height))
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    ax.axis("off")
    colors = _unit_colors(max(used) + 1)
    cut = 0
    for u, v in arch.edges:
        crosses = assignment[u] != assignment[v]
        cut += crosses
        ax.add_patch(
            FancyArrowPatch(
                pos[u],
                pos[v],
                arrowstyle="-|>",
                mutation_scale=9,
                connectionstyle=_connection(pos[u], pos[v], controls[(u, v)]),
                shrinkA=NODE_PT / 2,
                shrinkB=NODE_PT / 2 + 1,
                color=CUT_COLOR if crosses else "0.55",
                lw=1.3 if crosses else 0.8,
                zorder=2 if crosses else 1,
            )
        )
    names = list(arch.nodes)
    ax.scatter(
        [pos[v][0] for v in names],
        [pos[v][1] for v in names],
        s=NODE_PT**2,
        zorder=3,
        c=[colors[assignment[v]] for v in names],
        edgecolors="black",
        linewidths=0.6,
    )
    for v in names:
        label = "in" if v == INPUT else "out" if v == OUTPUT else str(v)
        ax.text(*pos[v], label, ha="center", va="center", fontsize=FONT_PT, zorder=4)
    loads = result.options[result.best_option].loads
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markersize=9,
            markerfacecolor=colors[u],
            markeredgecolor="black",
            label=f"unit {u}: {sum(a == u for a in assignment.values())} vertices, {loads[u] / max(sum(loads), 1):.0%} of the load",
        )
        for u in used
    ]
    handles.append(
        Line2D(
            [],
            [],
            color=CUT_COLOR,
            lw=1.3,
            label=f"cut edge: tensor sent between units ({cut} of {arch.number_of_edges()})",
        )
    )
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(size[0] / width, size[1] / height),
        fontsize=FONT_PT,
        frameon=False,
    )
    fig.suptitle(_partition_title(arch, result), fontsize=FONT_PT + 2, y=1 - 0.08 / height, va="top")
    return _save(fig, path)


def plot_survey_metric(
    rows: Sequence[Mapping], metric: str, path: str | Path, label: str, generators: Sequence[str], log: bool = False
) -> Path:
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
            parts = ax.boxplot(
                values,
                positions=positions,
                widths=box_width * 0.9,
                patch_artist=True,
                showfliers=False,
                manage_ticks=False,
            )
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
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=cmap(i), alpha=0.75, label=g.upper()) for i, g in enumerate(generators)
    ]
    axes[0][-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return _save(fig, path)


def plot_latency_units(rows: Sequence[Mapping], path: str | Path, title: str = "") -> Path:
    """Predicted latency vs unit count (integer axis), one panel per vertex count and one
    line per architecture; `rows` are survey records (generator, nodes, seed, units, latency_s)."""
    nodes = sorted({int(r["nodes"]) for r in rows})
    lines: dict[tuple, list[tuple[int, float]]] = {}
    for r in rows:
        lines.setdefault((int(r["nodes"]), r["generator"], int(r["seed"])), []).append(
            (int(r["units"]), 1e3 * float(r["latency_s"]))
        )
    fig, axes = plt.subplots(1, len(nodes), figsize=(5.5 * len(nodes), 3.8), squeeze=False)
    for ax, n_vertices in zip(axes[0], nodes, strict=True):
        for (n, generator, seed), points in sorted(lines.items()):
            if n == n_vertices:
                units, ms = zip(*sorted(points), strict=True)
                ax.plot(units, ms, marker="o", label=f"{generator.upper()} (seed {seed})")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("units")
        ax.set_ylabel("predicted latency (ms)")
        ax.set_title(f"|V| = {n_vertices}")
        ax.legend(frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)
