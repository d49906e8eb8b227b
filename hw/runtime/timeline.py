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
    return [[(v, w + o - first, s + o - first, e + o - first) for v, w, s, e in trace]
            for trace, o in zip(traces, origins, strict=True)]


def chrome_trace(traces: Sequence[Trace]) -> dict:
    """Trace Event Format: one thread per rank, an event per vertex and per wait."""
    events = []
    for rank, trace in enumerate(traces):
        events.append({"name": "thread_name", "ph": "M", "pid": 0, "tid": rank, "args": {"name": f"rank {rank}"}})
        for vertex, wait_start, start, end in trace:
            if start - wait_start > MIN_WAIT_S:
                events.append({"name": f"wait → {vertex}", "cat": "wait", "ph": "X", "pid": 0, "tid": rank,
                               "ts": wait_start * 1e6, "dur": (start - wait_start) * 1e6})
            events.append({"name": str(vertex), "cat": "compute", "ph": "X", "pid": 0, "tid": rank,
                           "ts": start * 1e6, "dur": (end - start) * 1e6})
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def summarize(traces: Sequence[Trace]) -> list[dict]:
    """Per rank: vertices, compute ms, ms waiting for received tensors, finish time ms."""
    rows = []
    for rank, trace in enumerate(traces):
        compute = sum(end - start for _, _, start, end in trace)
        waiting = sum(start - wait_start for _, wait_start, start, _ in trace if start - wait_start > MIN_WAIT_S)
        rows.append({"rank": rank, "steps": len(trace), "compute_ms": compute * 1e3, "wait_ms": waiting * 1e3,
                     "finish_ms": (trace[-1][3] * 1e3) if trace else 0.0})
    return rows


def save_timeline(traces: Sequence[Trace], path: str | Path, title: str = "",
                  origins: Sequence[float] | None = None) -> dict[str, str]:
    """Write `<path>.json` (Chrome trace) and `<path>.png` (Gantt); returns both paths."""
    traces = align(traces, origins)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    json_path, png_path = path.with_suffix(".json"), path.with_suffix(".png")
    json_path.write_text(json.dumps(chrome_trace(traces)))
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.6 * len(traces)))
    for rank, trace in enumerate(traces):
        ax.broken_barh([(s * 1e3, (e - s) * 1e3) for _, _, s, e in trace], (rank - 0.35, 0.7),
                       facecolors="tab:blue", edgecolor="white", linewidth=0.3)
        waits = [(w * 1e3, (s - w) * 1e3) for _, w, s, _ in trace if s - w > MIN_WAIT_S]
        ax.broken_barh(waits, (rank - 0.35, 0.7), facecolors="tab:orange", alpha=0.7)
    ax.set_yticks(range(len(traces)), [f"rank {r}" for r in range(len(traces))])
    ax.set_xlabel("ms since the start signal (blue: computing a vertex, orange: waiting for a tensor)")
    ax.set_title(title or "one distributed inference")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return {"json": str(json_path), "png": str(png_path)}
