"""Bad input anywhere: one line naming the problem and the fix, and the storage untouched.

Config values fail in `validate` (before run.py dispatches); inputs only a search can
check (the space, baselines, storage URLs, data paths) fail in the search's preflight,
before the storage is opened or created.
"""

from __future__ import annotations

import json

import pytest
from hydra.errors import HydraException

from app.config import validate
from app.tasks import USER_ERRORS
from nas.arch import ArchitectureError, load
from search.study import run_search
from tests.conftest import compose_config
from tests.reliability_support import run_py, tiny_overrides

CONFIG_VALUES = [
    ("search.n_trials=-1", "search.n_trials must be >= 0, got -1"),
    ("search.max_failure_rate=0", "search.max_failure_rate must be in (0, 1]"),
    ("search.sampler=annealing", "search.sampler must be one of"),
    ("search.objectives=[accuracy,speed]", "search.objectives: unknown 'speed'; valid:"),
    ("search.n_workers=0", "search.n_workers must be >= 1, got 0"),
    ("search.worker=-1", "search.worker must be >= 0 or null, got -1"),
    ("search.heartbeat_interval=-5", "search.heartbeat_interval must be >= 0 (0 = off), got -5"),
    ("search.max_retry=-1", "search.max_retry must be >= 0, got -1"),
    ("search.timeout=0", "search.timeout must be > 0 seconds or null"),
    ("search.storage=optuna.db", "is not a storage URL; use sqlite:///optuna.db, a path ending in .journal"),
    ("search.storage=redis://localhost/0", "is not a storage URL"),
    ("data.fraction=1.5", "data.fraction must be in (0, 1], got 1.5"),
    ("nodes=1", "nodes must be >= 2, got 1"),
    ("train.epochs=-1", "train.epochs must be >= 0 (0: only test the given weights), got -1"),
]

# Only a search can see these: they fail in its preflight, before the storage exists.
SEARCH_INPUTS = [
    ("space.nodes={low:10,high:2}", "the search space builds no architecture"),
    ("+space.generator_params.dp.gamma=1", "generator dp has no parameter 'gamma'"),
    ("search.baselines=[resnet9]", "search.baselines: 'resnet9' cannot be built"),
    ("search.sampler=grid", "sampler=grid needs lists or integer ranges"),
    ("data=imagefolder", "data=imagefolder needs data.path="),
    ("data=imagefolder data.path=/nonexistent/images", "/nonexistent/images"),
]


def one_line(err: BaseException) -> str:
    message = str(err)
    assert message and "\n" not in message, message
    return message


@pytest.mark.parametrize("override,message", CONFIG_VALUES)
def test_bad_config_values_fail_validation_in_one_line(tmp_path, override, message):
    with pytest.raises(USER_ERRORS) as err:
        validate(compose_config(*tiny_overrides(tmp_path), *override.split()))
    assert message in one_line(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("override,message", SEARCH_INPUTS)
def test_bad_search_inputs_fail_before_the_storage_is_created(tmp_path, override, message):
    with pytest.raises(USER_ERRORS) as err:
        run_search(validate(compose_config(*tiny_overrides(tmp_path), *override.split(), tiny=False)))
    assert message in one_line(err.value)
    assert not (tmp_path / "optuna.journal").exists() and not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize(
    "url,message",
    [
        ("postgresql://nobody@127.0.0.1:1/none", "cannot open search.storage 'postgresql://nobody@127.0.0.1:1/none': "),
        ("sqlite:////nonexistent/dir/optuna.db", "cannot open search.storage 'sqlite:////nonexistent/dir/optuna.db': "),
        ("/proc/cnas/optuna.journal", "cannot open search.storage '/proc/cnas/optuna.journal': "),
    ],
)
def test_unreachable_storages_fail_in_one_line_and_nothing_else_starts(tmp_path, url, message):
    with pytest.raises(ValueError) as err:
        run_search(validate(compose_config(*tiny_overrides(tmp_path, storage=url), tiny=False)))
    assert one_line(err.value).startswith(message)
    assert not (tmp_path / "mlflow.db").exists()  # failed before MLflow was touched


def test_a_directory_is_not_a_journal(tmp_path):
    (tmp_path / "studies.journal").mkdir()
    with pytest.raises(ValueError, match="is a directory; give a file path ending in .journal"):
        validate(compose_config(*tiny_overrides(tmp_path, storage=str(tmp_path / "studies.journal"))))


def test_unknown_groups_and_wrong_types_are_refused_at_composition(tmp_path):
    with pytest.raises(HydraException):
        compose_config("generator=xyz")
    with pytest.raises(Exception, match="search.n_trials"):  # OmegaConf's ValidationError names the key
        compose_config("search.n_trials=abc")


@pytest.mark.parametrize(
    "content,message",
    [
        (None, "architecture file not found"),
        ("{not json", "not a JSON file"),
        (
            json.dumps(
                {"nodes": [{"id": 0}, {"id": 1}], "edges": [{"source": 0, "target": 1}, {"source": 1, "target": 0}]}
            ),
            "graph has a cycle through",
        ),
        (
            json.dumps(
                {
                    "graph": {"input_size": 16, "num_classes": 10},
                    "nodes": [{"id": "input", "op": "stem"}, {"id": 0, "op": "warp"}, {"id": "output", "op": "head"}],
                    "edges": [{"source": "input", "target": 0}, {"source": 0, "target": "output"}],
                }
            ),
            "vertex 0: op must be one of",
        ),
    ],
)
def test_bad_architecture_files_fail_in_one_line(tmp_path, content, message):
    path = tmp_path / "arch.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ArchitectureError) as err:
        load(path, input_size=16, num_classes=10)
    assert message in one_line(err.value)


@pytest.mark.slow
def test_run_py_prints_one_error_line_and_exits_2(tmp_path):
    result = run_py(*tiny_overrides(tmp_path), "space.nodes={low:10,high:2}", f"hydra.run.dir={tmp_path}/run")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "the search space builds no architecture" in errors[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "optuna.journal").exists()
