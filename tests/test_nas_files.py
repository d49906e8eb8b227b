"""Architecture files: round trip, bare DAGs, and one-line errors for malformed files."""

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
import torch

from nas.arch import ArchitectureError, load, save
from nas.builder import build_model, count_parameters
from nas.dag import INPUT, OUTPUT
from nas.factory import create_architecture

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("generator", ["er", "ba", "ws", "dp", "fb", "lcp", "cifarnet"])
def test_save_load_gives_the_identical_model(tmp_path, generator):
    params = {"channels": 8} if generator == "fb" else {}
    arch = create_architecture(
        generator,
        16,
        seed=5,
        params=params,
        staging="probabilistic",
        staging_params={"channels": 8, "max_channels": 32},
        input_size=32,
    )
    loaded = load(save(arch, tmp_path / "a.json"))
    assert loaded.graph["generator"] == generator and loaded.graph.get("seed", 5) == 5
    assert nx.utils.graphs_equal(arch, loaded)
    original, copy = build_model(arch).eval(), build_model(loaded).eval()
    assert count_parameters(original) == count_parameters(copy)
    copy.load_state_dict(original.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(original(x), copy(x))


def test_file_keeps_generator_config_and_seed(tmp_path):
    arch = create_architecture("dp", 12, seed=9, params={"alpha": 1.2}, staging="greedy")
    data = json.loads(save(arch, tmp_path / "a.json").read_text())
    assert data["graph"]["generator_params"] == {"alpha": 1.2}
    assert data["graph"]["seed"] == 9 and data["graph"]["staging"] == "greedy"
    node = next(n for n in data["nodes"] if n["id"] == 0)
    assert {"op", "channels", "stage"} <= set(node) and "macs" not in node  # derived values not stored


def test_bare_dag_gets_input_output_and_default_blocks(tmp_path):
    bare = nx.DiGraph([(0, 1), (0, 2), (1, 3), (2, 3), (4, 3)])
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(nx.node_link_data(bare, edges="edges")))
    arch = load(path, input_size=32, num_classes=10)
    assert set(arch.successors(INPUT)) == {0, 4} and set(arch.predecessors(OUTPUT)) == {3}
    assert arch.nodes[1]["op"] == "node" and arch.nodes[1]["channels"] > 0
    assert build_model(arch)(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    links = {"nodes": [{"id": "a"}, {"id": "b"}], "links": [{"source": "a", "target": "b"}]}
    (tmp_path / "links.json").write_text(json.dumps(links))  # older networkx key, string ids
    assert load(tmp_path / "links.json", input_size=16, num_classes=2).number_of_nodes() == 4


MALFORMED = {
    "cycle": (
        {"nodes": [{"id": 0}, {"id": 1}], "edges": [{"source": 0, "target": 1}, {"source": 1, "target": 0}]},
        "cycle",
    ),
    "dangling": ({"nodes": [{"id": 0}], "edges": [{"source": 0, "target": 7}]}, "dangling edge"),
    "empty": ({"nodes": [], "edges": []}, "empty graph"),
    "bad id": ({"nodes": [{"id": [1]}], "edges": []}, "ids must be integers or strings"),
    "bad channels": (None, "channels must be a positive integer"),
    "bad op": (None, "op must be one of"),
    "not a graph": ([1, 2, 3], "expected node-link JSON"),
}


def _attributed(tmp_path, **change):
    arch = create_architecture("er", 6, seed=0)
    data = json.loads(save(arch, tmp_path / "ok.json").read_text())
    node = next(n for n in data["nodes"] if n["id"] == 0)
    node.update(change)
    return data


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_files_give_one_clear_line(tmp_path, case):
    data, expected = MALFORMED[case]
    if case == "bad channels":
        data = _attributed(tmp_path, channels="wide")
    if case == "bad op":
        data = _attributed(tmp_path, op="transformer")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ArchitectureError, match=expected) as err:
        load(path, input_size=32, num_classes=10)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_not_json_and_missing_file(tmp_path):
    (tmp_path / "x.json").write_text("{nodes: oops")
    with pytest.raises(ArchitectureError, match="not a JSON file"):
        load(tmp_path / "x.json")
    with pytest.raises(ArchitectureError, match="not found"):
        load(tmp_path / "missing.json")


def test_cli_reports_a_bad_file_in_one_line_without_traceback(tmp_path):
    path = tmp_path / "cycle.json"
    path.write_text(json.dumps(MALFORMED["cycle"][0]))
    run = subprocess.run(
        [sys.executable, "run.py", "task=analyze", f"arch={path}", f"hydra.run.dir={tmp_path}/run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().startswith("error:") and "cycle" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
