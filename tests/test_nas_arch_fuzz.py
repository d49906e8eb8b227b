"""Fuzz the architecture-file loader: any input loads or raises ArchitectureError (one line).

Inputs: arbitrary JSON, valid files with one value replaced by arbitrary JSON, random
edge lists over the vertices of a valid file, and arbitrary bytes on disk.
"""

from __future__ import annotations

import copy
import json
import os

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nas.arch import ArchitectureError, from_json, load, to_json
from nas.factory import create_architecture

# FUZZ_EXAMPLES=5000 for a deeper run than the default suite's.
SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 100)), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True) | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def valid() -> dict:
    arch = create_architecture(
        "er",
        6,
        1,
        params={"p": 0.5},
        staging="uniform",
        staging_params={"channels": 8, "max_channels": 16},
        input_size=16,
        num_classes=10,
    )
    return json.loads(json.dumps(to_json(arch), default=str))


def loads_or_refuses(data) -> None:
    try:
        arch = from_json(data)
    except ArchitectureError as err:
        assert "\n" not in str(err) and str(err)
        return
    assert isinstance(arch, nx.DiGraph) and "input" in arch and "output" in arch


@SETTINGS
@given(json_values)
def test_arbitrary_json(data):
    loads_or_refuses(data)


@SETTINGS
@given(st.data())
def test_valid_file_with_one_value_replaced(valid, data):
    mutated = copy.deepcopy(valid)
    section = data.draw(st.sampled_from(["graph", "nodes", "edges", "top"]))
    value = data.draw(json_values)
    if section == "top":
        mutated[data.draw(st.sampled_from(["nodes", "edges", "graph", "directed", "multigraph"]))] = value
    elif section == "graph":
        mutated["graph"][data.draw(st.sampled_from(sorted(mutated["graph"]) + ["aggregation", "in_channels"]))] = value
    else:
        items = mutated[section]
        item = items[data.draw(st.integers(0, len(items) - 1))]
        item[data.draw(st.sampled_from(sorted(item) + ["op", "channels", "merge", "stride", "kernel"]))] = value
    loads_or_refuses(mutated)


@SETTINGS
@given(st.data())
def test_random_edges_over_valid_vertices(valid, data):
    ids = [n["id"] for n in valid["nodes"]]
    pairs = st.tuples(st.sampled_from(ids), st.sampled_from(ids))
    edges = data.draw(st.lists(pairs, max_size=20))
    mutated = {**copy.deepcopy(valid), "edges": [{"source": u, "target": v} for u, v in edges]}
    loads_or_refuses(mutated)


@SETTINGS
@given(st.data())
def test_bare_dags_with_arbitrary_graph_attributes(data):
    """A bare DAG (no input/output vertices) is completed with the configured staging."""
    n = data.draw(st.integers(1, 8))
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=16))
    graph = {"input_size": 16, "num_classes": 10}
    for key in data.draw(
        st.lists(
            st.sampled_from(["staging", "staging_params", "input_size", "num_classes", "in_channels", "aggregation"]),
            max_size=3,
            unique=True,
        )
    ):
        graph[key] = data.draw(json_values | st.sampled_from(["uniform", "greedy", "probabilistic"]))
    loads_or_refuses(
        {
            "graph": graph,
            "nodes": [{"id": i} for i in range(n)],
            "edges": [{"source": u, "target": v} for u, v in edges],
        }
    )


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_on_disk(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fuzz") / "arch.json"
    path.write_bytes(raw)
    try:
        load(path)
    except ArchitectureError as err:
        assert "\n" not in str(err)


def test_a_valid_file_round_trips(valid, tmp_path):
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(valid))
    arch = load(path)
    assert sorted(map(str, arch.nodes)) == sorted(str(n["id"]) for n in valid["nodes"])
