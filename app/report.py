"""`task=report`: the paper's Tables V/VI from a study storage (or an MLflow experiment)."""

from app.config import Config
from app.tasks import output_dir, register_task


@register_task("report")
def run(cfg: Config) -> dict:
    from search.report import report_task

    return report_task(cfg, output_dir())
