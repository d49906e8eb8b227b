"""`run.py ... | head` / `| true`: a closed stdout ends the output quietly, with the task's exit code."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_into_closed_pipe(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    """run.py with stdout a pipe whose reader has already gone (as `| true` leaves it)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, str(ROOT / "run.py"), *overrides],
            cwd=tmp_path,  # no latency profile here: analyze logs a warning (a log record to stdout)
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "overrides, code",
    [
        (("task=analyze", "nodes=6"), 0),
        (("-m", "task=analyze", "nodes=5,6"), 0),  # Hydra's own log lines too
        (("task=analyze", "nodes=-3"), 2),  # a user error keeps its one line and code
    ],
)
def test_a_closed_stdout_is_quiet(tmp_path, overrides, code):
    done = run_into_closed_pipe(tmp_path, *overrides)
    assert done.returncode == code, done.stderr
    for noise in ("Logging error", "Traceback", "Error executing job", "BrokenPipeError", "Exception ignored"):
        assert noise not in done.stderr, done.stderr
    if code:
        assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
            "error: nodes must be >= 2, got -3"
        ]
    else:
        assert list(tmp_path.rglob("*.json")), "the task's files are written all the same"
