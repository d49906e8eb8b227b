"""The op-wise predictor: fitting, executor overheads, safe save/load, and a tiny real profile."""

import json
import random

import numpy as np
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from hw.config import ProfileConfig
from hw.predictor import KindModel, LatencyPredictor, Overheads
from hw.profile import fit_overheads, profile, resample_like
from hw.sampling import ArchSpace, sample_architectures
from nas.arch import output_bytes
from nas.factory import create_architecture
from nas.ops import Op, architecture_ops


def node(cin, cout, size):
    return Op.make("node", cin=cin, cout=cout, size=size, stage=False, downsample="maxpool")


def synthetic_latency(op):
    f = op.features()
    return 2e-5 + 1e-10 * f["macs"] + 1e-9 * f["elements"]


def synthetic_samples(count=80, seed=0):
    rng = random.Random(seed)
    ops = {
        node(rng.choice([8, 16, 24, 32, 48, 64]), rng.choice([8, 16, 32, 64, 128]), rng.choice([4, 8, 16, 32]))
        for _ in range(count)
    }
    return [(op, synthetic_latency(op)) for op in ops]


@pytest.fixture(scope="module")
def fitted():
    return LatencyPredictor.fit(synthetic_samples(), seed=0)


def test_fit_predicts_unseen_shapes(fitted):
    unseen = [node(40, 96, 12), node(20, 20, 20)]
    predicted = fitted.predict_ops(unseen)
    truth = np.array([synthetic_latency(op) for op in unseen])
    assert np.all(np.abs(predicted / truth - 1) < 0.1)


def test_kinds_without_samples_use_the_pooled_fallback(fitted):
    op = Op.make("scaler_conv", cin=16, cout=32, in_size=8, size=8)
    assert "scaler_conv" not in fitted.models
    assert fitted.predict_ops([op])[0] > 0


def test_architecture_latency_adds_executor_overheads(fitted):
    arch = create_architecture("dp", 12, seed=0, staging="uniform", staging_params={"channels": 16}, input_size=16)
    bare = fitted.op_sum(arch)
    predictor = LatencyPredictor(fitted.models, fitted.fallback, Overheads(1.5, 1e-5, 2e-6, 1e-10, 3e-4))
    nbytes = sum(d["channels"] * max(d["size"], 1) ** 2 * 4 for _, d in arch.nodes(data=True))
    expected = 1.5 * bare + 1e-5 * arch.number_of_nodes() + 2e-6 * arch.number_of_edges() + 1e-10 * nbytes + 3e-4
    assert predictor.predict(arch) == pytest.approx(expected)
    assert sum(predictor.vertex_latencies(arch).values()) == pytest.approx(expected - 3e-4)


def test_overhead_fit_recovers_known_constants():
    rng = np.random.default_rng(0)
    sums, vertices, edges = rng.uniform(1e-3, 5e-2, 30), rng.integers(20, 80, 30), rng.integers(30, 300, 30)
    nbytes = rng.uniform(1e5, 5e7, 30)
    measured = 1.2 * sums + 8e-6 * vertices + 1e-6 * edges + 2e-11 * nbytes + 5e-5
    fit = fit_overheads(sums, vertices.astype(float), edges.astype(float), nbytes, measured)
    assert fit.scale == pytest.approx(1.2, rel=1e-4)
    assert fit.per_vertex == pytest.approx(8e-6, rel=1e-3)
    assert fit.per_byte == pytest.approx(2e-11, rel=1e-3)
    assert fit.per_call == pytest.approx(5e-5, rel=1e-2)


def test_save_load_round_trip(fitted, tmp_path):
    fitted.metadata = {"torch": "x", "seed": 0}
    fitted.data = {"ops": [{**op.to_json(), "latency_s": t} for op, t in synthetic_samples()]}
    fitted.save(tmp_path)
    loaded = LatencyPredictor.load(tmp_path)
    ops = [node(40, 96, 12), Op.make("merge_mean", channels=[8, 8], size=4)]
    assert np.allclose(loaded.predict_ops(ops), fitted.predict_ops(ops))
    assert loaded.metadata["torch"] == "x"
    # without the forests file (e.g. another scikit-learn), the forests are re-fitted from the data
    (tmp_path / "forests.skops").unlink()
    assert np.allclose(LatencyPredictor.load(tmp_path).predict_ops(ops), fitted.predict_ops(ops))


