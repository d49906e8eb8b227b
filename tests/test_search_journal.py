"""A journal cut mid-record (full disk, power cut) keeps every complete trial and takes new ones."""

from __future__ import annotations

import logging

import optuna
import pytest

from search.storage import create_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _search(path, n_trials: int) -> optuna.Study:
    study = optuna.create_study(
        study_name="cut", storage=create_storage(str(path), heartbeat_interval=None), load_if_exists=True
    )
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=n_trials)
    return study


def _complete(path) -> list[tuple[int, float]]:
    study = optuna.load_study(study_name="cut", storage=create_storage(str(path), heartbeat_interval=None))
    return [(t.number, t.params["x"]) for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]


def test_a_cut_journal_keeps_its_complete_trials_and_appends_new_ones(tmp_path, caplog):
    path = tmp_path / "optuna.journal"
    study = _search(path, 2)
    study.ask()  # the crash hits while the third trial's records are written
    before = _complete(path)
    data = path.read_bytes()
    path.write_bytes(data[:-7])

    with caplog.at_level(logging.WARNING, logger="search.journal"):
        _search(path, 2)

    after = _complete(path)
    assert len(before) == 2 and after[:2] == before and len(after) == 4  # nothing lost, 2 appended
    backups = list(tmp_path.glob("optuna.journal.tail-*"))
    assert len(backups) == 1 and data[:-7].endswith(backups[0].read_bytes())
    assert [r for r in caplog.records if str(backups[0]) in r.getMessage()]
    assert path.read_bytes().endswith(b"\n")


def test_a_journal_cut_inside_a_completion_record_keeps_the_other_trials(tmp_path):
    path = tmp_path / "optuna.journal"
    _search(path, 2)
    path.write_bytes(path.read_bytes()[:-3])  # trial 1's COMPLETE record is the one cut
    _search(path, 1)
    assert [n for n, _ in _complete(path)] == [0, 2]  # trial 1 never reached the disk as complete


def test_a_broken_line_in_the_middle_is_refused_in_one_line(tmp_path):
    path = tmp_path / "optuna.journal"
    _search(path, 1)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1][:10] + b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(ValueError) as err:
        create_storage(str(path), heartbeat_interval=None)
    message = str(err.value)
    assert "\n" not in message and f"{path} is corrupt at line 2 of" in message and "head -n 1" in message
    assert not list(tmp_path.glob("*.tail-*"))


def test_an_intact_journal_is_left_alone(tmp_path):
    path = tmp_path / "optuna.journal"
    _search(path, 1)
    data = path.read_bytes()
    create_storage(str(path), heartbeat_interval=None)
    assert path.read_bytes() == data and not list(tmp_path.glob("*.tail-*"))
