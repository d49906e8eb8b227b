"""`task=deploy`: run one architecture on local gloo workers; measured vs predicted latency.

`trial=<study>:<number>` (or its MLflow run id) deploys a search trial: its architecture
and trained state_dict become `arch` and `deploy.weights`.
"""

from dataclasses import replace

from app.config import Config
from app.tasks import output_dir, register_task


@register_task("deploy")
def run(cfg: Config) -> dict:
    from hw.runtime.task import deploy_task
    from hw.runtime.weights import read_state_dict
    from nas.checks import require
    from search.trials import with_trial

    require(not (cfg.trial and cfg.deploy.weights), "give deploy.weights=<state_dict file> or trial=, not both")
    cfg, found = with_trial(cfg)
    if found is not None:
        cfg = replace(cfg, deploy=replace(cfg.deploy, weights=str(found.weights_path)))
    elif cfg.deploy.weights:
        read_state_dict(cfg.deploy.weights)  # a pickled model or another file: one line now, not in the workers
    result = deploy_task(cfg, output_dir())
    return result if found is None else {**result, "trial": found.to_json()}
