"""The op registry: every kind's cost, features and sampler agree with the module it builds."""

import random

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from hw.measure import CLOCKS
from hw.profile import instrument
from nas.builder import build_model, count_parameters
from nas.factory import BASELINES, create_architecture
from nas.generators import GENERATORS
from nas.ops import FEATURES, OPERATIONS, OPS, Op, architecture_ops, instantiate
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
ARCH_OPS = [op for arch in ARCHS for ops in architecture_ops(arch).values() for op in ops]


def example(kind: str) -> Op:
    """An op of `kind` from the architectures above, else its sampler's neighbour of one of its family."""
    entry = OPS.get(kind)
    found = next((op for op in ARCH_OPS if op.kind == kind), None)
    return found or entry.perturb(next(op for op in ARCH_OPS if op.entry.family == entry.family).p, random.Random(0))


def check_module(op: Op) -> None:
    (channels, size), macs, params = op.cost()
    module, args = instantiate(op)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        out = module(*args)
    assert tuple(out.shape) == ((1, channels, size, size) if size else (1, channels)), op
    assert count_parameters(module) == params, op
    assert counter.get_total_flops() == 2 * macs, op


@pytest.mark.parametrize("kind", OPS.names())
def test_every_kind_builds_what_it_costs_and_samples_its_neighbours(kind):
    op = example(kind)
    check_module(op)
    features = op.features()
    assert set(features) == set(FEATURES) and all(v >= 0 for v in features.values())
    assert Op.from_json(op.to_json()) == op
    neighbour = op.entry.perturb(op.p, random.Random(1))
    if neighbour is not None:  # None: every op of the kind costs the same
        assert neighbour.kind == kind
        check_module(neighbour)


def test_every_vertex_op_has_an_operation_and_the_architectures_use_them_all():
    assert set(OPERATIONS.names()) == {OPS.get(k).vertex_op for k in OPS.names() if hasattr(OPS.get(k), "vertex_op")}
    assert {d["op"] for arch in ARCHS for _, d in arch.nodes(data=True)} == set(OPERATIONS.names())


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: f"{a.graph['generator']}-{a.graph.get('staging')}")
def test_each_vertex_builds_one_module_per_op(arch):
    model = build_model(arch)
    for v, ops in architecture_ops(arch).items():
        parts = model.vertices[str(v)].parts
        assert [count_parameters(p) for p in parts] == [op.cost()[2] for op in ops]
        assert sum(op.cost()[1] for op in ops) == arch.nodes[v]["macs"]


@pytest.mark.parametrize("arch", ARCHS[::4], ids=lambda a: a.graph["generator"])
def test_instrumented_forward_times_every_op_once_and_computes_the_same(arch):
    ops = [op for ops in architecture_ops(arch).values() for op in ops]
    model = build_model(arch).eval()
    x = torch.randn(1, arch.graph.get("in_channels", 3), 32, 32)
    with torch.inference_mode():
        plain = model(x)
        record = [[] for _ in ops]
        instrument(model, CLOCKS["wall"], record)
        assert torch.equal(model(x), plain)
    assert all(len(r) == 1 for r in record)  # one timed call per op, in this order


def test_features_grow_with_the_work():
    small = Op.make("node", cin=16, cout=16, size=8, stage=False, downsample="maxpool")
    large = Op.make("node", cin=16, cout=32, size=16, stage=False, downsample="maxpool")
    f_small, f_large = small.features(), large.features()
    assert f_large["macs"] > f_small["macs"] and f_large["out_elements"] > f_small["out_elements"]
    # MACs of a node: 3×3 depthwise + 1×1 pointwise
    assert f_small["macs"] == 16 * 9 * 64 + 16 * 16 * 64
