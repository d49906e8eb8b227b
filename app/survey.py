"""`task=survey`: the paper's no-training sampling study of concurrency (`analysis.survey`)."""

from app.config import Config
from app.tasks import output_dir, register_task


@register_task("survey")
def run(cfg: Config) -> dict:
    from hw.analyze import TargetLatency
    from partition.survey import survey_task

    return survey_task(cfg, output_dir(), TargetLatency(cfg.hw))
