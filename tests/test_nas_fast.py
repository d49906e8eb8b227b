"""The fast inference path (`nas.fast`) and the fused merges compute the same function."""

import pytest
import torch

from nas import blocks
from nas.builder import build_model
from nas.execute import Segment, Step, free_after_last_use, run, segments
from nas.factory import create_architecture
from nas.fast import inference_model, to_layout


def tiny(generator: str, seed: int = 0, size: int = 16):
    return create_architecture(
        generator,
        15 if generator == "fb" else 10,
        seed,
        params={"channels": 8} if generator == "fb" else {},
        staging="probabilistic",
        staging_params={"channels": 8, "max_channels": 32},
        input_size=size,
        num_classes=10,
    )


def plan(edges: dict[str, list[str]]) -> list[Step]:
    steps = [Step(v, inputs) for v, inputs in edges.items()]
    free_after_last_use(steps)
    return steps


def test_segments_compute_what_the_steps_compute():
    steps = plan({"a": ["x"], "b": ["a"], "c": ["a", "b"], "d": ["c", "x"], "e": ["d", "b"]})
    add = lambda v, inputs: sum(inputs) + len(v)  # noqa: E731
    expected = run(steps, add, {"x": 1})
    grouped = segments(steps, cut_before=lambda s: s.vertex == "d", cut_after=lambda s: s.vertex == "b")
    assert [s.steps for s in grouped] == [steps[:2], steps[2:3], steps[3:]]
    assert [(s.inputs, s.outputs) for s in grouped] == [
        (["x"], ["a", "b"]),
        (["a", "b"], ["c"]),
        (["c", "x", "b"], ["e"]),
    ]

    def call(v, inputs):
        segment = next(s for s in grouped if s.vertex == v)
        values = run(segment.steps, add, dict(zip(segment.inputs, inputs, strict=True)))
        return tuple(values[u] for u in segment.outputs)

    assert run(grouped, call, {"x": 1}) == expected


def test_alone_steps_stay_plain_and_cut_segments():
    steps = plan({"img": [], "a": ["img"], "b": ["a"], "res": ["b"]})
    grouped = segments(steps, alone=lambda s: s.vertex in ("img", "res"))
    assert grouped[0] is steps[0] and grouped[-1] is steps[-1]
    assert isinstance(grouped[1], Segment) and grouped[1].outputs == ["b"] and grouped[1].inputs == ["img"]


