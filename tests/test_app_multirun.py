"""A multirun ends with one table of its jobs on stderr (app/multirun.py)."""

import subprocess
import sys
from pathlib import Path

from app.multirun import jobs_table

ROOT = Path(__file__).resolve().parents[1]


def test_table_keeps_the_overrides_that_differ_and_the_summary_fields():
    jobs = [
        (["task=analyze", "nodes=8"], "analyze", {"vertices": 8, "cs": 2.0}),
        (["task=analyze", "nodes=16"], "analyze", {"vertices": 16, "cs": 3.0, "eta": 1.5}),
        (["task=survey"], "survey", None),
    ]
    table, common = jobs_table(jobs[:2])
    header, _, first, second = ([c.strip() for c in line.strip("|").split("|")] for line in table.splitlines())
    assert common == ["task=analyze"] and header == ["overrides", "task", "architecture", "η", "CS"]
    assert first == ["nodes=8", "analyze", "8 vertices", "", "2.000"]  # no η in that result: an empty cell
    assert second == ["nodes=16", "analyze", "16 vertices", "1.50", "3.000"]
    assert jobs_table(jobs[2:])[0].splitlines()[2].split("|")[1:3] == [" task=survey ", " survey "]


def test_multirun_of_two_analyze_jobs_prints_one_table_of_both(tmp_path):
    run = subprocess.run(
        [sys.executable, "run.py", "-m", "task=analyze", "nodes=8,16", "input_size=16", f"hydra.sweep.dir={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    tail = run.stderr[run.stderr.index("multirun: 2 jobs") :].splitlines()
    assert tail[0] == "multirun: 2 jobs; all with task=analyze input_size=16"
    assert [c.strip() for c in tail[1].strip("|").split("|")][:4] == ["overrides", "task", "architecture", "units"]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in tail[3:5]]
    assert [row[:2] for row in rows] == [["nodes=8", "analyze"], ["nodes=16", "analyze"]]
    assert rows[0][2].startswith("dp, 8 vertices") and rows[1][2].startswith("dp, 16 vertices")
    assert len(tail) == 5  # the table is the last thing printed


def test_a_search_jobs_row_shows_its_study_counts_and_best_objectives():
    result = {"study": "dp-greedy-digits-local", "complete": 6, "failed": 1, "best_accuracy": 97.5, "best_cs": 1.84}
    table, _ = jobs_table([(["generator=dp"], "search", result), (["generator=er"], "search", {})])
    header, _, first, second = ([c.strip() for c in line.strip("|").split("|")] for line in table.splitlines())
    assert header == ["overrides", "task", "search"]
    assert first[2] == "dp-greedy-digits-local, 6 complete, 1 failed, best accuracy 97.50 %, best CS 1.840"
    assert second[2] == ""  # a job whose result has none of them: an empty cell
