"""The static communication plan: each cut tensor once per destination unit, nothing missing."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw.runtime.plan import IMAGE, RESULT, ROOT, build_plan, single_unit, topological_chunks
from nas.dag import INPUT, OUTPUT, compute_vertices, topological_order
from nas.factory import create_architecture

GENERATORS = ["er", "ba", "ws", "dp", "fb", "lcp", "cifarnet"]


def tiny(generator: str, seed: int = 0, size: int = 16):
    size = max(size, 32) if generator in ("vgg11", "resnet50") else size  # five stride-2 stages
    nodes = 15 if generator == "fb" else 10
    params = {"channels": 8} if generator == "fb" else {}
    return create_architecture(
        generator,
        nodes,
        seed,
        params=params,
        staging="probabilistic",
        staging_params={"channels": 8, "max_channels": 32},
        input_size=size,
        num_classes=10,
    )


def expected_transfers(arch, unit):
    """Independent count: for every produced tensor, the set of other units that consume it."""
    pairs = set()
    for u in arch.nodes:
        for dst in {unit[w] for w in arch.successors(u)} - {unit[u]}:
            pairs.add((u, unit[u], dst))
    if unit[INPUT] != ROOT:
        pairs.add((IMAGE, ROOT, unit[INPUT]))
    if unit[OUTPUT] != ROOT:
        pairs.add((OUTPUT, unit[OUTPUT], ROOT))
    return pairs


def random_assignment(arch, units, seed):
    rng = random.Random(seed)
    return {v: rng.randrange(units) for v in arch.nodes}


@pytest.mark.parametrize("generator", GENERATORS)
@given(seed=st.integers(0, 10_000), units=st.integers(1, 4))
@settings(max_examples=15, deadline=None)
def test_plan_sends_each_cut_tensor_once_per_unit(generator, seed, units):
    arch = tiny(generator)
    assignment = random_assignment(arch, units, seed)
    plan = build_plan(arch, assignment, units)
    got = [(t.tensor, t.src, t.dst) for t in plan.transfers]
    assert len(got) == len(set(got))  # never twice to the same unit
    assert set(got) == expected_transfers(arch, plan.assignment)
    tensor_bytes = {u: arch.edges[u, w]["bytes"] for u, w in arch.edges}
    tensor_bytes[IMAGE] = 3 * 16 * 16 * 4
    tensor_bytes[OUTPUT] = arch.nodes[OUTPUT]["channels"] * 4  # flat logits
    assert plan.bytes == sum(tensor_bytes[u] for u, _, _ in got)


@pytest.mark.parametrize("generator", GENERATORS)
def test_every_input_is_local_or_received_before_use(generator):
    arch = tiny(generator, seed=3)
    for units in (2, 3):
        plan = build_plan(arch, random_assignment(arch, units, 7), units)
        computed = [v for rank in plan.ranks for v in rank.vertices]
        assert sorted(computed, key=str) == sorted(arch.nodes, key=str)  # each vertex on exactly one rank
        for rank in plan.ranks:
            available = {t.tensor for t in rank.recvs}
            for step in rank.steps:
                assert all(u in available for u in step.inputs), (rank.rank, step.vertex)
                available.add(step.vertex)
            freed = [u for step in rank.steps for u in step.free]
            assert len(freed) == len(set(freed))


def test_receive_buffers_have_the_producers_shapes():
    arch = tiny("lcp")  # flat fc outputs and spatial conv outputs
    plan = build_plan(arch, {v: i % 2 for i, v in enumerate(arch.nodes)}, 2)
    for t in plan.transfers:
        if t.tensor == IMAGE:
            assert t.shape == (3, 16, 16)
            continue
        attrs = arch.nodes[t.tensor]
        expected = (attrs["channels"], attrs["size"], attrs["size"]) if attrs["size"] else (attrs["channels"],)
        assert t.shape == expected


def test_input_and_output_default_to_the_root_and_image_moves_when_the_stem_does():
    arch = tiny("dp")
    compute_only = {v: 1 for v in compute_vertices(arch)}
    plan = build_plan(arch, compute_only, 2)
    assert plan.assignment[INPUT] == plan.assignment[OUTPUT] == ROOT
    assert not any(t.tensor == IMAGE for t in plan.transfers)
    moved = build_plan(arch, {**compute_only, INPUT: 1, OUTPUT: 1}, 2)
    assert {(t.tensor, t.src, t.dst) for t in moved.transfers} == {(IMAGE, 0, 1), (OUTPUT, 1, 0)}
    root_steps = [s.vertex for s in moved.ranks[ROOT].steps]
    assert root_steps == [IMAGE, RESULT]


def test_single_unit_plan_sends_nothing():
    arch = tiny("ba")
    plan = build_plan(arch, single_unit(arch), 3)
    assert plan.messages == 0 and plan.ranks[1].steps == [] and plan.ranks[2].steps == []


def test_topological_chunks_are_contiguous_and_balanced():
    arch = tiny("cifarnet", size=32)
    chunks = topological_chunks(arch, 2)
    order = [v for v in topological_order(arch) if v in chunks]
    units = [chunks[v] for v in order]
    assert units == sorted(units) and set(units) == {0, 1}  # never goes back to an earlier unit


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"nope": 0}, "not in the architecture"),
        ({"0": 0}, "not in the architecture"),  # vertex ids are the graph's node ids, not their strings
        ({0: 5}, "units are integers 0..1"),
        ({0: 0}, "without a unit"),
    ],
)
def test_bad_assignments_are_rejected_with_a_clear_message(bad, message):
    arch = tiny("er")
    full = {v: 0 for v in compute_vertices(arch)}
    assignment = bad if message == "without a unit" else {**full, **bad}
    with pytest.raises(ValueError, match=message):
        build_plan(arch, assignment, 2)
