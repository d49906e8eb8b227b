"""Task functions dispatched by `run.py`: each takes the composed config, returns a dict."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from nas.registry import Registry, UnknownNameError
from search.errors import SearchError, SearchInterrupted

# Errors that mean "bad input" (config values, files, paths), or a search stopped on
# purpose (too many failed trials, a lost worker, Ctrl-C): reported as one line.
USER_ERRORS = (ValueError, UnknownNameError, FileNotFoundError, NotImplementedError, SearchError, SearchInterrupted)

TASKS: Registry[Callable[..., dict]] = Registry("task")
register_task = TASKS.register


def output_dir() -> Path:
    """Hydra's run directory when running under Hydra, else the working directory."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path.cwd()


@register_task("analyze")
def analyze(cfg: Any) -> dict:
    """Build (or load) one architecture, save it, and report its size and costs.

    The work is `search.analysis.analyze_architecture`, shared with search trials.
    """
    from nas.config import architecture_from_config
    from search.analysis import analyze_architecture

    return analyze_architecture(architecture_from_config(cfg), cfg, output_dir())


@register_task("survey")
def survey(cfg: Any) -> dict:
    """The paper's no-training sampling study of concurrency (analysis.survey settings)."""
    from partition.survey import survey_task

    return survey_task(cfg, output_dir())


@register_task("train")
def train(cfg: Any) -> dict:
    """Train one architecture (sampled, or the `arch=` file) on `data` with recipe `train`."""
    from training.task import train_task

    return train_task(cfg, output_dir())


@register_task("search")
def search(cfg: Any) -> dict:
    """Run (or resume) one Optuna study; see search/study.py."""
    from search.study import run_search

    return run_search(cfg)


@register_task("sync")
def sync(cfg: Any) -> dict:
    """Log to MLflow the trials a search kept only in its Optuna storage (MLflow was down)."""
    from search.sync import sync_task

    return sync_task(cfg)


@register_task("report")
def report(cfg: Any) -> dict:
    """The paper's Tables V/VI from a study storage (or an MLflow experiment)."""
    from search.report import report_task

    return report_task(cfg, output_dir())


@register_task("deploy")
def deploy(cfg: Any) -> dict:
    """Run one architecture on `deploy.workers` local gloo workers; measured vs predicted latency."""
    from hw.runtime.task import deploy_task

    return deploy_task(cfg, output_dir())


@register_task("profile")
def profile(cfg: Any) -> dict:
    """Measure this machine's op latencies (hw=local) and save the latency predictor to hw.predictor."""
    from hw.task import profile_task

    return profile_task(cfg)
