"""`task=search`: run (or resume) one Optuna study; see search/study.py.

`search.n_workers` > 1 starts that many worker processes on the study (search/workers.py);
`search.worker=i` makes this process one of several started elsewhere.
"""
from app.config import Config
from app.tasks import register_task


@register_task("search")
def run(cfg: Config) -> dict:
    if cfg.search.n_workers > 1 and cfg.search.worker is None:
        from search.workers import run_workers

        return run_workers(cfg)
    from search.study import run_search

    return run_search(cfg)
