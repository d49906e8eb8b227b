"""`task=train`: train one architecture (sampled, or the `arch=` file) on `data` with recipe `train`."""
from app.config import Config
from app.tasks import output_dir, register_task


@register_task("train")
def run(cfg: Config) -> dict:
    from training.task import train_task

    return train_task(cfg, output_dir())