def test_load_refuses_unexpected_types(fitted, tmp_path):
    fitted.save(tmp_path)
    sio.dump({"node": print}, tmp_path / "forests.skops")  # a callable: never trusted
    with pytest.raises(ValueError, match="refusing to load unexpected types.*builtins.print"):
        LatencyPredictor.load(tmp_path)
    sio.dump({"node": Pipeline([("scale", StandardScaler())])}, tmp_path / "forests.skops")  # safe, but not ours
    with pytest.raises(ValueError, match="expected a dict of random forests"):
        LatencyPredictor.load(tmp_path)


def test_load_rejects_other_versions_and_missing_files(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="task=profile"):
        LatencyPredictor.load(tmp_path / "nowhere")
    fitted.save(tmp_path)
    doc = json.loads((tmp_path / "predictor.json").read_text())
    doc["format_version"] = 999
    (tmp_path / "predictor.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="format 999"):
        LatencyPredictor.load(tmp_path)


TINY_SPACE = ArchSpace(
    generators=("dp", "er", "fb"),
    nodes=(4, 8),
    input_sizes=(16,),
    stagings=("greedy",),
    num_classes=(5,),
    staging_params={"channels": 8, "max_channels": 16, "min_size": 2},
    fb_params={"channels": 4, "head_channels": 16},
)


def test_tiny_profile_end_to_end(tmp_path):
    settings = ProfileConfig(
        rounds=3, min_rounds=2, pool_architectures=4, calibration_architectures=4, adaptive_iterations=1, references=[]
    )
    predictor = profile(settings, budget_s=30, progress=False, space=TINY_SPACE)
    assert {"node", "stem", "head"} <= set(predictor.models)
    assert predictor.metadata["threads"] == 1 and predictor.metadata["ops_profiled"] == len(predictor.data["ops"])
    assert len(predictor.data["calibration"]) == 4
    arch = next(sample_architectures(1, seed=99, space=TINY_SPACE))
    assert predictor.predict(arch) > 0
    predictor.save(tmp_path)
    assert LatencyPredictor.load(tmp_path).predict(arch) == pytest.approx(predictor.predict(arch))


def test_resampling_keeps_the_settings():
    arch = create_architecture(
        "ws",
        10,
        seed=1,
        params={"k": 4, "p": 0.3},
        staging="greedy",
        staging_params={"channels": 8},
        input_size=16,
        num_classes=3,
    )
    again = resample_like(arch, seed=2)
    assert again.graph["generator_params"] == arch.graph["generator_params"]
    assert again.graph["staging_params"] == arch.graph["staging_params"]
    assert again.graph["seed"] == 2 and again.graph["input_size"] == 16
    assert len(architecture_ops(again)) == len(architecture_ops(arch))


def test_overhead_fit_gives_common_kinds_a_scale_of_their_own():
    rng = np.random.default_rng(1)
    n = 30
    node, merge, head = rng.uniform(1e-3, 3e-2, n), rng.uniform(2e-4, 4e-3, n), rng.uniform(1e-5, 3e-5, n)
    vertices, edges, nbytes = rng.integers(20, 80, n).astype(float), rng.integers(30, 300, n).astype(float), np.zeros(n)
    measured = 0.9 * node + 0.5 * merge + 0.8 * head - 2e-5 * vertices + 1e-4
    kinds = [{"node": a, "merge_sum_input_sigmoid": b, "head": c} for a, b, c in zip(node, merge, head, strict=True)]
    fit = fit_overheads(node + merge + head, vertices, edges, nbytes, measured, kinds)
    assert set(fit.kind_scale) == {"node", "merge_sum_input_sigmoid"}  # the head holds < 5 % of the op time
    assert fit.kind_scale["node"] == pytest.approx(0.9, rel=1e-2)
    assert fit.kind_scale["merge_sum_input_sigmoid"] == pytest.approx(0.5, rel=2e-2)
    assert fit.per_vertex == pytest.approx(-2e-5, rel=5e-2)  # may be negative: module work the graphs skip
    predictor = LatencyPredictor({}, KindModel(np.array([1e-5, 0, 0, 0, 0, 0])), fit)  # every op: 10 µs
    arch = create_architecture("dp", 12, seed=0, staging="uniform", staging_params={"channels": 16}, input_size=16)
    latencies = predictor.vertex_latencies(arch)
    for v, ops in architecture_ops(arch).items():
        compute = sum(fit.kind_scale.get(op.kind, fit.scale) * 1e-5 for op in ops)
        expected = compute + fit.per_vertex + fit.per_input * arch.in_degree(v) + fit.per_byte * output_bytes(arch, v)
        assert latencies[v] == pytest.approx(max(expected, 0.0), abs=1e-12)
