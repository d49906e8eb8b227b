"""`analysis.partitioners=[best]` (the default): KaHyPar when installed, else METIS with a warning."""

import logging

import pytest

from partition import partitioners
from partition.config import AnalysisConfig


@pytest.fixture
def fresh_choice():
    partitioners._best_available.cache_clear()
    yield
    partitioners._best_available.cache_clear()


def test_best_is_kahypar_when_installed(fresh_choice, monkeypatch):
    monkeypatch.setattr(partitioners, "kahypar_available", lambda: True)
    assert AnalysisConfig().partitioners == ["kahypar"]
    assert AnalysisConfig(partitioners=["best", "heuristic"]).partitioners == ["kahypar", "heuristic"]


def test_best_falls_back_to_metis_with_one_warning(fresh_choice, monkeypatch, caplog):
    monkeypatch.setattr(partitioners, "kahypar_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="partition.partitioners"):
        assert AnalysisConfig().partitioners == ["metis"]
        assert AnalysisConfig().partitioners == ["metis"]
    assert [r.getMessage() for r in caplog.records] == [
        "analysis.partitioners: best = metis (kahypar is not installed: pip install '.[kahypar]')"
    ]


def test_the_real_choice_follows_the_installed_packages(fresh_choice):
    expected = "kahypar" if partitioners.kahypar_available() else "metis"
    assert AnalysisConfig().partitioners == [expected]
