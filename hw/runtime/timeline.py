"""Per-worker timeline of one distributed inference: where each rank computed and waited.

Input: one trace per rank, as `RankExecutor.trace` records it — (vertex, wait start,
compute start, compute end) in seconds from the rank's start signal — and, for workers
on one host, each rank's start on the shared monotonic clock (`align` puts all ranks on
rank 0's time axis, so a message's flight shows). Output: Chrome's
Trace Event Format (open in https://ui.perfetto.dev or chrome://tracing), a Gantt PNG,
and a summary of compute vs waiting per rank: the figures that say whether a slow
distributed run lacks parallelism (ranks idle waiting for tensors) or pays overheads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

Trace = Sequence[Sequence]  # (vertex, wait_start_s, compute_start_s, compute_end_s) per step

MIN_WAIT_S = 1e-5  # shorter gaps are bookkeeping, not waiting for a peer


def align(traces: Sequence[Trace], origins: Sequence[float] | None) -> list[list[tuple]]:
    """Shift every rank's trace onto the earliest rank's time axis (None: leave as is)."""
    if not origins:
        return [list(map(tuple, trace)) for trace in traces]
    first = min(origins)
    return [
        [(v, w + o - first, s + o - first, e + o - first) for v, w, s, e in trace]
        for trace, o in zip(traces, origins, strict=True)
    ]


def chrome_trace(traces: Sequence[Trace]) -> dict:
    """Trace Event Format: one thread per rank, an event per vertex and per wait."""
    events = []
    for rank, trace in enumerate(traces):
        events.append({"name": "thread_name", "ph": "M", "pid": 0, "tid": rank, "args": {"name": f"rank {rank}"}})
        for vertex, wait_start, start, end in trace:
            if start - wait_start > MIN_WAIT_S:
                events.append(
                    {
                        "name": f"wait → {vertex}",
                        "cat": "wait",
                        "ph": "X",
                        "pid": 0,
                        "tid": rank,
                        "ts": wait_start * 1e6,
                        "dur": (start - wait_start) * 1e6,
                    }
                )
            events.append(
                {
                    "name": str(vertex),
                    "cat": "compute",
                    "ph": "X",
                    "pid": 0,
                    "tid": rank,
                    "ts": start * 1e6,
                    "dur": (end - start) * 1e6,
                }
            )
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def summarize(traces: Sequence[Trace]) -> list[dict]:
    """Per rank: vertices, compute ms, ms waiting for received tensors, finish time ms."""
    rows = []
    for rank, trace in enumerate(traces):
        compute = sum(end - start for _, _, start, end in trace)
        waiting = sum(start - wait_start for _, wait_start, start, _ in trace if start - wait_start > MIN_WAIT_S)
        rows.append(
            {
                "rank": rank,
                "steps": len(trace),
                "compute_ms": compute * 1e3,
                "wait_ms": waiting * 1e3,
                "finish_ms": (trace[-1][3] * 1e3) if trace else 0.0,
            }
        )
    return rows


COMPUTE_COLOR, WAIT_COLOR = "tab:blue", "tab:orange"
BAR_HEIGHT = 0.7  # of a rank's row
HOVER_HINT = "hover view: open {} in https://ui.perfetto.dev or chrome://tracing"


def plot_timeline(traces: Sequence[Trace], title: str = ""):
    """Gantt chart, one row per rank: a blue bar per computed vertex (its name on it where
    it fits), an orange bar per wait for a received tensor (idle; "→ v": v's input), in ms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(12, 1.4 + 0.6 * len(traces)))
    labels = []  # (rank, start s, end s, text, colour) of each bar
    for rank, trace in enumerate(traces):
        waits = [(f"→ {v}", w, s) for v, w, s, _ in trace if s - w > MIN_WAIT_S]
        computed = [(str(v), s, e) for v, _, s, e in trace]
        for bars, color, text_color in ((waits, WAIT_COLOR, "black"), (computed, COMPUTE_COLOR, "white")):
            ax.barh(
                [rank] * len(bars),
                [(e - s) * 1e3 for _, s, e in bars],
                left=[s * 1e3 for _, s, _ in bars],
                height=BAR_HEIGHT,
                color=color,
                edgecolor="white",
                linewidth=0.3,
            )
            labels += [(rank, s, e, text, text_color) for text, s, e in bars]
    ax.set_yticks(range(len(traces)), [f"rank {r}" for r in range(len(traces))])
    ax.set_ylim(len(traces) - 0.5, -0.5)  # rank 0 on top
    ax.set_xlabel("time since the first rank's start signal (ms)")
    ax.set_title(title or "one distributed inference", fontsize=10)
    ax.legend(
        handles=[
            Patch(color=COMPUTE_COLOR, label="computing a vertex (name on the bar)"),
            Patch(color=WAIT_COLOR, label="idle: waiting for a tensor (→ the vertex it feeds)"),
            Patch(facecolor="white", edgecolor="0.6", label="gap: sending, bookkeeping, descheduled"),
        ],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
    )
    fig.tight_layout()
    _label_bars(ax, labels)
    return fig


def _label_bars(ax, labels: list[tuple]) -> None:
    """Each bar's text, horizontal or else upright, left out where neither fits."""
    renderer = ax.figure.canvas.get_renderer()
    to_px = ax.transData.transform
    bar_height = BAR_HEIGHT * abs(to_px((0, 1))[1] - to_px((0, 0))[1])
    for rank, start, end, text, color in labels:
        bar_width = to_px((end * 1e3, 0))[0] - to_px((start * 1e3, 0))[0]
        for rotation in (0, 90):
            label = ax.text(
                (start + end) / 2 * 1e3,
                rank,
                text,
                ha="center",
                va="center",
                rotation=rotation,
                fontsize=7,
                color=color,
            )
            box = label.get_window_extent(renderer)
            if box.width <= bar_width - 2 and box.height <= bar_height:
                break
            label.remove()


def save_timeline(
    traces: Sequence[Trace], path: str | Path, title: str = "", origins: Sequence[float] | None = None
) -> dict[str, str]:
    """Write `<path>.json` (Chrome trace) and `<path>.png` (Gantt); returns both paths."""
    traces = align(traces, origins)
    path = Path(path)
    json_path, png_path = path.with_suffix(".json"), path.with_suffix(".png")
    json_path.write_text(json.dumps(chrome_trace(traces)))
    fig = plot_timeline(traces, f"{title or 'one distributed inference'}\n{HOVER_HINT.format(json_path.name)}")
    fig.savefig(png_path, dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return {"json": str(json_path), "png": str(png_path)}
