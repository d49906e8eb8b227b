"""`task=profile`: time this machine's ops (hw=local) and save the latency predictor to `hw.predictor`."""

from app.config import Config
from app.tasks import register_task


@register_task("profile")
def run(cfg: Config) -> dict:
    from hw.task import profile_task

    return profile_task(cfg)
