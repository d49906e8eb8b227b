"""Where profiled shapes come from: ops of sampled architectures (neighbours: `nas.ops` samplers).

nn-Meter samples kernel configurations from the distribution real models use, then
adds samples where its predictor errs. Here the "model zoo" is the search space itself:
`sample_architectures` draws architectures of every generator and staging policy, with
mostly the default settings (what the search explores) and a share of randomised
widths, input sizes and class counts (so other settings are covered too). The
architectures it yields are only a source of op shapes; evaluation architectures are
drawn with other seeds (`EVAL_SEED_OFFSET`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from nas.ops import Op

RANDOM_GENERATORS = ("er", "ba", "ws", "dp")
EVAL_SEED_OFFSET = 10**6  # evaluation (held-out) architectures use seeds from here on


@dataclass
class ArchSpace:
    """A distribution over architectures (defaults: the search's own settings)."""

    generators: tuple[str, ...] = ("er", "ba", "ws", "dp", "fb")
    nodes: tuple[int, int] = (20, 80)
    input_sizes: tuple[int, ...] = (32, 224)
    stagings: tuple[str, ...] = ("uniform", "greedy", "probabilistic")
    num_classes: tuple[int, ...] = (10, 102)
    in_channels: tuple[int, ...] = (3,)
    randomised_share: float = 0.0  # share of draws with random widths/sizes (profiling only)
    baselines_share: float = 0.0  # share of draws from lcp/cifarnet/vgg11/resnet50
    staging_params: dict = field(default_factory=dict)  # of non-randomised draws (default: the schema's)
    fb_params: dict = field(default_factory=dict)  # of non-randomised FB draws


PROFILE_SPACE = ArchSpace(in_channels=(1, 3), num_classes=(10, 102, 1000), randomised_share=0.35, baselines_share=0.1)


def sample_architecture(rng: random.Random, space: ArchSpace, seed: int) -> nx.DiGraph:
    """One architecture drawn from `space` (deterministic in `rng` and `seed`)."""
    from nas.factory import create_architecture

    size = rng.choice(space.input_sizes)
    classes = rng.choice(space.num_classes)
    channels = rng.choice(space.in_channels)
    common = {"input_size": size, "num_classes": classes, "in_channels": channels}
    if rng.random() < space.baselines_share:
        name = rng.choice(("lcp", "lcp", "cifarnet", "vgg11", "resnet50"))
        params: dict[str, Any] = {}
        if name == "lcp":
            params = {
                "model": rng.choice(("cifarnet", "vgg11")),
                "splits": rng.choice((1, 2, 4, 8)),
                "widen": rng.choice((0.0, 0.4)),
            }
        if name in ("lcp", "cifarnet") and size > 64:  # flattening FCs at 224 px are gigantic
            common["input_size"] = 32
        return create_architecture(name, 0, seed, params=params, **common)
    randomised = rng.random() < space.randomised_share
    if randomised:
        common["input_size"] = rng.choice((16, 32, 48, 64, 96, 128, 160, 224))
    generator = rng.choice(space.generators)
    nodes = rng.randint(*space.nodes)
    if generator == "fb":
        params = {"regime": rng.choice(("small", "regular")) if randomised else "small", **space.fb_params}
        if randomised:
            params["channels"] = rng.choice((16, 32, 48, 64, 78, 109, 154))
            params["head_channels"] = rng.choice((0, 256, 1280))
        nodes = max(nodes, 3 * (5 if params["regime"] == "small" else 7))
        if common["input_size"] < 64 and params["regime"] == "regular":
            params["regime"] = "small"
        return create_architecture("fb", nodes, seed, params=params, **common)
    staging = rng.choice(space.stagings)
    staging_params: dict[str, Any] = dict(space.staging_params)
    params = {}
    if randomised:
        c = rng.choice((8, 12, 16, 24, 32, 48, 64, 96))
        staging_params = {
            "channels": c,
            "max_channels": c * rng.choice((1, 2, 4, 8, 16)),
            "min_size": rng.choice((1, 2, 4)),
            "head_channels": rng.choice((0, 0, 256, 1280)),
            "p": rng.choice((0.3, 0.5, 0.7)),
        }
        drawn: dict[str, dict[str, Any]] = {
            "er": {"p": rng.uniform(0.05, 0.3)},
            "ba": {"m": rng.randint(1, 4)},
            "ws": {"k": rng.choice((2, 4, 6)), "p": rng.uniform(0.1, 0.5)},
            "dp": {"beta": rng.uniform(0.4, 0.8)},
        }
        params = drawn[generator]
    return create_architecture(
        generator, nodes, seed, params=params, staging=staging, staging_params=staging_params, **common
    )


def sample_architectures(count: int, seed: int = 0, space: ArchSpace = PROFILE_SPACE) -> Iterator[nx.DiGraph]:
    rng = random.Random(seed)
    for i in range(count):
        yield sample_architecture(rng, space, seed * 100_003 + i)


MAX_PROFILE_ELEMENTS = 2**23  # skip ops whose tensors/weights exceed ~32 MB (float32)


def profilable(op: Op) -> bool:
    """Small enough to instantiate and time quickly on a small CPU."""
    f = op.features()
    return f["params"] <= MAX_PROFILE_ELEMENTS and f["elements"] <= MAX_PROFILE_ELEMENTS and f["macs"] <= 4e9
