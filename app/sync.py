"""`task=sync`: log to MLflow the trials a search kept only in its Optuna storage (MLflow was down)."""

from app.config import Config
from app.tasks import register_task


@register_task("sync")
def run(cfg: Config) -> dict:
    from search.sync import sync_task

    return sync_task(cfg)
