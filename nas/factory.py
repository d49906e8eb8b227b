"""Generator → DAG → staging → annotated architecture, and the baselines' entry point."""
from __future__ import annotations

from typing import Any

import networkx as nx

from nas.arch import AGGREGATIONS, annotate
from nas.dag import to_dag
from nas.generators import GENERATORS, create_generator
from nas.limits import check_vertex_count
from nas.registry import Registry
from nas.staging import apply_staging

BASELINES: Registry = Registry("baseline")
register_baseline = BASELINES.register


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
    orientation: str = "dfs",
    aggregation: str = "input_sigmoid",
) -> nx.DiGraph:
    """Sample a random-graph architecture (ER/BA/WS/DP) with the paper's pipeline."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    params = dict(params or {})
    graph = create_generator(generator, n=nodes, seed=seed, **params)
    arch = to_dag(graph, orientation)
    arch.graph.update(
        generator=generator, generator_params=params, nodes=nodes, seed=seed,
        orientation=orientation, aggregation=aggregation,
        input_size=input_size, num_classes=num_classes, in_channels=in_channels,
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
    import nas.baselines  # noqa: F401  (registers the baselines)

    factory = BASELINES.get(generator) if generator in BASELINES else None
    if factory is None:
        valid = ", ".join(GENERATORS.names() + BASELINES.names())
        raise ValueError(f"unknown generator {generator!r}; valid: {valid}")
    keep = {k: v for k, v in kwargs.items() if k in ("input_size", "num_classes")}
    arch = factory(nodes=nodes, seed=seed, **(params or {}), **keep)
    arch.graph["in_channels"] = kwargs.get("in_channels", 3)
    return annotate(arch)
