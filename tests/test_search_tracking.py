"""What MLflow says when a trial's model is logged: its pickle warning is not silenced."""

import logging

import numpy as np
import torch

from search.tracking import Tracker


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_mlflows_pickle_warning_reaches_the_user(tmp_path):
    """A pickled model runs code when loaded: MLflow warns, and the project lets it
    (reloading a trial safely is architecture.json + weights.pt, README)."""
    tracker = Tracker(f"sqlite:///{tmp_path}/mlflow.db", "exp", "study", {})
    run_id = tracker.start_trial(0, {})
    records = Records()
    logger = logging.getLogger("mlflow.pytorch")  # MLflow's loggers do not propagate to the root
    logger.addHandler(records)
    try:
        tracker.log_model(run_id, torch.nn.Linear(4, 2), np.zeros((1, 4), dtype=np.float32))
    finally:
        logger.removeHandler(records)
    assert tracker.available
    assert any("Pickle" in message and "arbitrary code" in message for message in records.messages), records.messages


def test_a_study_name_in_another_storage_gets_its_own_parent_run(tmp_path, monkeypatch):
    """Same name, other storage: another study, so another parent run; the same storage
    reached through another relative path resumes its own."""
    from search.storage import storage_label
    from search.tracking import STORAGE_TAG

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()

    def parent(storage: str) -> str | None:
        return Tracker(uri, "exp", "study", {STORAGE_TAG: storage_label(storage)}).parent_id

    sqlite, journal = parent("sqlite:///optuna.db"), parent("optuna.journal")
    assert sqlite and journal and sqlite != journal
    monkeypatch.chdir(tmp_path / "sub")
    assert parent("sqlite:///../optuna.db") == sqlite and parent("../optuna.journal") == journal
    assert storage_label("postgresql://user:secret@db/optuna") == "postgresql://user:***@db/optuna"
