"""Write the survey golden file: per-sample figures of a small `experiment=paper_survey`
survey, as computed by whatever code is first on sys.path (PYTHONPATH=<checkout>).

Produced once from 8a8d992 (before the survey's speed-ups), so
tests/test_partition_survey_golden.py can check the faster survey gives the same
numbers. Never regenerate it to make that test pass.

    PYTHONPATH=/tmp/survey-base python tests/data/make_survey_golden.py tests/data/survey_golden.json
"""

import inspect
import json
import sys
import tempfile

from app.config import compose, register_configs, validate
from partition.survey import run_survey, survey_settings

COLUMNS = [
    "generator", "nodes", "seed", "units", "vertices", "edges", "params", "depth",
    "cs", "comm", "comm_norm", "imbalance", "entropy", "eta", "critical_path_vertices",
    "critical_path_flops", "total_flops", "speedup_bound", "partitioner", "epsilon",
    "latency_single_s", "latency_s", "predicted_speedup", "transfers",
]  # fmt: skip
CASES = {  # name → (overrides, samples)
    "trimmed": ([], 8),  # the default survey: METIS, ε [1.1, 1.3, 2.0]
    "full": (["analysis.survey.epsilons=null"], 3),  # the full ε sweep
}


def settings_for(cfg):
    """survey_settings on any checkout: since 8a8d992 the task passes the latency model in."""
    if "latency" in inspect.signature(survey_settings).parameters:
        from hw.analyze import TargetLatency

        return survey_settings(cfg, TargetLatency(cfg.hw))
    return survey_settings(cfg)


def golden(overrides: list[str], samples: int) -> list[list]:
    with tempfile.TemporaryDirectory() as missing:  # no saved profile: the FLOPs stand-in
        cfg = validate(compose("experiment=paper_survey", f"hw.predictor={missing}/none", *overrides))
        frame = run_survey(settings_for(cfg), [40, 80], samples, seed=0, workers=1, progress=False)
    return frame[COLUMNS].to_numpy().tolist()


if __name__ == "__main__":
    register_configs()
    data = {name: golden(overrides, samples) for name, (overrides, samples) in CASES.items()}
    lines = [f'"source": {json.dumps(sys.argv[2] if len(sys.argv) > 2 else "")}', f'"columns": {json.dumps(COLUMNS)}']
    for name, rows in data.items():  # one row per line: readable diffs
        lines.append(f'"{name}": [\n' + ",\n".join(json.dumps(row) for row in rows) + "\n]")
    with open(sys.argv[1], "w") as file:
        file.write("{\n" + ",\n".join(lines) + "\n}\n")
