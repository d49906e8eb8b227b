"""The golden-output cases of the redesign: 20 fixed architectures, analysed end to end.

`compute(case)` returns every figure the tasks report for one case: size (params,
MACs), the concurrency analysis (cs, eta, comm, imbalance, assignment), the predicted
single-unit and distributed latency of `hw/` on the case's target with a fixed
latency profile, and the distributed latency under the runtime's schedule model
(`task=deploy`'s prediction). `python -m tests.golden.cases` rewrites
`golden.json`; only do that when a change of the numbers is intended and explained
in tests/golden/test_golden.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).with_name("golden.json")

# (name, generator, nodes, seed, input_size, units, extra kwargs)
CASES: list[tuple[str, str, int, int, int, int, dict[str, Any]]] = [
    ("er16-32px-2u", "er", 16, 1, 32, 2, {"orientation": "dfs"}),
    ("er40-32px-4u", "er", 40, 2, 32, 4, {"orientation": "dfs"}),
    ("er40-index-224px-8u", "er", 40, 3, 224, 8, {"orientation": "index"}),
    ("ba16-32px-3u", "ba", 16, 4, 32, 3, {"orientation": "dfs"}),
    ("ba40-224px-6u", "ba", 40, 5, 224, 6, {"orientation": "dfs"}),
    ("ba40-index-32px-10u", "ba", 40, 6, 32, 10, {"orientation": "index"}),
    ("ws16-32px-2u", "ws", 16, 7, 32, 2, {"orientation": "dfs"}),
    ("ws40-224px-4u", "ws", 40, 8, 224, 4, {"orientation": "dfs"}),
    ("ws40-index-32px-8u", "ws", 40, 9, 32, 8, {"orientation": "index"}),
    ("dp16-32px-2u", "dp", 16, 10, 32, 2, {"orientation": "dfs"}),
    ("dp40-32px-4u", "dp", 40, 11, 32, 4, {"orientation": "dfs"}),
    ("dp40-224px-10u", "dp", 40, 12, 224, 10, {"orientation": "dfs"}),
    ("dp80-index-32px-6u", "dp", 80, 13, 32, 6, {"orientation": "index", "staging": "greedy"}),
    ("dp40-uniform-224px-4u", "dp", 40, 14, 224, 4, {"orientation": "dfs", "staging": "uniform"}),
    ("fb40-32px-4u", "fb", 40, 15, 32, 4, {}),
    ("fb40-224px-8u", "fb", 40, 16, 224, 8, {}),
    ("lcp4-32px-4u", "lcp", 0, 0, 32, 4, {"params": {"splits": 4}}),
    ("cifarnet-32px-2u", "cifarnet", 0, 0, 32, 2, {}),
    ("vgg11-224px-4u", "vgg11", 0, 0, 224, 4, {}),
    ("resnet50-224px-2u", "resnet50", 0, 0, 224, 2, {}),
]

# A fixed latency profile (no forests, so it is exact and machine-independent):
# per-kind linear coefficients over hw.predictor.LINEAR_TERMS
# (one, fan_in, macs, elements, out_elements, params) and executor overheads.
PROFILE_COEF = {
    "stem": [2e-5, 0.0, 1.1e-10, 1e-9, 1e-9, 0.0],
    "node": [3e-5, 0.0, 1.3e-10, 2e-9, 1e-9, 1e-10],
    "conv": [2e-5, 0.0, 1.0e-10, 1e-9, 1e-9, 1e-10],
    "fc": [1e-5, 0.0, 2.0e-10, 0.0, 0.0, 2e-10],
    "head": [1.5e-5, 0.0, 1.0e-10, 1e-9, 0.0, 0.0],
    "merge_sum_input_sigmoid": [8e-6, 4e-6, 0.0, 1e-9, 1e-9, 0.0],
    "merge_sum_weight_sigmoid": [6e-6, 3e-6, 0.0, 1e-9, 1e-9, 0.0],
    "scaler_pool": [5e-6, 0.0, 0.0, 1e-9, 0.0, 0.0],
}
PROFILE_FALLBACK = [1e-5, 1e-6, 1.2e-10, 1e-9, 1e-9, 1e-10]
PROFILE_OVERHEADS = {"scale": 1.1, "per_vertex": 2e-5, "per_input": 3e-6, "per_byte": 1e-11, "per_call": 1e-4}
# The runtime link model used for the deploy-side prediction (1 Gbit/s, 0.1 ms).
LINK_LATENCY_S = 1e-4
LINK_BYTES_S = 1.25e8


def fixed_predictor() -> Any:
    """The fixed profile above, written to a profile directory and loaded back."""
    import tempfile

    import numpy as np

    from hw.predictor import KindModel, LatencyPredictor, Overheads

    models = {kind: KindModel(np.array(coef), samples=0) for kind, coef in PROFILE_COEF.items()}
    predictor = LatencyPredictor(
        models, KindModel(np.array(PROFILE_FALLBACK)), Overheads(**PROFILE_OVERHEADS), metadata={"kind": "golden"}
    )
    with tempfile.TemporaryDirectory() as tmp:
        predictor.save(tmp)
        return LatencyPredictor.load(tmp)


def build(case: tuple) -> Any:
    from nas.config import StagingConfig
    from nas.factory import create_architecture

    _, generator, nodes, seed, input_size, _, extra = case
    extra = dict(extra)
    staging = extra.pop("staging", "probabilistic")
    params = extra.pop("params", None)
    staging_params = StagingConfig(name=staging).params()
    return create_architecture(
        generator,
        nodes or 16,
        seed,
        params=params,
        staging=staging,
        staging_params=staging_params,
        input_size=input_size,
        num_classes=10,
        in_channels=3,
        **extra,
    )


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {str(k): _round(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    return value


def compute(case: tuple, predictor: Any = None) -> dict[str, Any]:
    """Every golden figure of one case (see the module docstring)."""
    from hw.analyze import latency_report
    from hw.schedule import heft_assignment, simulate
    from hw.target import Link, Target
    from nas.arch import summary
    from nas.builder import build_model, count_parameters
    from partition.analyze import analyze
    from partition.config import AnalysisConfig

    predictor = predictor or fixed_predictor()
    arch = build(case)
    units = case[5]
    size = summary(arch)
    # pinned, like the orientation: the default partitioner became `best` (KaHyPar when installed)
    result = analyze(arch, units, AnalysisConfig(partitioners=["metis"]))
    assignment = {v: int(u) for v, u in result.assignment.items()}
    target = Target("golden", units, memory_bytes=512 * 2**20, link=Link(LINK_LATENCY_S, LINK_BYTES_S))
    costs = predictor.vertex_latencies(arch)
    hw = latency_report(arch, assignment, target, costs, predictor.predict(arch)).to_json()
    deploy = simulate(arch, assignment, costs, target)  # task=deploy's model: one scheduler, no per-call overhead
    heft = heft_assignment(arch, costs, target)
    return _round(
        {
            "vertices": size["vertices"],
            "edges": size["edges"],
            "params": size["params"],
            "built_params": count_parameters(build_model(arch)),
            "macs": size["macs"],
            "cs": result.cs,
            "eta": result.eta,
            "comm": result.comm,
            "imbalance": result.imbalance,
            "assignment": {str(v): u for v, u in sorted(assignment.items(), key=lambda item: str(item[0]))},
            "hw_single_ms": hw["predicted_latency_ms"],
            "hw_distributed_ms": hw["predicted_distributed_ms"],
            "hw_communication_bytes": hw["communication_bytes"],
            "hw_transfers": hw["transfers"],
            "hw_memory_per_unit_mb": hw["memory_per_unit_mb"],
            "deploy_single_ms": sum(costs.values()) * 1e3,
            "deploy_distributed_ms": deploy.makespan * 1e3,
            "heft_assignment": {str(v): u for v, u in sorted(heft.items(), key=lambda item: str(item[0]))},
            "heft_makespan_ms": simulate(arch, heft, costs, target).makespan * 1e3,
        }
    )


def compute_all() -> dict[str, dict[str, Any]]:
    predictor = fixed_predictor()
    return {case[0]: compute(case, predictor) for case in CASES}


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(compute_all(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
