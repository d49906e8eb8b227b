"""`task=train`: train one architecture (sampled, the `arch=` file, or a `trial=`'s, from its
weights: fine-tuning; `train.epochs=0` only tests them) on `data` with recipe `train`."""

from app.config import Config
from app.tasks import output_dir, register_task


@register_task("train")
def run(cfg: Config) -> dict:
    from search.trials import with_trial
    from training.task import train_task

    cfg, found = with_trial(cfg)
    if found is None:
        return train_task(cfg, output_dir())
    return {**train_task(cfg, output_dir(), weights=found.weights_path), "trial": found.to_json()}
