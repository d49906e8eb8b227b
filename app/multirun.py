"""One table of a multirun's jobs (`python run.py -m ...`), on stderr once all have run.

A Hydra callback (registered in conf/config.yaml under `hydra.callbacks`): each job's
return value (run.py's result dict) is kept as the job ends and, when the sweep is over,
printed as a row — the overrides that differ between jobs, the task and the human
summary's fields (`partition.summary`). It sees the returns of jobs that run in this
process (Hydra's basic launcher); a sweep whose job fails stops before the table.
"""

from __future__ import annotations

import sys
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from partition.summary import LINES, summary_fields


def jobs_table(jobs: list[tuple[list[str], str, dict]]) -> tuple[str, list[str]]:
    """(overrides, task, result) per job → a markdown table and the overrides all jobs share."""
    import pandas as pd  # here: every run instantiates the callback, few print a table

    common = [o for o in jobs[0][0] if all(o in overrides for overrides, _, _ in jobs)] if jobs else []
    rows = [
        {
            "overrides": " ".join(o for o in overrides if o not in common or len(jobs) == 1),
            "task": task,
            **summary_fields(result if isinstance(result, dict) else {}),
        }
        for overrides, task, result in jobs
    ]
    frame = pd.DataFrame(rows)
    columns = ["overrides", "task"] + [label for label, _ in LINES if label in frame]  # the summary's order
    return frame[columns].fillna("").to_markdown(index=False, disable_numparse=True), common  # as formatted


class MultirunSummary(Callback):
    """Collect each job's result as it ends; print the jobs' table when the sweep ends."""

    def __init__(self) -> None:
        self.jobs: list[tuple[list[str], str, dict]] = []

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if job_return.status == JobStatus.COMPLETED:
            self.jobs.append((list(job_return.overrides or []), str(config.get("task")), job_return.return_value))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.jobs:
            return
        table, common = jobs_table(self.jobs)
        shared = f"; all with {' '.join(common)}" if common and len(self.jobs) > 1 else ""
        print(f"\nmultirun: {len(self.jobs)} jobs{shared}\n{table}", file=sys.stderr)
