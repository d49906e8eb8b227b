"""`task=analyze`: build (or load, or take a trial's) architecture, save it, report its size and costs.

The work is `search.analysis.analyze_architecture`, shared with search trials.
"""

from app.config import Config
from app.tasks import output_dir, register_task


@register_task("analyze")
def run(cfg: Config) -> dict:
    from nas.factory import architecture_from_config
    from search.analysis import analyze_architecture
    from search.trials import with_trial

    cfg, found = with_trial(cfg, weights=False)
    result = analyze_architecture(architecture_from_config(cfg), cfg, output_dir())
    return result if found is None else {**result, "trial": found.to_json()}
