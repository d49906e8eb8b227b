"""Dataclass schemas of the `generator` and `staging` config groups.

Registered in Hydra's ConfigStore as `schema/<group>/<name>`; each YAML option extends
its schema, so a misspelt key or a wrong type fails at composition with Hydra's own
message, and `__post_init__` range checks run when the config is turned into objects
(`OmegaConf.to_object`) before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore

from nas.arch import AGGREGATIONS
from nas.checks import require, require_one_of
from nas.dag import ORIENTATIONS


def _probability(key: str, value: float) -> None:
    require(0.0 <= value <= 1.0, f"{key} must be in [0, 1], got {value}")


@dataclass
class GeneratorConfig:
    name: str = "dp"
    # index (RandWire's published rule, lower → higher id; the paper's ER/BA/WS build on
    # RandWire) | dfs (depth-first discovery order). index by default: measured by
    # benchmarks/orientation_paths.py (40 vertices, 40 seeds), dfs turns ER and WS into
    # near-chains (median longest path 32.5 and 36 of 40; index: 10 and 30), the
    # opposite of the wide architectures this framework looks for.
    orientation: str = "index"
    aggregation: str = "input_sigmoid"  # input_sigmoid (the paper) | weight_sigmoid (RandWire)

    def __post_init__(self) -> None:
        require_one_of("generator.orientation", self.orientation, ORIENTATIONS)
        require_one_of("generator.aggregation", self.aggregation, AGGREGATIONS)

    def params(self) -> dict[str, Any]:
        """The generator's own parameters (what `create_generator` takes besides n, seed)."""
        return {k: v for k, v in vars(self).items() if k not in ("name", "orientation", "aggregation")}


@dataclass
class ERConfig(GeneratorConfig):
    name: str = "er"
    p: float = 0.15

    def __post_init__(self) -> None:
        super().__post_init__()
        _probability("generator.p", self.p)


@dataclass
class BAConfig(GeneratorConfig):
    name: str = "ba"
    m: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.m >= 1, f"generator.m must be >= 1, got {self.m}")


@dataclass
class WSConfig(GeneratorConfig):
    name: str = "ws"
    k: int = 4
    p: float = 0.25

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.k >= 2, f"generator.k must be >= 2, got {self.k}")
        _probability("generator.p", self.p)


@dataclass
class DPConfig(GeneratorConfig):
    name: str = "dp"
    # Not published. Chosen (and re-checked under the index orientation, 40 vertices,
    # 40 seeds, uniform staging) for a short, wide DAG of several clusters, each joined
    # to input and output: median longest path 13 of 40 (32 %), 4 clusters, width 10,
    # 1.2 edges per vertex. β = 0.5 falls apart into 11 clusters of ~4 (path 7); β = 0.7
    # or p = 1.0 fuses into 1-2 clusters with paths of 20-21 (over 50 %).
    p: float = 0.8
    alpha: float = 1.0
    beta: float = 0.6

    def __post_init__(self) -> None:
        super().__post_init__()
        _probability("generator.p", self.p)
        require(self.alpha >= 0, f"generator.alpha must be >= 0, got {self.alpha}")
        require(0 < self.beta < 1, f"generator.beta must be in (0, 1), got {self.beta}")


@dataclass
class FBConfig(GeneratorConfig):
    name: str = "fb"
    aggregation: str = "weight_sigmoid"
    regime: str = "small"
    channels: int = 78
    k: int = 4
    p: float = 0.75
    head_channels: int = 1280
    # False: `nodes` is the total over the stages (equal vertex counts with the other
    # generators) | True: `nodes` is RandWire's N per stage (N/2, N, N: 2.5 N in all)
    per_stage: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        require_one_of("generator.regime", self.regime, ("small", "regular"))
        require(self.channels >= 2, f"generator.channels must be >= 2, got {self.channels}")
        _probability("generator.p", self.p)


@dataclass
class LCPConfig(GeneratorConfig):
    name: str = "lcp"
    model: str = "cifarnet"
    splits: int = 2
    widen: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require_one_of("generator.model", self.model, ("cifarnet", "vgg11"))
        require(self.splits >= 1, f"generator.splits must be >= 1, got {self.splits}")
        require(self.widen >= 0, f"generator.widen must be >= 0, got {self.widen}")


@dataclass
class ChainConfig(GeneratorConfig):
    """Fixed chain references (cifarnet, vgg11, resnet50): no parameters."""

    name: str = "cifarnet"


@dataclass
class StagingConfig:
    name: str = "probabilistic"  # uniform | greedy | probabilistic
    channels: int = 32  # channels after the stem (C)
    max_channels: int = 256  # staging stops at this channel count (not published)
    p: float = 0.5  # staging probability of the probabilistic policy
    min_size: int = 4  # never stage a map below this side length
    head_channels: int = 0  # 1×1 conv before pooling in the head (0 = none)

    def __post_init__(self) -> None:
        from nas.staging import STAGING

        require_one_of("staging", self.name, STAGING.names())
        require(self.channels >= 1, f"staging.channels must be >= 1, got {self.channels}")
        require(
            self.max_channels >= self.channels,
            f"staging.max_channels must be >= staging.channels ({self.channels}), got {self.max_channels}",
        )
        _probability("staging.p", self.p)
        require(self.min_size >= 1, f"staging.min_size must be >= 1, got {self.min_size}")

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "name"}


GENERATOR_SCHEMAS = {
    "er": ERConfig,
    "ba": BAConfig,
    "ws": WSConfig,
    "dp": DPConfig,
    "fb": FBConfig,
    "lcp": LCPConfig,
    "chain": ChainConfig,
}


def register_configs(cs: ConfigStore | None = None) -> None:
    cs = cs or ConfigStore.instance()
    for name, schema in GENERATOR_SCHEMAS.items():
        cs.store(group="schema/generator", name=name, node=schema)
    cs.store(group="schema/staging", name="staging", node=StagingConfig)
