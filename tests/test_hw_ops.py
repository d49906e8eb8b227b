"""`hw.ops` mirrors what `nas.builder` executes, without building modules."""
import pytest
import torch

from hw.measure import CLOCKS
from hw.ops import FEATURES, KINDS, Op, architecture_ops, features, instantiate
from hw.profile import timed_forward
from nas.builder import build_model, count_parameters
from nas.factory import BASELINES, create_architecture
from nas.generators import GENERATORS
from nas.staging import STAGING

SMALL = {"channels": 8, "max_channels": 32, "min_size": 2}


def architectures():
    for generator in GENERATORS.names():
        for staging in STAGING.names():
            yield create_architecture(generator, 10, seed=1, staging=staging, staging_params=SMALL, input_size=32)
    for name in BASELINES.names():
        params = {"channels": 8, "head_channels": 64} if name == "fb" else {}
        yield create_architecture(name, 15, seed=1, params=params, input_size=32)


ARCHS = list(architectures())


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: f"{a.graph['generator']}-{a.graph.get('staging')}")
def test_ops_match_the_built_modules(arch):
    model = build_model(arch)
    for v, ops in architecture_ops(arch).items():
        vertex = model.vertices[str(v)]
        if v == "input":
            assert [op.kind for op in ops] == ["stem"]
            modules = [vertex.op]
        else:
            *scalers, merge, op = ops
            assert len(scalers) == len(vertex.scalers)
            for scaler_op, scaler in zip(scalers, vertex.scalers):
                assert ("conv" in scaler_op.kind) == (scaler.conv is not None)
                assert scaler_op.p["size"] == scaler.size
            mode = merge.kind.removeprefix("merge_").split("_")[0]
            assert mode == vertex.merge.mode
            modules = [*vertex.scalers, vertex.merge, vertex.op]
        # the module `instantiate` builds for an op has the parameters of the real one
        for op, module in zip(ops, modules):
            assert count_parameters(instantiate(op)[0]) == count_parameters(module), op


@pytest.mark.parametrize("arch", ARCHS[::4], ids=lambda a: a.graph["generator"])
def test_instantiated_ops_run_and_timed_forward_matches_forward(arch):
    ops = [op for ops in architecture_ops(arch).values() for op in ops]
    with torch.inference_mode():
        for op in dict.fromkeys(ops):
            module, args = instantiate(op)
            module(*args)
        model = build_model(arch).eval()
        x = torch.randn(1, arch.graph.get("in_channels", 3), 32, 32)
        record = [[] for _ in ops]
        out = timed_forward(model, x, CLOCKS["wall"], record)
        assert torch.allclose(out, model(x))
    assert all(len(r) == 1 for r in record)  # one timed call per op, in this order


def test_features_are_complete_and_grow_with_the_work():
    small = Op.make("node", cin=16, cout=16, size=8, stage=False, downsample="maxpool")
    large = Op.make("node", cin=16, cout=32, size=16, stage=False, downsample="maxpool")
    f_small, f_large = features(small), features(large)
    assert set(f_small) == set(FEATURES)
    assert f_large["macs"] > f_small["macs"] and f_large["out_elements"] > f_small["out_elements"]
    # MACs of a node: 3×3 depthwise + 1×1 pointwise
    assert f_small["macs"] == 16 * 9 * 64 + 16 * 16 * 64


def test_ops_serialise_and_every_kind_is_known():
    arch = ARCHS[0]
    for ops in architecture_ops(arch).values():
        for op in ops:
            assert op.kind in KINDS
            assert Op.from_json(op.to_json()) == op
