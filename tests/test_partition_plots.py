"""What can be checked of the figures without looking: every edge drawn and visible,
the legend, the axes' ticks and labels, the titles."""

import dataclasses
import math

import numpy as np
import pytest
from matplotlib.patches import FancyArrowPatch, Rectangle

from app.config import validate
from hw.analyze import TargetLatency
from nas.factory import create_architecture
from partition import plots
from partition.analyze import analyze, prepare
from partition.survey import generator_kwargs, median_profiles, run_survey, survey_settings
from tests.conftest import compose_config


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions would save, kept open for inspection."""
    kept = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: kept.append(fig) or path)
    return kept


def case(generator, nodes, seed=0, units=4):
    arch = create_architecture(generator, nodes, seed, staging="probabilistic", input_size=16, orientation="dfs")
    return arch, analyze(arch, units), prepare(arch).paths


def texts(fig):
    return [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")) if t.get_text()]


@pytest.mark.parametrize("generator, nodes", [("ws", 32), ("dp", 40), ("fb", 40), ("dp", 80)])
def test_partition_plot_draws_every_edge_clear_of_other_vertices(figures, generator, nodes):
    arch, result, paths = case(generator, nodes)
    plots.plot_partition(arch, result, paths.depth, "partition.png")
    (fig,) = figures
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == arch.number_of_edges()
    cut = sum(result.assignment[u] != result.assignment[v] for u, v in arch.edges)
    assert sum(a.get_edgecolor()[:3] == plots.matplotlib.colors.to_rgb(plots.CUT_COLOR) for a in arrows) == cut
    # Every arrow as drawn stays outside the disc of every vertex it does not join (the
    # vertices are drawn on top: an edge through one would vanish behind it).
    fig.canvas.draw()
    ax = fig.axes[0]
    centres = np.array(ax.collections[0].get_offsets())
    radius = plots.NODE_PT / 2 * fig.dpi / 72 / (ax.transData.transform((1, 0)) - ax.transData.transform((0, 0)))[0]
    for arrow in arrows:
        points = np.vstack([segment(np.linspace(0, 1, 40)) for segment, _ in arrow.get_path().iter_bezier()])
        distance = np.linalg.norm(points[:, None] - centres[None], axis=2)
        ends = {int(distance[0].argmin()), int(distance[-4:].min(axis=0).argmin())}  # path: line, then head
        assert np.delete(distance, list(ends), axis=1).min() > radius
    assert min(t.get_fontsize() for t in texts(fig)) >= 8
    width, height = fig.get_size_inches()
    assert width <= plots.MAX_PLOT_IN[0] + plots.LEGEND_IN and height <= plots.MAX_PLOT_IN[1] + plots.TITLE_IN


def test_partition_plot_legend_title_and_layer_order(figures):
    arch, result, paths = case("dp", 16)
    # only units 0 and 2 hold vertices: unit 1 and 3 must not be in the legend
    two_units = {v: 2 * (i % 2) for i, v in enumerate(arch)}
    plots.plot_partition(arch, dataclasses.replace(result, assignment=two_units), paths.depth, "partition.png")
    labels = [t.get_text() for t in figures[0].legends[0].get_texts()]
    assert [label.split(":")[0] for label in labels[:-1]] == ["unit 0", "unit 2"]
    assert labels[-1].startswith("cut edge: tensor sent between units")
    title = figures[0].texts[0].get_text()
    for figure in ("η 1.75", f"ε {result.epsilon:g}", f"CS {result.cs:.3f}", "Λ ", "KiB", "δw"):
        assert figure in title
    # layers by depth, ids within a layer by value (8 before 15), not as strings
    dag = create_architecture("dp", 16, 0)
    depth = {v: 0 if v == "input" else 1 for v in dag}
    layout = plots.layered_layout(dag, depth, sweeps=0)
    layer = sorted((v for v in dag if depth[v] == 1), key=lambda v: layout[v][1])
    assert [v for v in layer if v != "output"] == sorted(v for v in layer if v != "output")
    assert all(layout[v][0] == depth[v] for v in dag)


def bars(ax):
    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() < 1]


@pytest.mark.parametrize("profile", [{d: 1 for d in range(1, 33)}, {1: 6, 2: 3, 3: 1, 4: 5, 5: 2}])
def test_width_depth_axes(figures, profile):
    plots.plot_width_depth(profile, "width_depth.png")
    ax = figures[0].axes[0]
    for bar, (depth, width) in zip(bars(ax), sorted(profile.items()), strict=True):
        assert bar.get_x() + bar.get_width() / 2 == pytest.approx(depth)
        assert bar.get_y() + bar.get_height() == pytest.approx(width)  # the top is the width
        assert bar.get_y() >= ax.get_ylim()[0] and bar.get_height() > 0  # width-1 bars visible
    top = max(profile.values())
    ticks = list(ax.get_yticks())
    assert ticks == [2**k for k in range(len(ticks))] and ticks[-1] >= top and ticks[-1] < 2 * max(top, 2)
    figures[0].canvas.draw()
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(int(t)) for t in ticks]
    assert all(float(t).is_integer() for t in ax.get_xticks())
    assert "log" in ax.get_ylabel() and "depth" in ax.get_xlabel()
    chain = top == 1
    assert ("a chain" in ax.get_title()) == chain


def test_width_depth_panels_share_axes(figures):
    profiles = {"DP": {1: 6, 2: 3, 3: 4}, "CifarNet": {1: 1, 2: 1, 3: 1, 4: 1}, "deep": {d: 2 for d in range(1, 20)}}
    plots.plot_width_depth_panels(profiles, "fig10.png")
    axes = [ax for ax in figures[0].axes if bars(ax)]
    assert [ax.get_title().split("\n")[0] for ax in axes] == list(profiles)
    assert len({ax.get_ylim() for ax in axes}) == 1 and len({ax.get_xlim() for ax in axes}) == 1
    assert axes[0].get_xlim()[1] >= 19 and math.log2(axes[0].get_yticks()[-1]).is_integer()


def test_survey_median_profiles_take_the_median_depth_sample():
    cfg = validate(compose_config("task=survey"))
    settings = survey_settings(cfg, TargetLatency(cfg.hw), {"dp": generator_kwargs(cfg, "dp")})
    frame = run_survey(settings, [12, 16], samples=3, workers=1, progress=False)
    profiles = median_profiles(frame, settings)
    label, *baselines = profiles
    assert label.startswith("DP (|V| 16, seed ") and baselines == ["CifarNet", "VGG-11", "ResNet-50"]
    samples = frame[frame.nodes == 16].drop_duplicates("seed").set_index("seed").depth
    seed = int(label.split("seed ")[1].rstrip(")"))
    assert samples[seed] == sorted(samples)[1] == max(profiles[label])  # the median depth, rebuilt
    assert all(set(profiles[name].values()) == {1} for name in baselines)  # chains
