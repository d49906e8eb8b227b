"""Shared set-up of the reliability tests: a tiny search on files in a temp folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
from mlflow.tracking import MlflowClient

from app.config import validate
from search.storage import create_storage
from tests.conftest import compose_config

ROOT = Path(__file__).resolve().parents[1]
STUDY = "rel"


def tiny_overrides(tmp_path: Path, *extra: str, storage: str | None = None, mlflow: str | None = None) -> list[str]:
    """A fast search: tiny architectures, one epoch on 30 % of digits, no logged models."""
    return [
        f"search.storage={storage or tmp_path / 'optuna.journal'}",
        f"search.mlflow.tracking_uri={mlflow or f'sqlite:///{tmp_path}/mlflow.db'}",
        f"search.artifacts_dir={tmp_path}/artifacts",
        f"search.study_name={STUDY}",
        "search.sampler=random",
        "search.n_trials=2",
        "train.epochs=1",
        "data.fraction=0.3",
        "space.nodes={low:4,high:6}",
        "staging.channels=8",
        "staging.max_channels=16",
        "search.mlflow.log_models=false",
        *extra,
    ]


def tiny_config(tmp_path: Path, *extra: str, **kw):
    return validate(compose_config(*tiny_overrides(tmp_path, *extra, **kw), tiny=False))


def trials(storage: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=STUDY, storage=create_storage(storage, heartbeat_interval=None)).get_trials()


def nested_runs(tracking_uri: str, parent_id: str | None = None) -> tuple[list, list]:
    """(parent runs, nested runs) of the test study's experiment."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("concurrent-nas")
    if experiment is None:
        return [], []
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [
        r
        for r in runs
        if "mlflow.parentRunId" in r.data.tags and (parent_id is None or r.data.tags["mlflow.parentRunId"] == parent_id)
    ]
    return parents, children


def run_py(*args: str, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    """`python run.py <args>` as a user would type it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, **kw
    )


def popen_run_py(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "run.py", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


def analysis_only(monkeypatch, accuracy=lambda arch: 50.0 + arch.number_of_nodes()) -> None:
    """Trials run the real analysis (files, partition, memory) with training replaced by a
    made-up accuracy: the search's bookkeeping in seconds."""
    import search.study
    from search.analysis import analyze_architecture

    def evaluate(arch, cfg, out_dir, *args):
        acc = accuracy(arch)
        return {**analyze_architecture(arch, cfg, out_dir), "test_acc": acc, "val_acc": acc, "train_seconds": 1.5}, None

    monkeypatch.setattr(search.study, "evaluate", evaluate)


def start_mlflow_server(backend_uri: str, artifacts: Path, port: int, log_path: Path) -> subprocess.Popen:
    """`mlflow server` on `backend_uri`, answering on 127.0.0.1:`port` once this returns
    (its output appended to `log_path`, shown if it dies while starting)."""
    import time
    import urllib.request

    log = open(log_path, "a")  # noqa: SIM115 -- the server writes to it until it is stopped
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--backend-store-uri",
            backend_uri,
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()  # the child holds its own copy
    deadline = time.monotonic() + 300
    while True:
        assert server.poll() is None, log_path.read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                if reply.status == 200:
                    return server
        except OSError:
            pass
        assert time.monotonic() < deadline, "mlflow server did not start"
        time.sleep(0.5)


def stop_mlflow_server(server: subprocess.Popen) -> None:
    import signal

    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=60)
