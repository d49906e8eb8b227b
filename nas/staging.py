"""Staging policies (docs/method.md §1): which vertices downsample and how many channels each has.

Staging a vertex max-pools its input by 2 and doubles its channels (capped at
`max_channels`). Vertices are visited in topological order; a vertex's input shape is
the merge of its predecessors' (smallest size, largest channel count), so the scaling
blocks the builder inserts follow from these choices. A vertex never stages when that
would shrink its map below `min_size`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import networkx as nx

from nas.checks import require
from nas.dag import INPUT, OUTPUT, compute_vertices
from nas.registry import Registry
from nas.shapes import conv_out, pool_out

STAGING: Registry = Registry("staging policy")
register_staging = STAGING.register

# decide(rng, in_channels, in_size) -> stage?
Decision = Callable[[random.Random, int, int], bool]


@register_staging("uniform")
def uniform(**_) -> Decision:
    """Never stage: one channel count and one map size everywhere."""
    return lambda rng, channels, size: False


@register_staging("greedy")
def greedy(max_channels: int, **_) -> Decision:
    """Stage at every vertex while its channel count is below the limit."""
    return lambda rng, channels, size: channels < max_channels


@register_staging("probabilistic")
def probabilistic(max_channels: int, p: float, **_) -> Decision:
    """Stage with probability p while below the limit."""
    require(0.0 <= p <= 1.0, f"staging p must be in [0, 1], got {p}")
    return lambda rng, channels, size: channels < max_channels and rng.random() < p


def default_stem(input_size: int, channels: int) -> dict:
    """3×3 conv stem; large inputs (≥ 128 px) are brought down 4× first, like ResNet."""
    if input_size >= 128:
        return {"op": "stem", "convs": [[3, channels, 2]], "pool": 2}
    return {"op": "stem", "convs": [[3, channels, 1]], "pool": 0}


def apply_staging(
    arch: nx.DiGraph,
    policy: str = "uniform",
    channels: int = 32,
    max_channels: int = 256,
    p: float = 0.5,
    min_size: int = 4,
    seed: int | None = None,
    head_channels: int = 0,
) -> nx.DiGraph:
    """Give every vertex of a bare DAG (with input/output) its block attributes."""
    require(1 <= channels <= max_channels, f"need 1 <= channels <= max_channels, got {channels} and {max_channels}")
    require(min_size >= 1, f"min_size must be >= 1, got {min_size}")
    decide = STAGING.create(policy, max_channels=max_channels, p=p)
    input_size = int(arch.graph["input_size"])
    rng = random.Random(arch.graph.get("seed", 0) if seed is None else seed)
    stem = dict(arch.graph.get("stem") or default_stem(input_size, channels))
    arch.nodes[INPUT].update(stem)
    size = input_size
    for kernel, _, stride in stem["convs"]:
        size = conv_out(size, kernel, stride)
    if stem.get("pool"):
        size = pool_out(size, stem["pool"])
    image_channels = arch.graph.get("in_channels", 3)
    shape = {INPUT: (stem["convs"][-1][1] if stem["convs"] else image_channels, size)}
    for v in compute_vertices(arch):
        in_channels = max(shape[u][0] for u in arch.predecessors(v))
        in_size = min(shape[u][1] for u in arch.predecessors(v))
        stage = in_size // 2 >= min_size and decide(rng, in_channels, in_size)
        out_channels = min(2 * in_channels, max_channels) if stage else in_channels
        arch.nodes[v].update(op="node", merge="sum", channels=out_channels, stage=stage, downsample="maxpool")
        shape[v] = (out_channels, in_size // 2 if stage else in_size)
    arch.nodes[OUTPUT].update(op="head", merge="sum", pool="avg", conv_channels=head_channels, hidden=[])
    arch.graph.update(
        staging=policy,
        staging_params={"channels": channels, "max_channels": max_channels, "p": p, "min_size": min_size},
    )
    return arch
