"""Architectures of every generator × staging policy build, run and cost what we say."""

import networkx as nx
import pytest
import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from nas.arch import annotate, total_macs, total_params
from nas.builder import build_model, count_parameters
from nas.dag import INPUT, OUTPUT, topological_order
from nas.execute import IMAGE
from nas.factory import BASELINES, create_architecture, random_architecture
from nas.generators import GENERATORS
from nas.staging import STAGING

SMALL = {"channels": 8, "max_channels": 32, "min_size": 2}


def forward_backward(model, size, channels=3, batch=2):
    x = torch.randn(batch, channels, size, size)
    out = model(x)
    out.sum().backward()
    return out


@pytest.mark.parametrize("generator", GENERATORS.names())
@pytest.mark.parametrize("staging", STAGING.names())
def test_every_generator_and_staging_runs_forward_backward(generator, staging):
    for seed in range(3):
        for size, nodes in ((32, 16), (224, 10)):
            arch = random_architecture(
                generator, nodes, seed=seed, staging=staging, staging_params=SMALL, input_size=size, num_classes=5
            )
            assert [v for v in arch if arch.in_degree(v) == 0] == [INPUT]
            assert [v for v in arch if arch.out_degree(v) == 0] == [OUTPUT]
            model = build_model(arch)
            out = forward_backward(model, size)
            assert out.shape == (2, 5)
            assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", BASELINES.names())
@pytest.mark.parametrize("size", [32, 224])
def test_baselines_run_forward_backward(name, size):
    params = {"channels": 8} if name == "fb" else {}
    arch = create_architecture(name, nodes=15, seed=1, params=params, input_size=size, num_classes=7)
    model = build_model(arch)
    if name == "resnet50" and size == 224:
        model.eval()  # forward only: a full ResNet-50 backward at 224 is slow on 2 cores
        with torch.no_grad():
            assert model(torch.randn(1, 3, size, size)).shape == (1, 7)
        return
    assert forward_backward(model, size).shape == (2, 7)


def test_resnet50_is_torchvisions():
    arch = create_architecture("resnet50", nodes=0, input_size=224, num_classes=102)
    reference = torchvision.models.resnet50(num_classes=102)
    assert total_params(arch) == count_parameters(build_model(arch)) == count_parameters(reference)
    with FlopCounterMode(display=False) as counter:
        reference(torch.randn(1, 3, 224, 224))
    assert 2 * total_macs(arch) == counter.get_total_flops()


def test_randwire_small_regime_follows_table_1():
    arch = create_architecture("fb", nodes=40, seed=0, params={"channels": 78}, input_size=224, num_classes=1000)
    assert [c[1:] for c in arch.nodes[INPUT]["convs"]] == [[39, 2], [78, 2]]  # C/2 s2, C s2
    merges = [v for v in arch if arch.nodes[v]["op"] == "merge"]
    assert len(merges) == 3
    stage_channels = [arch.nodes[m]["channels"] for m in merges]
    stage_sizes = [arch.nodes[m]["size"] for m in merges]
    assert stage_channels == [78, 156, 312] and stage_sizes == [28, 14, 7]
    nodes = [v for v in arch if arch.nodes[v]["op"] == "node"]
    assert len(nodes) == 40
    assert arch.nodes[OUTPUT]["conv_channels"] == 1280
    for v in nodes:  # a stage's input nodes (fed by the previous stage) use stride 2
        fed_by_stage = any(arch.nodes[u]["op"] in ("merge", "stem") for u in arch.predecessors(v))
        assert arch.nodes[v]["stage"] == fed_by_stage


@pytest.mark.parametrize(
    "regime, per_stage, nodes, sizes",
    [
        ("small", False, 40, [8, 16, 16]),  # `nodes` in total, split N/2 : N : N
        ("small", True, 32, [16, 32, 32]),  # RandWire's own N = 32 per stage (its Table 1)
        ("regular", True, 32, [16, 32, 32, 32]),
    ],
)
def test_randwire_stage_sizes(regime, per_stage, nodes, sizes):
    arch = create_architecture(
        "fb",
        nodes=nodes,
        seed=1,
        params={"channels": 8, "regime": regime, "per_stage": per_stage},
        input_size=64,
        num_classes=10,
    )
    merges = [v for v in arch if arch.nodes[v]["op"] == "merge"]
    stage_of = {}
    for v in (v for v in arch if arch.nodes[v]["op"] == "node"):
        stage_of[v] = min(i for i, m in enumerate(merges) if int(v) < int(m))
    assert [list(stage_of.values()).count(i) for i in range(len(merges))] == sizes


def test_lcp_branches_meet_only_at_input_and_classifier():
    arch = create_architecture("lcp", nodes=0, params={"splits": 4, "widen": 0.4}, input_size=32)
    inner = arch.subgraph(v for v in arch if v not in (INPUT, OUTPUT))
    branches = list(nx.weakly_connected_components(inner))
    assert len(branches) == 4 and all(len(b) == 4 for b in branches)
    widths = sorted({arch.nodes[v]["channels"] for v in inner})
    assert widths == sorted({round(c / 4 * 1.4) for c in (64, 384, 192)})


