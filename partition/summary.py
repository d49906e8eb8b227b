"""A task's result as a few aligned lines for a person (stderr), before its JSON line.

Generic over tasks: each line lists the parts whose keys the result has (dotted keys
reach into nested dicts, `a|b` tries `a` then `b`), and a line with no part is left out,
so `task=analyze`, `task=deploy` and `task=search` share it and other tasks print nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO


def human_bytes(n: float) -> str:
    """1536 → '1.5 KiB' (binary units: tensors are sized in powers of two)."""
    if abs(n) < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):  # noqa: B007 -- the unit the loop stops at is printed after it
        n /= 1024
        if abs(n) < 1024:
            break
    return f"{n:.1f} {unit}"


def _si(n: float) -> str:
    """9220352 → '9.22M' (decimal prefixes, as parameter and MAC counts are quoted)."""
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.3g}{prefix}"
    return f"{n:g}"


Part = tuple[str, str, Callable[[Any], str]]  # key(s), template, value formatter
LINES: tuple[tuple[str, tuple[Part, ...]], ...] = (
    (
        "search",
        (
            ("study", "{}", str),
            ("complete", "{} complete", str),
            ("failed", "{} failed", str),
            ("best_accuracy", "best accuracy {} %", "{:.2f}".format),
            ("best_cs", "best CS {}", "{:.3f}".format),
            ("best_latency", "best latency {} ms", "{:.4g}".format),
            ("best_params", "fewest params {}", _si),
        ),
    ),
    (
        "architecture",
        (
            ("generator", "{}", str),
            ("vertices", "{} vertices", str),
            ("edges", "{} edges", str),
            ("params", "{} params", _si),
            ("macs", "{} MACs", _si),
        ),
    ),
    (
        "units",
        (
            ("units|workers", "{}", str),
            ("hw.units_used", "{} used", str),
            ("hw.target", "target {}", str),
            ("partitioner|partition.partitioner", "partitioner {}", str),
            ("epsilon|partition.epsilon", "ε {}", str),
        ),
    ),
    (
        "η",
        (("eta|partition.eta", "{}", "{:.2f}".format), ("depth", "depth {}", str), ("max_width", "max width {}", str)),
    ),
    ("CS", (("cs|partition.cs", "{}", "{:.3f}".format),)),
    ("Λ", (("comm|partition.comm", "{}", human_bytes), ("comm_norm|partition.comm_norm", "Λ′ {}", "{:.2f}".format))),
    ("imbalance", (("imbalance|partition.imbalance", "δw {}", "{:.3f}".format),)),
    (
        "predicted",
        (
            ("predicted_latency_ms", "{} ms on 1 unit", "{:.4g}".format),
            ("predicted_distributed_ms", "{} ms distributed", "{:.4g}".format),
            ("predicted_speedup", "speed-up {}×", "{:.2f}".format),
        ),
    ),
    (
        "measured",
        (
            ("measured_single.median_ms", "{} ms on 1 unit", "{:.4g}".format),
            ("measured.median_ms", "{} ms distributed", "{:.4g}".format),
            ("measured_speedup", "speed-up {}×", "{:.2f}".format),
        ),
    ),
)


def _lookup(result: Mapping, keys: str) -> Any:
    for key in keys.split("|"):
        value: Any = result
        for step in key.split("."):
            value = value.get(step) if isinstance(value, Mapping) else None
        if value is not None:
            return value
    return None


def summary_fields(result: Mapping) -> dict[str, str]:
    """Label → text of the `LINES` whose keys `result` has (the columns of a multirun's table)."""
    fields = {}
    for label, parts in LINES:
        found = [
            (template, fmt(value)) for keys, template, fmt in parts if (value := _lookup(result, keys)) is not None
        ]
        if found:
            fields[label] = ", ".join(template.format(text) for template, text in found)
    return fields


def summary_lines(result: Mapping) -> list[str]:
    """The aligned lines of the `LINES` whose keys `result` has (none: an empty list)."""
    fields = summary_fields(result)
    width = max(map(len, fields), default=0)
    return [f"{label:<{width}}  {text}" for label, text in fields.items()]


def print_summary(result: Mapping, file: TextIO | None = None) -> None:
    """Print `summary_lines(result)` (to stderr: stdout's last line stays the JSON)."""
    for line in summary_lines(result):
        print(line, file=file or sys.stderr)
