"""`task=analyze`: build (or load) one architecture, save it, report its size and costs.

The work is `search.analysis.analyze_architecture`, shared with search trials.
"""
from app.config import Config
from app.tasks import output_dir, register_task


@register_task("analyze")
def run(cfg: Config) -> dict:
    from nas.factory import architecture_from_config
    from search.analysis import analyze_architecture

    return analyze_architecture(architecture_from_config(cfg), cfg, output_dir())
