"""Size limits fail in one line before anything big is allocated (nas/limits.py)."""

from __future__ import annotations

import json
import time

import pytest

from app.config import validate
from nas.arch import ArchitectureError, load, total_params
from nas.factory import architecture_from_config, create_architecture
from nas.limits import MAX_VERTICES, estimate
from search.preflight import check_space
from tests.conftest import compose_config


def _fast(fn, *args, seconds: float = 1.0):
    start = time.perf_counter()
    with pytest.raises(ValueError) as err:
        fn(*args)
    assert time.perf_counter() - start < seconds
    assert "\n" not in str(err.value)
    return str(err.value)


def test_too_many_vertices_fail_before_generating():
    message = _fast(create_architecture, "dp", 100000)
    assert message.startswith(f"nodes=100000 is above the limit of {MAX_VERTICES} compute vertices")
    assert "CNAS_MAX_VERTICES=100000" in message


def test_a_search_space_above_the_limit_fails_before_sampling():
    cfg = validate(compose_config("space.nodes={low:5000,high:6000}"))
    assert _fast(check_space, cfg).startswith("space.nodes=6000 is above the limit")


def test_the_vertex_limit_can_be_raised(monkeypatch):
    monkeypatch.setenv("CNAS_MAX_VERTICES", "3")
    assert "above the limit of 3" in _fast(create_architecture, "dp", 4)


def test_a_20000_vertex_file_fails_before_networkx_builds_it(tmp_path):
    path = tmp_path / "star.json"
    path.write_text(
        json.dumps(
            {"nodes": [{"id": i} for i in range(20001)], "edges": [{"source": 0, "target": i} for i in range(1, 20001)]}
        )
    )
    message = _fast(load, path)
    assert (
        message == f"{path}: compute vertices=20001 is above the limit of {MAX_VERTICES} compute vertices; "
        "set CNAS_MAX_VERTICES=20001 to raise it (time and memory grow with it)"
    )
    with pytest.raises(ArchitectureError):
        load(path)


def test_a_training_batch_that_cannot_fit_is_refused(monkeypatch):
    monkeypatch.setenv("CNAS_MAX_MEMORY_GB", "16")
    message = _fast(architecture_from_config, validate(compose_config("task=train", "input_size=4096")))
    assert "for a batch of 64 at input_size=4096 but 16.0 GB are available" in message
    assert "lower train.batch_size, input_size or staging.channels" in message
    assert architecture_from_config(validate(compose_config("task=train"))).number_of_nodes() == 10


def test_the_estimate_counts_weights_and_every_vertex_output():
    arch = create_architecture("cifarnet", 8, input_size=32)  # CifarNet: image, conv5-pool x2, fc384, fc192, fc
    size = estimate(arch)
    assert size.param_bytes == 4 * total_params(arch)
    assert size.activation_bytes == 4 * (3 * 32 * 32 + 64 * 16 * 16 + 64 * 8 * 8 + 384 + 192 + 10)
    assert size.training_bytes(8) == 2 * size.param_bytes + 16 * size.activation_bytes
