"""Baselines as architectures of the same kind, so every metric applies to them too.

- `fb`: RandWire (Xie et al., ICCV 2019), Table 1 "small" and "regular" regimes, with
  its staging kept: conv stem, random-graph stages joined by mean-merge vertices,
  1×1 conv to 1280, pooling, FC.
- `lcp`: LCP split-k (Hadidi et al., CSCE 2023): k independent narrow copies of a chain
  model that meet only at the input and at a final classifier.
- `cifarnet`, `vgg11`: chain references; `resnet50`: torchvision's ResNet-50, one
  vertex per bottleneck (the builder uses torchvision's own Bottleneck module).

Parameter defaults are the `generator` schemas' (nas/config.py).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

import networkx as nx

from nas.checks import require, require_one_of
from nas.config import FBConfig, LCPConfig
from nas.dag import INPUT, OUTPUT
from nas.generators import watts_strogatz
from nas.registry import Registry

BASELINES: Registry = Registry("baseline")
register_baseline = BASELINES.register

IDENTITY_STEM = {"op": "stem", "convs": [], "pool": 0}
CIFARNET: list[tuple[str, int, *tuple[int, ...]]] = [("conv", 64, 5, 3), ("conv", 64, 5, 3), ("fc", 384), ("fc", 192)]
VGG11: list[int | Literal["M"]] = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


def _new(name: str, input_size: int, num_classes: int, **graph) -> nx.DiGraph:
    attrs = {"aggregation": "input_sigmoid", "staging": "fixed", **graph}
    return nx.DiGraph(generator=name, input_size=input_size, num_classes=num_classes, **attrs)


def _chain_layers(model: str, divisor: int = 1, widen: float = 0.0) -> list[dict]:
    """Vertex attributes of a chain model with every width divided by `divisor`."""

    def width(c: int) -> int:
        return max(1, round(c / divisor * (1.0 + widen)))

    if model == "cifarnet":
        layers: list[dict] = []
        for kind, channels, *rest in CIFARNET:
            attrs = {"op": kind, "merge": "single", "channels": width(channels)}
            if kind == "conv":
                attrs.update(kernel=rest[0], pool=rest[1])
            layers.append(attrs)
        return layers
    if model == "vgg11":
        layers = []
        for item in VGG11:
            if item == "M":
                layers[-1]["pool"] = 2
            else:
                layers.append({"op": "conv", "merge": "single", "channels": width(item), "kernel": 3, "pool": 0})
        return layers
    raise ValueError(f"unknown chain model {model!r}; valid: cifarnet, vgg11")


def _head(model: str, merge: str) -> dict:
    pool = "flatten" if model == "cifarnet" else "avg"
    return {"op": "head", "merge": merge, "pool": pool, "conv_channels": 0, "hidden": []}


def _chain(model: str, input_size: int, num_classes: int) -> nx.DiGraph:
    arch = _new(model, input_size, num_classes)
    arch.add_node(INPUT, **IDENTITY_STEM)
    previous: Hashable = INPUT
    for v, attrs in enumerate(_chain_layers(model)):
        arch.add_node(v, **attrs)
        arch.add_edge(previous, v)
        previous = v
    arch.add_node(OUTPUT, **_head(model, "single"))
    arch.add_edge(previous, OUTPUT)
    return arch


@register_baseline("cifarnet")
def cifarnet(input_size: int = 32, num_classes: int = 10, **_) -> nx.DiGraph:
    """TF-slim CifarNet (conv5-pool-conv5-pool-fc384-fc192-fc), BatchNorm instead of LRN."""
    return _chain("cifarnet", input_size, num_classes)


@register_baseline("vgg11")
def vgg11(input_size: int = 32, num_classes: int = 10, **_) -> nx.DiGraph:
    """VGG-11 convolution stack (BatchNorm), global average pool, one FC."""
    return _chain("vgg11", input_size, num_classes)


@register_baseline("lcp")
def lcp(
    input_size: int = 32,
    num_classes: int = 10,
    model: str = LCPConfig.model,
    splits: int = LCPConfig.splits,
    widen: float = LCPConfig.widen,
    **_,
) -> nx.DiGraph:
    """`splits` independent branches of `model`, each layer 1/splits wide (× (1+widen))."""
    require(splits >= 1, f"lcp splits must be >= 1, got {splits}")
    require(widen >= 0, f"lcp widen must be >= 0, got {widen}")
    arch = _new("lcp", input_size, num_classes, generator_params={"model": model, "splits": splits, "widen": widen})
    arch.add_node(INPUT, **IDENTITY_STEM)
    arch.add_node(OUTPUT, **_head(model, "concat"))
    v = 0
    for _branch in range(splits):
        previous: Hashable = INPUT
        for attrs in _chain_layers(model, splits, widen):
            arch.add_node(v, **attrs)
            arch.add_edge(previous, v)
            previous, v = v, v + 1
        arch.add_edge(previous, OUTPUT)
    return arch


@register_baseline("resnet50")
def resnet50(input_size: int = 224, num_classes: int = 1000, **_) -> nx.DiGraph:
    """torchvision ResNet-50: stem, 16 bottleneck vertices in a chain, avg-pool, FC."""
    arch = _new("resnet50", input_size, num_classes)
    arch.add_node(INPUT, op="stem", convs=[[7, 64, 2]], pool=3)
    previous: Hashable  # INPUT, then the vertex ids
    previous, v = INPUT, 0
    for stage, (blocks, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512), strict=True)):
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            arch.add_node(v, op="bottleneck", merge="single", channels=4 * width, width=width, stride=stride)
            arch.add_edge(previous, v)
            previous, v = v, v + 1
    arch.add_node(OUTPUT, **_head("resnet50", "single"))
    arch.add_edge(previous, OUTPUT)
    return arch


REGIMES = {
    # name: (stem convs as (kernel, channel multiple of C, stride), stage sizes as
    # fractions of `nodes`, stage channel multiples of C)
    "small": ([(3, 0.5, 2), (3, 1, 2)], (1, 2, 2), (1, 2, 4)),
    "regular": ([(3, 0.5, 2)], (1, 2, 2, 2), (1, 2, 4, 8)),
}


@register_baseline("fb")
def randwire(
    nodes: int,
    seed: int = 0,
    regime: str = FBConfig.regime,
    channels: int = FBConfig.channels,
    k: int = FBConfig.k,
    p: float = FBConfig.p,
    input_size: int = 224,
    num_classes: int = 1000,
    head_channels: int = FBConfig.head_channels,
    per_stage: bool = FBConfig.per_stage,
    **_,
) -> nx.DiGraph:
    """RandWire-WS(k, p) with its staging; `nodes` compute nodes split like N/2, N, N.

    RandWire's N is per stage; by default `nodes` is the total across stages so that FB
    and the paper's generators are compared at equal vertex counts (`per_stage=True`:
    `nodes` is RandWire's N, stages of N/2, N, N(, N)). Within a stage edges
    point from lower to higher id, input nodes convolve with stride 2, and the stage's
    output is the mean of its sink nodes (a parameter-free `merge` vertex).
    """
    require_one_of("fb regime", regime, REGIMES)
    stem, fractions, multiples = REGIMES[regime]
    minimum = 6 if per_stage else 3 * sum(fractions)
    require(nodes >= minimum, f"fb ({regime}) needs nodes >= {minimum}, got {nodes}")
    arch = _new(
        "fb",
        input_size,
        num_classes,
        aggregation="weight_sigmoid",
        nodes=nodes,
        seed=seed,
        generator_params={"regime": regime, "channels": channels, "k": k, "p": p, "per_stage": per_stage},
    )
    arch.add_node(INPUT, op="stem", convs=[[kern, max(1, round(mult * channels)), s] for kern, mult, s in stem], pool=0)
    if per_stage:
        sizes = [nodes * f // fractions[-1] for f in fractions]
    else:
        sizes = [nodes * f // sum(fractions) for f in fractions]
        sizes[-1] += nodes - sum(sizes)
    previous: Hashable  # INPUT, then the vertex ids
    previous, offset = INPUT, 0
    for stage, (size, multiple) in enumerate(zip(sizes, multiples, strict=True)):
        graph = watts_strogatz(size, k=min(k, size - 1 - (size - 1) % 2), p=p, seed=seed * 100 + stage)
        for u in range(size):
            arch.add_node(
                offset + u, op="node", merge="sum", channels=multiple * channels, stage=False, downsample="stride"
            )
        arch.add_edges_from((offset + min(u, w), offset + max(u, w)) for u, w in graph.edges)
        merge = offset + size
        arch.add_node(merge, op="merge", merge="mean")
        for u in range(offset, offset + size):
            if arch.in_degree(u) == 0:
                arch.nodes[u]["stage"] = True
                arch.add_edge(previous, u)
            if arch.out_degree(u) == 0:
                arch.add_edge(u, merge)
        previous, offset = merge, merge + 1
    arch.add_node(OUTPUT, op="head", merge="single", pool="avg", conv_channels=head_channels, hidden=[])
    arch.add_edge(previous, OUTPUT)
    return arch
