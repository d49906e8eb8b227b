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


# ---------------------------------------------------------------- malformed files (issue 19 point 7)


def _edit(doc, path, value):
    *parents, last = path
    for key in parents:
        doc = doc[key]
    if value is _DROP:
        del doc[last]
    else:
        doc[last] = value


_DROP = object()
BAD_JSON = {  # name: (edit of the saved predictor.json, what the one error line says)
    "a JSON list": (lambda doc: [doc], "not a predictor file (a JSON list, expected an object)"),
    "models missing": (lambda doc: _edit(doc, ["models"], _DROP), "models is missing"),
    "fallback missing": (lambda doc: _edit(doc, ["fallback"], _DROP), "fallback must be a list of 6 numbers"),
    "overheads missing": (lambda doc: _edit(doc, ["overheads"], _DROP), "overheads is missing"),
    "models a list": (lambda doc: _edit(doc, ["models"], [1, 2]), "models must be an object, got list"),
    "coef a string": (lambda doc: _edit(doc, ["models", "node", "coef"], "fast"), "models.node.coef must be a list"),
    "coef too short": (lambda doc: _edit(doc, ["models", "node", "coef"], [1e-6]), "models.node.coef must be a list"),
    "samples a string": (lambda doc: _edit(doc, ["models", "node", "samples"], "many"), "models.node.samples must be"),
    "overheads a list": (lambda doc: _edit(doc, ["overheads"], [1.0]), "overheads must be an object, got list"),
    "scale a string": (lambda doc: _edit(doc, ["overheads", "scale"], "1.0"), "overheads.scale must be a finite"),
    "unknown overhead": (lambda doc: _edit(doc, ["overheads", "per_op"], 1.0), "overheads has unknown keys ['per_op']"),
    "NaN coefficient": (
        lambda doc: _edit(doc, ["models", "node", "coef", 2], float("nan")),
        "models.node.coef.2 must be a finite number, got nan",
    ),
    "infinite scale": (
        lambda doc: _edit(doc, ["overheads", "scale"], float("inf")),
        "overheads.scale must be a finite",
    ),
    "negative coefficient": (lambda doc: _edit(doc, ["fallback", 0], -1e-5), "fallback.0 must be >= 0, got -1e-05"),
    "negative per-call": (lambda doc: _edit(doc, ["overheads", "per_call"], -1.0), "overheads.per_call must be >= 0"),
    "negative kind scale": (
        lambda doc: _edit(doc, ["overheads", "kind_scale"], {"node": -0.5}),
        "overheads.kind_scale.node must be >= 0",
    ),
    "negative reference": (
        lambda doc: _edit(doc, ["metadata", "references_ms"], {"resnet50": -3.0}),
        "metadata.references_ms.resnet50 must be > 0",
    ),
}


@pytest.mark.parametrize("name", BAD_JSON)
def test_a_malformed_predictor_file_is_one_error_line_at_load(fitted, tmp_path, name):
    from app.tasks import USER_ERRORS
    from hw.predictor import PredictorError

    edit, expect = BAD_JSON[name]
    fitted.metadata = {"seed": 0}
    fitted.save(tmp_path)
    path = tmp_path / "predictor.json"
    doc = json.loads(path.read_text())
    doc = edit(doc) or doc
    path.write_text(json.dumps(doc))
    with pytest.raises(PredictorError) as err:
        LatencyPredictor.load(tmp_path)
    assert isinstance(err.value, USER_ERRORS) and str(path) in str(err.value)
    assert expect in str(err.value) and "\n" not in str(err.value)


def _zip_with(tmp_path, **members):
    import zipfile

    with zipfile.ZipFile(tmp_path / "forests.skops", "w") as archive:
        for name, text in members.items():
            archive.writestr(name.replace("_", "."), text)


BAD_FORESTS = {
    "garbage bytes": (lambda tmp: (tmp / "forests.skops").write_bytes(b"PK\x03\x04 not a zip"), "not a skops archive"),
    "garbage zip": (lambda tmp: _zip_with(tmp, schema_json="{not json"), "not a skops archive"),
    "wrong features": (
        lambda tmp: sio.dump({"node": _forest(features=3)}, tmp / "forests.skops"),
        "the forests of ['node'] do not take the",
    ),
}


def _forest(features):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(2, random_state=0).fit(np.ones((4, features)), np.arange(4.0))


@pytest.mark.parametrize("name", BAD_FORESTS)
def test_a_damaged_forests_file_is_one_error_line_at_load(fitted, tmp_path, name):
    from hw.predictor import PredictorError

    make, expect = BAD_FORESTS[name]
    fitted.save(tmp_path)
    make(tmp_path)
    with pytest.raises(PredictorError) as err:
        LatencyPredictor.load(tmp_path)
    assert expect in str(err.value) and "forests.skops" in str(err.value) and "\n" not in str(err.value)


def test_a_prediction_is_never_negative(fitted):
    """Per-vertex and per-input terms may be negative (fitted on the fast path); the total is clamped at 0."""
    arch = create_architecture("dp", 12, seed=0, staging="uniform", staging_params={"channels": 16}, input_size=16)
    cheap = LatencyPredictor({}, KindModel(np.array([1e-7, 0, 0, 0, 0, 0])), Overheads(1.0, -1e-3, -1e-3, 0, -1.0))
    assert cheap.predict(arch) == 0.0
    assert all(t == 0.0 for t in cheap.vertex_latencies(arch).values())


def test_a_non_finite_prediction_is_refused_not_passed_on(fitted):
    from hw.predictor import PredictorError

    class Broken:  # a forest whose leaves hold NaN (a damaged file that still loads)
        def predict(self, x):
            return np.full(len(x), np.nan)

    models = {"node": KindModel(fitted.models["node"].coef, Broken(), 10)}
    with pytest.raises(PredictorError, match="gives nan s for the node op"):
        LatencyPredictor(models, fitted.fallback).predict_ops([node(8, 8, 8)])
    arch = create_architecture("dp", 12, seed=0, staging="uniform", staging_params={"channels": 16}, input_size=16)
    with pytest.raises(PredictorError, match="not finite"):
        LatencyPredictor({}, fitted.fallback, Overheads(per_call=float("nan"))).predict(arch)
