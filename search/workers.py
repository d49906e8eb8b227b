"""`search.n_workers=N`: N worker processes share one study on this machine.

The launcher checks the inputs, creates the study and the MLflow parent run, and
enqueues the baselines *before* any worker starts (so no two workers race to create
them); each worker then runs `search.n_trials / N` trials of the same study (with
`search.total_trials`: every worker adds trials until the study has that many). Workers
are spawned (not forked: torch threads and database connections do not survive a
fork) in their own process group, so Ctrl-C reaches the launcher, which forwards one
SIGINT to each worker: every worker records its running trial FAIL and stops.

Storage: a `.journal` file (or a database server). SQLite is refused for several
workers (it locks); see search/preflight.py. On a cluster, start one process per
node with `python run.py -m search.worker=0,1,…` (Hydra's submitit launcher) on a
PostgreSQL storage instead; see the README's "Scaling out".
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import signal
import sys
import time
from typing import Any

from nas.checks import INPUT_ERRORS
from search.errors import SearchError, SearchInterrupted, StudyFailedError, WorkerError
from search.study import Search

EXIT_INTERRUPTED = 130
STOP_GRACE_S = 120  # after Ctrl-C, how long workers get to record their trial before SIGTERM


def shares(n_trials: int, n_workers: int) -> list[int]:
    """Trials per worker: as even as possible, all of them assigned."""
    return [n_trials // n_workers + (i < n_trials % n_workers) for i in range(n_workers)]


def worker_config(cfg: Any, index: int, n_trials: int) -> Any:
    cfg = copy.deepcopy(cfg)
    cfg.search.worker, cfg.search.n_trials = index, n_trials
    return cfg


def worker_main(cfg: Any, reports: Any) -> None:
    """One worker process: its share of trials; reports (index, kind, message) on exit."""
    os.setpgrp()  # Ctrl-C goes to the launcher, which forwards it once
    index = cfg.search.worker
    if not cfg.train.threads:  # share the cores instead of oversubscribing them
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // cfg.search.n_workers))
    kind, message, code = "ok", "", 0
    try:
        search = Search(cfg)
        search.optimize()
        search.raise_if_stopped()
    except SearchInterrupted as err:
        kind, message, code = "interrupted", str(err), EXIT_INTERRUPTED
    except KeyboardInterrupt:  # before its first trial (still importing, opening the study)
        kind, message, code = "interrupted", "interrupted (Ctrl-C) before its first trial", EXIT_INTERRUPTED
    except StudyFailedError as err:
        kind, message, code = "failed", str(err), 3
    except (*INPUT_ERRORS, SearchError) as err:
        kind, message, code = "input", str(err), 2
    except BaseException as err:  # noqa: BLE001  (reported to the launcher, then re-raised)
        kind, message, code = "crashed", f"{type(err).__name__}: {err}".splitlines()[0], 1
        reports.put((index, kind, message))
        raise
    reports.put((index, kind, message))
    sys.stdout.flush()
    sys.exit(code)


def wait_all(processes: list[Any]) -> None:
    for process in processes:
        process.join()


def stop_all(processes: list[Any], grace_s: float = STOP_GRACE_S) -> None:
    """One SIGINT each (the running trial is recorded FAIL), then SIGTERM stragglers."""
    for process in processes:
        if process.is_alive():
            os.kill(process.pid, signal.SIGINT)
    deadline = time.monotonic() + grace_s
    try:
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:  # a second Ctrl-C: do not wait
        pass
    for process in processes:
        if process.is_alive():
            process.terminate()  # its trial stays RUNNING until the heartbeat check fails it
            process.join()


def run_workers(cfg: Any) -> dict:
    """The study with `search.n_workers` processes; returns the study summary."""
    launcher = Search(cfg)  # inputs checked, study + MLflow parent run created, baselines enqueued
    launcher.runner.datamodule = None  # the workers load their own copy
    launcher.planned = launcher.remaining_trials()  # the launcher judges the run (finish: none completed?)
    context = multiprocessing.get_context("spawn")
    reports = context.SimpleQueue()
    processes = [
        context.Process(target=worker_main, args=(worker_config(cfg, i, n), reports), name=f"search-worker-{i}")
        for i, n in enumerate(shares(launcher.planned, cfg.search.n_workers))
        if n > 0
    ]
    for process in processes:
        process.start()
    try:
        wait_all(processes)
    except KeyboardInterrupt:
        launcher.interrupted = True
        stop_all(processes)
    results: dict[int, tuple[str, str]] = {}
    while not reports.empty():
        index, kind, message = reports.get()
        results[index] = (kind, message)
    launcher.interrupted |= any(kind == "interrupted" for kind, _ in results.values())
    if not any(kind == "failed" for kind, _ in results.values()):
        launcher.recover_lost()  # a worker killed meanwhile left its trial RUNNING
    summary = launcher.finish(close=True)  # raises SearchInterrupted after Ctrl-C
    summary["workers"] = [{"worker": int(p.name.rsplit("-", 1)[1]), "exit_code": p.exitcode} for p in processes]
    raise_worker_errors(processes, results)
    return summary


def raise_worker_errors(processes: list[Any], results: dict[int, tuple[str, str]]) -> None:
    for process in processes:
        index = int(process.name.rsplit("-", 1)[1])
        kind, message = results.get(index, ("lost", ""))
        if kind == "ok" and process.exitcode == 0:
            continue
        if kind == "failed":
            raise StudyFailedError(f"worker {index}: {message}")
        if kind == "input":
            raise ValueError(f"worker {index}: {message}")
        if kind == "lost":
            how = f"signal {-process.exitcode}" if (process.exitcode or 0) < 0 else f"exit code {process.exitcode}"
            raise WorkerError(
                f"worker {index} died ({how}); completed trials are kept and its running trial is "
                "failed and retried once its heartbeat is stale; rerun to finish the study"
            )
        raise WorkerError(f"worker {index} crashed: {message}")
