"""`task=deploy`: run one architecture on local gloo workers; measured vs predicted latency."""
from app.config import Config
from app.tasks import output_dir, register_task


@register_task("deploy")
def run(cfg: Config) -> dict:
    from hw.runtime.task import deploy_task

    return deploy_task(cfg, output_dir())
