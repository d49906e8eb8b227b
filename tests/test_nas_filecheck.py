"""Malformed values in architecture files: one ArchitectureError naming the vertex and attribute."""

from __future__ import annotations

import json

import pytest

from nas.arch import ArchitectureError, load, to_json
from nas.factory import create_architecture


def _cifarnet() -> dict:
    """input (stem) -> 0, 1 (conv5 + pool 3) -> 2, 3 (fc) -> output (head)."""
    return to_json(create_architecture("cifarnet", 8, input_size=32))


def _set(vertex, key, value):
    def mutate(data):
        next(n for n in data["nodes"] if n["id"] == vertex)[key] = value

    return mutate


def _twin_id(data):
    data["nodes"].append({"id": "0", "op": "fc", "merge": "single", "channels": 8})
    data["edges"] += [{"source": "input", "target": "0"}, {"source": "0", "target": "output"}]


CASES = {
    "infinite kernel": (
        _set(0, "kernel", float("inf")),
        "vertex 0: attribute 'kernel' must be a finite number, got inf",
    ),
    "NaN stride": (_set(1, "stride", float("nan")), "vertex 1: attribute 'stride' must be a finite number, got nan"),
    "negative pool": (_set(0, "pool", -2), "vertex 0: attribute 'pool' must not be negative, got -2"),
    "negative hidden": (
        _set("output", "hidden", [-5]),
        "vertex 'output': attribute 'hidden' must not be negative, got -5",
    ),
    "float pool": (_set(1, "pool", 2.5), "vertex 1: attribute 'pool' must be a max-pool kernel size"),
    "string pool": (_set(0, "pool", "max"), "vertex 0: attribute 'pool' must be a max-pool kernel size"),
    "head pool": (
        _set("output", "pool", "max"),
        "vertex 'output': attribute 'pool' must be one of avg, flatten, got 'max'",
    ),
    "stem convs": (
        _set("input", "convs", [[3, "wide", 1]]),
        "vertex 'input': attribute 'convs' must be a list of [kernel",
    ),
    "nested": (
        _set("output", "hidden", [[[[[1]]]]]),
        "vertex 'output': attribute 'hidden' is nested more than 3 levels",
    ),
    "mixed ids": (_twin_id, "vertex ids 0 and '0' name the same vertex"),
    "infinite graph value": (
        lambda d: d["graph"].update(seed=float("-inf")),
        "graph attribute 'seed' must be a finite",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_malformed_value_names_its_vertex_and_attribute(tmp_path, case):
    mutate, message = CASES[case]
    data = _cifarnet()
    mutate(data)
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(data))  # writes Infinity / NaN as Python's json does
    with pytest.raises(ArchitectureError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: {message}") and "\n" not in str(err.value)


def test_nesting_too_deep_to_parse_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"nodes": [{"id": 0, "hidden": ' + "[" * 100_000 + "]" * 100_000 + "}]}")
    with pytest.raises(ArchitectureError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: not a JSON file (maximum recursion depth exceeded")


def test_every_file_the_project_writes_passes(tmp_path):
    for generator in ("dp", "fb", "lcp", "vgg11", "resnet50"):
        arch = create_architecture(generator, 16, seed=1, params={"channels": 8} if generator == "fb" else {})
        path = tmp_path / f"{generator}.json"
        path.write_text(json.dumps(to_json(arch)))
        assert load(path).number_of_nodes() == arch.number_of_nodes()
