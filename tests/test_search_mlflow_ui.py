"""The MLflow UI shows a study's runs, a trial run and its Pareto front; optuna-dashboard
shows the Pareto front with the objectives' names (headless Chromium)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_search_study import run

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_mlflow_ui_shows_the_study(tmp_path):
    run(tmp_path, "search.n_trials=2", "search.mlflow.log_models=false")
    out = tmp_path / "ui.png"
    shot = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "mlflow_ui_screenshot.py"),
            "--store",
            f"sqlite:///{tmp_path}/mlflow.db",
            "--out",
            str(out),
            "--expect",
            "tiny",
            "--optuna",
            f"sqlite:///{tmp_path}/optuna.db",
            "--study",
            "tiny",
            "--expect-optuna",
            "accuracy",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    result = json.loads(shot.stdout.strip().splitlines()[-1])
    # the study's parent run is listed on the runs page; the dashboard names the objectives
    assert result["found"] == {"tiny": True, "optuna:accuracy": True}
    assert len(result["screenshots"]) == 4  # runs table, parent's Pareto front, a trial run, the dashboard
    for png in result["screenshots"]:
        assert Path(png).stat().st_size > 20_000  # a rendered page, not a blank one