ALL = [(g, {}) for g in GENERATORS.names()] + [(b, {"channels": 8} if b == "fb" else {}) for b in BASELINES.names()]


@pytest.mark.parametrize("generator,params", ALL)
def test_analytic_costs_match_the_built_module(generator, params):
    for size in (32, 64):
        arch = create_architecture(
            generator,
            15,
            seed=3,
            params=params,
            staging="probabilistic",
            staging_params=SMALL,
            input_size=size,
            num_classes=10,
        )
        model = build_model(arch).eval()
        assert total_params(arch) == count_parameters(model)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.randn(1, 3, size, size))
        assert 2 * total_macs(arch) == counter.get_total_flops()


def test_scaling_blocks_inserted_where_inputs_differ():
    arch = nx.DiGraph([(INPUT, 0), (INPUT, 1), (0, 2), (1, 2), (2, OUTPUT)], input_size=32, num_classes=3)
    arch.nodes[INPUT].update(op="stem", convs=[[3, 8, 1]])
    arch.nodes[0].update(op="node", channels=16, stage=True)
    arch.nodes[1].update(op="node", channels=8, stage=False)
    arch.nodes[2].update(op="node", channels=16, stage=False)
    arch.nodes[OUTPUT].update(op="head")
    annotate(arch)
    assert (arch.nodes[2]["in_channels"], arch.nodes[2]["in_size"]) == (16, 16)
    scalers = build_model(arch).vertices["2"].scalers
    assert scalers[0].conv is None  # vertex 0: already 16 channels at 16×16
    assert scalers[1].conv.in_channels == 8 and scalers[1].conv.out_channels == 16
    assert scalers[1].size == 16  # max-pooled from 32 down to 16
    assert build_model(arch)(torch.randn(1, 3, 32, 32)).shape == (1, 3)


def test_staging_policies():
    kw = dict(staging_params={"channels": 8, "max_channels": 64, "min_size": 2}, input_size=32)
    uniform = random_architecture("er", 20, seed=0, staging="uniform", **kw)
    greedy = random_architecture("er", 20, seed=0, staging="greedy", **kw)
    assert {uniform.nodes[v]["channels"] for v in uniform if isinstance(v, int)} == {8}
    assert not any(uniform.nodes[v]["stage"] for v in uniform if isinstance(v, int))
    for v in greedy:  # greedy stages wherever channels and map size allow
        d = greedy.nodes[v]
        if isinstance(v, int):
            can = d["in_channels"] < 64 and d["in_size"] // 2 >= 2
            assert d["stage"] == can
    never = random_architecture(
        "er", 20, seed=0, staging="probabilistic", staging_params={**kw["staging_params"], "p": 0.0}, input_size=32
    )
    always = random_architecture(
        "er", 20, seed=0, staging="probabilistic", staging_params={**kw["staging_params"], "p": 1.0}, input_size=32
    )
    assert [never.nodes[v]["stage"] for v in never if isinstance(v, int)] == [
        uniform.nodes[v]["stage"] for v in uniform if isinstance(v, int)
    ]
    assert [always.nodes[v]["stage"] for v in always if isinstance(v, int)] == [
        greedy.nodes[v]["stage"] for v in greedy if isinstance(v, int)
    ]


def test_aggregation_variants_differ_and_both_train():
    outs = []
    for aggregation in ("input_sigmoid", "weight_sigmoid"):
        torch.manual_seed(0)
        arch = random_architecture("ws", 10, seed=0, staging_params=SMALL, aggregation=aggregation)
        model = build_model(arch)
        outs.append(forward_backward(model, 32, batch=2).detach())
    assert not torch.allclose(*outs)


def test_executor_frees_outputs_after_last_use():
    arch = random_architecture("dp", 30, seed=2, staging_params=SMALL)
    model = build_model(arch)
    produced, freed = {IMAGE}, []
    for step in model.plan:
        assert set(step.free) <= set(step.inputs) <= produced
        freed += step.free
        produced.add(step.vertex)
    assert sorted(freed) == sorted(produced - {OUTPUT})  # every tensor freed exactly once
    chain = create_architecture("vgg11", 0, input_size=32)
    assert max(len(step.inputs) for step in build_model(chain).plan) == 1


def test_hooks_see_every_step_and_leave_the_output_unchanged():
    arch = random_architecture("ws", 12, seed=1, staging_params=SMALL)
    model, x = build_model(arch).eval(), torch.randn(1, 3, 32, 32)
    seen, live = [], []
    with torch.inference_mode():
        hooked = model(x, lambda step, values: live.append(len(values)), lambda step, out: seen.append(step.vertex))
        assert torch.equal(hooked, model(x))
    assert seen == [str(v) for v in topological_order(arch)]
    assert max(live) < arch.number_of_nodes()  # outputs are dropped after their last use
