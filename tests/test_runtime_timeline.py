"""What can be checked of `timeline.png` without looking: one bar per step on its rank's
row, idle bars in their own colour with a legend, vertex names where they fit, ms axis."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_rgba

from hw.runtime import timeline

# rank 0: two long vertices; rank 1 waits 3 ms for "b", computes it, then a 1 µs vertex "tiny"
TRACES = [
    [("a", 0.0, 0.0, 0.004), ("long_name", 0.004, 0.004, 0.008)],
    [("b", 0.0, 0.003, 0.006), ("tiny", 0.006, 0.006, 0.006001)],
]


def bars(ax, color):
    """(row, left ms, width ms) of the bars of one colour."""
    return sorted(
        (round(p.get_y() + p.get_height() / 2), p.get_x(), p.get_width())
        for p in ax.patches
        if p.get_facecolor() == to_rgba(color)
    )


def test_one_bar_per_step_idle_bars_names_and_labelled_axes():
    fig = timeline.plot_timeline(TRACES, "two ranks")
    ax = fig.axes[0]
    compute = bars(ax, timeline.COMPUTE_COLOR)
    assert [(row, left) for row, left, _ in compute] == [(0, 0.0), (0, 4.0), (1, 3.0), (1, 6.0)]
    assert [width for *_, width in compute] == pytest.approx([4.0, 4.0, 3.0, 0.001])
    assert bars(ax, timeline.WAIT_COLOR) == [(1, 0.0, pytest.approx(3.0))]
    names = {t.get_text(): t.get_position() for t in ax.texts}
    assert names == {
        "a": (2.0, 0),
        "long_name": (6.0, 0),
        "b": (pytest.approx(4.5), 1),
        "→ b": (pytest.approx(1.5), 1),
    }  # "tiny" has no room
    assert [t.get_text() for t in ax.get_yticklabels()] == ["rank 0", "rank 1"]
    assert ax.get_xlabel().endswith("(ms)") and ax.get_title() == "two ranks"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "computing a vertex (name on the bar)",
        "idle: waiting for a tensor (→ the vertex it feeds)",
        "gap: sending, bookkeeping, descheduled",
    ]
    assert [to_rgba(h.get_facecolor()) for h in ax.get_legend().legend_handles][:2] == [
        to_rgba(timeline.COMPUTE_COLOR),
        to_rgba(timeline.WAIT_COLOR),
    ]
    plt.close(fig)


def test_saved_timeline_says_how_to_open_the_hover_view(tmp_path, monkeypatch):
    kept, close = [], plt.close
    monkeypatch.setattr(plt, "close", kept.append)
    paths = timeline.save_timeline(TRACES, tmp_path / "timeline", "2 workers")
    (fig,) = kept
    assert fig.axes[0].get_title() == "2 workers\n" + timeline.HOVER_HINT.format("timeline.json")
    assert "ui.perfetto.dev" in timeline.HOVER_HINT and (tmp_path / "timeline.png").stat().st_size > 10_000
    assert paths == {"json": str(tmp_path / "timeline.json"), "png": str(tmp_path / "timeline.png")}
    close(fig)
