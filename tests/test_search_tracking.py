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
