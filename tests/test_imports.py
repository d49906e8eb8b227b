"""Analysis processes never load torch (648 MB, ~5 s per survey worker): only building and running models do."""

import subprocess
import sys
from pathlib import Path

ANALYSIS = [
    "nas",
    "nas.factory",
    "nas.arch",
    "nas.dag",
    "nas.generators",
    "nas.baselines",
    "nas.staging",
    "nas.ops",
    "nas.execute",
    "partition.analyze",
    "partition.survey",
    "hw.schedule",
    "hw.analyze",
    "hw.predictor",
    "hw.backends",
    "hw.runtime.plan",
    "search.trials",  # task=analyze resolves trial= with it
    "app.analyze",
    "app.survey",
]


def test_analysis_modules_do_not_import_torch():
    code = f"import sys, {', '.join(ANALYSIS)}; assert 'torch' not in sys.modules, 'torch was imported'"
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def test_building_a_model_does():  # the check above can fail: building imports torch
    code = "import sys, nas.builder; assert 'torch' in sys.modules"
    assert (
        subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], check=False).returncode
        == 0
    )
