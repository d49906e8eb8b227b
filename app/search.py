"""`task=search`: run (or resume) one Optuna study (search/study.py) in this process, or in
`search.n_workers` > 1 worker processes (search/workers.py) unless it is `search.worker=i` of several."""

from app.config import Config
from app.tasks import register_task


@register_task("search")
def run(cfg: Config) -> dict:
    if cfg.search.n_workers > 1 and cfg.search.worker is None:
        from search.workers import run_workers

        return run_workers(cfg)
    from search.study import run_search

    return run_search(cfg)
