"""Generator → DAG → staging → annotated architecture, for any entry of the `generator` group."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import networkx as nx
import yaml

from nas.arch import AGGREGATIONS, annotate, load
from nas.baselines import BASELINES
from nas.checks import require, require_one_of
from nas.config import GENERATOR_SCHEMAS, ChainConfig, GeneratorConfig
from nas.dag import to_dag
from nas.generators import GENERATORS, create_generator
from nas.limits import check_memory, check_vertex_count
from nas.staging import apply_staging


def random_architecture(
    generator: str,
    nodes: int,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    staging: str = "uniform",
    staging_params: dict[str, Any] | None = None,
    input_size: int = 32,
    num_classes: int = 10,
    in_channels: int = 3,
    orientation: str = GeneratorConfig.orientation,
    aggregation: str = GeneratorConfig.aggregation,
) -> nx.DiGraph:
    """Sample a random-graph architecture (ER/BA/WS/DP) with the paper's pipeline."""
    require_one_of("aggregation", aggregation, AGGREGATIONS)
    params = dict(params or {})
    graph = create_generator(generator, n=nodes, seed=seed, **params)
    arch = to_dag(graph, orientation)
    arch.graph.update(
        generator=generator,
        generator_params=params,
        nodes=nodes,
        seed=seed,
        orientation=orientation,
        aggregation=aggregation,
        input_size=input_size,
        num_classes=num_classes,
        in_channels=in_channels,
    )
    apply_staging(arch, policy=staging, seed=seed, **(staging_params or {}))
    return annotate(arch)


def create_architecture(
    generator: str, nodes: int, seed: int = 0, params: dict[str, Any] | None = None, **kwargs: Any
) -> nx.DiGraph:
    """Any entry of the `generator` config group: a random-graph generator or a baseline."""
    check_vertex_count(nodes)
    if generator in GENERATORS:
        return random_architecture(generator, nodes, seed, params, **kwargs)
    require_one_of("generator", generator, GENERATORS.names() + BASELINES.names())
    keep = {k: v for k, v in kwargs.items() if k in ("input_size", "num_classes")}
    arch = BASELINES.get(generator)(nodes=nodes, seed=seed, **(params or {}), **keep)
    arch.graph["in_channels"] = kwargs.get("in_channels", 3)
    return annotate(arch)


def architecture_from_config(cfg: Any) -> nx.DiGraph:
    """The architecture a composed config describes: `arch` file, or a sampled one."""
    if cfg.arch:
        arch = load(
            cfg.arch,
            input_size=cfg.input_size,
            num_classes=cfg.num_classes,
            staging=cfg.staging.name,
            staging_params=cfg.staging.params(),
        )
        arch.graph.update(input_size=cfg.input_size, num_classes=cfg.num_classes, in_channels=cfg.in_channels)
        return check_memory(annotate(arch), cfg)
    return check_memory(_from_generator(cfg.generator.name, cfg.generator, cfg), cfg)


def baseline_architecture(spec: str, cfg: Any) -> nx.DiGraph:
    """A search's fixed baseline trial, in the config's setting: generator `name` at its
    schema's defaults, or `name:key=value[,key=value]` with those set (`lcp:splits=4`;
    quote it on the command line: `'search.baselines=[fb,"lcp:splits=4"]'`)."""
    name, _, given = spec.partition(":")
    params = {}
    for item in filter(None, given.split(",")):
        key, eq, value = item.partition("=")
        require(bool(eq and key), f"baseline {spec!r}: expected name:key=value[,key=value]")
        params[key.strip()] = yaml.safe_load(value)
    schema = GENERATOR_SCHEMAS.get(name)
    if schema is None:
        require(not params, f"baseline {name!r} has no parameters to set")
        return _from_generator(name, ChainConfig(name=name), cfg)
    unknown = sorted(set(params) - {f.name for f in fields(schema)})
    require(not unknown, f"generator {name} has no parameter {', '.join(map(repr, unknown))}")
    return _from_generator(name, schema(**params), cfg)


def _from_generator(name: str, gen: GeneratorConfig, cfg: Any) -> nx.DiGraph:
    return create_architecture(
        name,
        cfg.nodes,
        cfg.seed,
        params=gen.params(),
        staging=cfg.staging.name,
        staging_params=cfg.staging.params(),
        input_size=cfg.input_size,
        num_classes=cfg.num_classes,
        in_channels=cfg.in_channels,
        orientation=gen.orientation,
        aggregation=gen.aggregation,
    )
