"""Read-only tasks never create a storage; study names with quotes survive MLflow filters."""

from __future__ import annotations

import warnings

import pytest
from mlflow.tracking import MlflowClient

from app.config import validate
from search.report import report_task
from search.sync import sync_task
from search.tracking import PARENT_TAG, Tracker, quoted
from tests.conftest import compose_config


@pytest.mark.parametrize("task", [report_task, lambda cfg, _: sync_task(cfg)])
@pytest.mark.parametrize("storage", ["optuna.jornal.journal", "sqlite:///{tmp}/optuna.bd"])
def test_a_mistyped_storage_is_an_error_not_a_new_file(tmp_path, task, storage):
    url = storage.format(tmp=tmp_path) if "{tmp}" in storage else str(tmp_path / storage)
    cfg = validate(
        compose_config(
            "task=report",
            f"search.storage={url}",
            "search.study_name=s",
            f"search.mlflow.tracking_uri=sqlite:///{tmp_path}/mlflow.db",
        )
    )
    with pytest.raises(FileNotFoundError) as err:
        task(cfg, tmp_path / "out")
    assert str(err.value) == f"search.storage {url} does not exist; point search.storage at the search's storage"
    assert list(tmp_path.iterdir()) == []


def test_a_study_name_with_a_quote_keeps_its_one_parent_run(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "MLflow unavailable" would be a bad filter
        first = Tracker(uri, "concurrent-nas", "o'brien", {})
        second = Tracker(uri, "concurrent-nas", "o'brien", {})
    assert first.available and second.parent_id == first.parent_id
    experiment = MlflowClient(uri).get_experiment_by_name("concurrent-nas")
    runs = MlflowClient(uri).search_runs(
        [experiment.experiment_id], filter_string=f"tags.`{PARENT_TAG}` = {quoted('o' + chr(39) + 'brien')}"
    )
    assert [r.info.run_id for r in runs] == [first.parent_id]


def test_quoted_picks_the_quote_the_value_lacks():
    assert quoted("o'brien") == '"o\'brien"' and quoted('say "hi"') == "'say \"hi\"'"
    with pytest.raises(ValueError, match="holds both"):
        quoted('o\'brien "jr"')
