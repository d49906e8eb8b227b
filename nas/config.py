"""Dataclass schemas of the `generator` and `staging` config groups.

Registered in Hydra's ConfigStore as `schema/<group>/<name>`; each YAML option extends
its schema, so a misspelt key or a wrong type fails at composition with Hydra's own
message, and `__post_init__` range checks run when the config is turned into objects
(`OmegaConf.to_object`) before any work starts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from nas.arch import AGGREGATIONS
from nas.dag import ORIENTATIONS


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _probability(name: str, value: float) -> None:
    _require(0.0 <= value <= 1.0, f"{name} must be in [0, 1], got {value}")


@dataclass
class GeneratorConfig:
    name: str = "dp"
    orientation: str = "dfs"  # dfs (the paper) | index (RandWire: lower → higher id)
    aggregation: str = "input_sigmoid"  # input_sigmoid (the paper) | weight_sigmoid (RandWire)

    def __post_init__(self) -> None:
        _require(self.orientation in ORIENTATIONS, f"generator.orientation must be one of {ORIENTATIONS}, got {self.orientation!r}")
        _require(self.aggregation in AGGREGATIONS, f"generator.aggregation must be one of {AGGREGATIONS}, got {self.aggregation!r}")

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
        _require(self.m >= 1, f"generator.m must be >= 1, got {self.m}")


@dataclass
class WSConfig(GeneratorConfig):
    name: str = "ws"
    k: int = 4
    p: float = 0.25

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.k >= 2, f"generator.k must be >= 2, got {self.k}")
        _probability("generator.p", self.p)


@dataclass
class DPConfig(GeneratorConfig):
    name: str = "dp"
    p: float = 0.8
    alpha: float = 1.0
    beta: float = 0.6

    def __post_init__(self) -> None:
        super().__post_init__()
        _probability("generator.p", self.p)
        _require(self.alpha >= 0, f"generator.alpha must be >= 0, got {self.alpha}")
        _require(0 < self.beta < 1, f"generator.beta must be in (0, 1), got {self.beta}")


@dataclass
class FBConfig(GeneratorConfig):
    name: str = "fb"
    orientation: str = "index"
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
        _require(self.regime in ("small", "regular"), f"generator.regime must be small or regular, got {self.regime!r}")
        _require(self.channels >= 2, f"generator.channels must be >= 2, got {self.channels}")
        _probability("generator.p", self.p)


@dataclass
class LCPConfig(GeneratorConfig):
    name: str = "lcp"
    model: str = "cifarnet"
    splits: int = 2
    widen: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.model in ("cifarnet", "vgg11"), f"generator.model must be cifarnet or vgg11, got {self.model!r}")
        _require(self.splits >= 1, f"generator.splits must be >= 1, got {self.splits}")
        _require(self.widen >= 0, f"generator.widen must be >= 0, got {self.widen}")


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

        _require(self.name in STAGING, f"staging must be one of {', '.join(STAGING.names())}, got {self.name!r}")
        _require(self.channels >= 1, f"staging.channels must be >= 1, got {self.channels}")
        _require(self.max_channels >= self.channels, f"staging.max_channels must be >= staging.channels ({self.channels}), got {self.max_channels}")
        _probability("staging.p", self.p)
        _require(self.min_size >= 1, f"staging.min_size must be >= 1, got {self.min_size}")

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "name"}


GENERATOR_SCHEMAS = {
    "er": ERConfig, "ba": BAConfig, "ws": WSConfig, "dp": DPConfig, "fb": FBConfig,
    "lcp": LCPConfig, "chain": ChainConfig,
}


def register_configs(cs: ConfigStore | None = None) -> None:
    cs = cs or ConfigStore.instance()
    for name, schema in GENERATOR_SCHEMAS.items():
        cs.store(group="schema/generator", name=name, node=schema)
    cs.store(group="schema/staging", name="staging", node=StagingConfig)


def architecture_from_config(cfg: Any):
    """The architecture a composed config describes: `arch` file, or a sampled one."""
    from nas.arch import annotate, load
    from nas.factory import create_architecture
    from nas.limits import check_memory

    if cfg.arch:
        arch = load(cfg.arch, input_size=cfg.input_size, num_classes=cfg.num_classes,
                    staging=cfg.staging.name, staging_params=cfg.staging.params())
        arch.graph.update(input_size=cfg.input_size, num_classes=cfg.num_classes, in_channels=cfg.in_channels)
        return check_memory(annotate(arch), cfg)
    gen = cfg.generator
    return check_memory(create_architecture(
        gen.name, cfg.nodes, cfg.seed, params=gen.params(), staging=cfg.staging.name,
        staging_params=cfg.staging.params(), input_size=cfg.input_size,
        num_classes=cfg.num_classes, in_channels=cfg.in_channels, orientation=gen.orientation, aggregation=gen.aggregation,
    ), cfg)