@pytest.mark.parametrize("generator", ["dp", "ws", "fb", "cifarnet", "resnet50"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fast_path_matches_eager(generator, channels_last):
    arch = tiny(generator, size=32)
    torch.manual_seed(0)
    model = build_model(arch).eval()
    x = torch.randn(2, arch.graph.get("in_channels", 3), 32, 32)
    with torch.inference_mode():
        expected = model(x)
        for per_vertex in (False, True):
            fast = inference_model(model, True, channels_last, per_vertex)
            for _ in range(2):  # the first call traces
                assert torch.allclose(fast(to_layout(x, channels_last)), expected, rtol=1e-4, atol=1e-5)
            assert len(fast.traced.graphs) == (len(model.plan) if per_vertex else 1)


def test_per_vertex_fast_path_calls_hooks_per_vertex():
    arch = tiny("dp")
    fast = inference_model(build_model(arch), True, False, per_vertex=True)
    seen = []
    with torch.inference_mode():
        fast(torch.randn(1, 3, 16, 16), after=lambda step, out: seen.append(step.vertex))
    assert seen == [step.vertex for step in fast.model.plan]


def input_sigmoid_sum(weight, inputs):  # the formulation before the fused merge
    out = torch.sigmoid(inputs[0]) * weight[0]
    for w, x in zip(weight[1:], inputs[1:], strict=True):
        out = out + w * torch.sigmoid(x)
    return out


def weight_sigmoid_sum(weight, inputs):
    weights = torch.sigmoid(weight)
    out = inputs[0] * weights[0]
    for w, x in zip(weights[1:], inputs[1:], strict=True):
        out = out + w * x
    return out


@pytest.mark.parametrize(
    "merge, reference",
    [
        (blocks.InputSigmoidSum, input_sigmoid_sum),
        (blocks.WeightSigmoidSum, weight_sigmoid_sum),
        (blocks.Mean, lambda w, xs: torch.stack(xs).mean(0)),
    ],
)
@pytest.mark.parametrize("fan_in", [1, 2, 5])
@pytest.mark.parametrize("channels_last", [False, True])
def test_merges_keep_outputs_and_gradients(merge, reference, fan_in, channels_last):
    torch.manual_seed(fan_in)
    module = merge(fan_in) if merge is not blocks.Mean else merge()
    weight = getattr(module, "weight", None)
    if weight is not None:
        assert list(module.state_dict()) == ["weight"]
        with torch.no_grad():
            weight.copy_(torch.randn(fan_in))
    inputs = [to_layout(torch.randn(4, 6, 5, 5), channels_last).requires_grad_() for _ in range(fan_in)]
    out = module(inputs)
    if channels_last:
        assert out.is_contiguous(memory_format=torch.channels_last)
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, [*inputs, *([weight] if weight is not None else [])], grad)
    expected_out = reference(weight, inputs)
    expected = torch.autograd.grad(expected_out, [*inputs, *([weight] if weight is not None else [])], grad)
    assert torch.allclose(out, expected_out, atol=1e-6)
    for g, e in zip(got, expected, strict=True):
        assert torch.allclose(g, e, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(module(inputs), expected_out, atol=1e-6)


def test_fused_merge_gradcheck():
    weight = torch.randn(3, dtype=torch.double, requires_grad=True)
    inputs = [torch.randn(2, 3, 4, 4, dtype=torch.double, requires_grad=True) for _ in range(3)]
    assert torch.autograd.gradcheck(lambda w, *xs: blocks._InputSigmoidSum.apply(w, *xs), (weight, *inputs))


def plain_then_node(merge, node, inputs):  # the module path the fused training form replaces
    return node(merge(inputs))


@pytest.mark.parametrize("stage, downsample", [(False, "maxpool"), (True, "maxpool"), (True, "stride")])
@pytest.mark.parametrize("weight", [1.3, 0.0, -0.7])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_sigmoid_node_keeps_outputs_and_gradients(stage, downsample, weight, channels_last):
    torch.manual_seed(0)  # float64: the merge weight's gradient is a sum with much cancellation (BN follows)
    merge, node = blocks.InputSigmoidSum(1).double(), blocks.NodeOp(6, 10, stage, downsample).double()
    with torch.no_grad():
        merge.weight.fill_(weight)
    x = to_layout(torch.randn(4, 6, 8, 8, dtype=torch.double), channels_last).requires_grad_()
    params = [x, *merge.parameters(), *node.parameters()]
    results = []
    for form in (blocks.InputSigmoidSum.then_node, plain_then_node):
        out = form(merge, node, [x])
        results.append((out, *torch.autograd.grad(out, params, torch.ones_like(out) + out)))
    for got, expected in zip(*results, strict=True):
        assert torch.allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_training_step_keeps_outputs_and_gradients(monkeypatch):
    """The whole model in training: the fused sigmoid-node form against the module path."""
    arch = create_architecture(
        "dp", 12, 3, staging="probabilistic", staging_params={"channels": 8, "max_channels": 32}, input_size=16
    )
    model = build_model(arch).train()
    assert any(len(v.scalers) == 1 and isinstance(v.op, blocks.NodeOp) for v in model.vertices.values())
    x = torch.randn(4, 3, 16, 16)
    results = []
    for fused in (True, False):
        if not fused:
            monkeypatch.setattr(blocks.InputSigmoidSum, "then_node", plain_then_node)
        torch.manual_seed(0)
        out = model(x)
        results.append((out, *torch.autograd.grad(out.square().sum(), list(model.parameters()))))
    for got, expected in zip(*results, strict=True):
        assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5)
