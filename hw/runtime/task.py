"""`task=deploy`: run one architecture on n local workers, measured latency next to the predicted.

Partition: `deploy.partitioner=metis` takes the best option (lowest CS) of the
concurrency analysis (`partition.analyze`), `chunks` the topological-chunks fallback.
Units are relabelled so the unit holding the stem is rank 0 (where the image is), which
changes no metric. The one-unit reference runs interleaved with the distributed
variant in the same workers, so both see the same machine load.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from hw.runtime.launch import launch_local
from hw.runtime.plan import ROOT, build_plan, single_unit, topological_chunks
from hw.runtime.weights import save_random_weights
from nas.dag import INPUT


def root_first(assignment: dict[str, int]) -> dict[str, int]:
    """Swap unit labels so the stem's unit is rank 0 (the image never has to move)."""
    stem = assignment.get(INPUT, ROOT)
    swap = {stem: ROOT, ROOT: stem}
    return {v: swap.get(u, u) for v, u in assignment.items()}


def deployment_assignment(arch: nx.DiGraph, units: int, partitioner: str = "metis",
                          analysis_cfg: Any = None) -> tuple[dict[str, int], dict[str, Any]]:
    """(vertex name → rank, what the partitioner reported: cs, comm, imbalance …)."""
    if units == 1:
        return single_unit(arch), {"partitioner": "single"}
    if partitioner == "chunks":
        return topological_chunks(arch, units), {"partitioner": "chunks"}
    if partitioner != "metis":
        raise ValueError(f"partitioner must be metis or chunks, got {partitioner!r}")
    from partition.analyze import analyze

    result = analyze(arch, units, analysis_cfg)
    assignment = root_first({str(v): int(u) for v, u in result["assignment"].items()})
    keep = ("cs", "comm", "comm_norm", "imbalance", "eta", "partitioner", "epsilon", "speedup_bound")
    return assignment, {k: result[k] for k in keep if k in result}


def latency_stats(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms, dtype=float)
    return {"median_ms": float(np.median(values)), "p90_ms": float(np.quantile(values, 0.9)),
            "min_ms": float(values.min())}


def predicted_latency(arch: nx.DiGraph, assignment: dict[str, int], units: int, target: Any = None) -> dict[str, Any] | None:
    """The hardware predictor's single-unit and distributed latency, or None when hw/ has none."""
    try:
        from hw.runtime.predict import predict
    except ImportError:
        return None
    return predict(arch, assignment, units, target)


def deploy_job(name: str, arch_path: Path, weights: Path, variants: dict[str, dict], repeats: int,
               warmup: int, input_seed: int = 0) -> dict[str, Any]:
    return {"name": name, "arch": str(arch_path), "weights": str(weights), "batch": 1,
            "input_seed": input_seed, "repeats": repeats, "warmup": warmup, "variants": variants}


def deploy_task(cfg: Any, out_dir: Path) -> dict[str, Any]:
    """Save the architecture (and random weights), run it distributed, report latencies."""
    from nas.arch import save
    from nas.config import architecture_from_config

    deploy = cfg.deploy
    arch = architecture_from_config(cfg)
    out_dir = Path(out_dir)
    arch_path = save(arch, out_dir / "architecture.json")
    if deploy.weights:
        weights = Path(deploy.weights).expanduser().resolve()
        if not weights.is_file():
            raise FileNotFoundError(f"deploy.weights: file not found: {deploy.weights}")
    else:
        weights = save_random_weights(arch, out_dir / "weights.pt", deploy.weight_seed)
    analysis = getattr(cfg, "analysis", None)
    analysis = analysis if hasattr(analysis, "partitioners") else None  # a stub group: defaults
    assignment, partition_info = deployment_assignment(arch, deploy.workers, deploy.partitioner, analysis)
    variants = {"distributed": assignment}
    if deploy.workers > 1:
        variants["single"] = single_unit(arch)
    spec = {"timeout_s": deploy.timeout_s, "threads": deploy.threads,
            "jobs": [deploy_job("arch", arch_path, weights, variants, deploy.repeats, deploy.warmup, deploy.input_seed)]}
    report = launch_local(spec, deploy.workers, workdir=out_dir / "deploy", deadline_s=deploy.deadline_s, port=deploy.port)
    job = report["jobs"]["arch"]
    plan = build_plan(arch, assignment, deploy.workers)
    measured = latency_stats(job["latency_ms"]["distributed"])
    result: dict[str, Any] = {
        "workers": deploy.workers,
        "threads": deploy.threads,
        "repeats": deploy.repeats,
        "partition": partition_info,
        "vertices_per_unit": job["vertices_per_rank"]["distributed"],
        "messages": job["messages"]["distributed"],
        "bytes_sent": job["bytes"]["distributed"],
        "measured": measured,
        "arch_path": str(arch_path),
        "weights": str(weights),
        "assignment_path": str(_save_assignment(plan.assignment, out_dir / "assignment.json")),
    }
    if "single" in variants:
        single = latency_stats(job["latency_ms"]["single"])
        result["measured_single"] = single
        result["measured_speedup"] = single["median_ms"] / measured["median_ms"]
        result["max_abs_diff"] = float((job["outputs"]["distributed"] - job["outputs"]["single"]).abs().max())
    target = getattr(cfg, "hw", None)
    predicted = predicted_latency(arch, plan.assignment, deploy.workers, target)
    if predicted is None:
        result["predicted"] = None
        result["note"] = "no latency predictor in hw/ yet: measured latency only"
    else:
        result["predicted"] = predicted
    return result


def _save_assignment(assignment: dict[str, int], path: Path) -> Path:
    import json

    path.write_text(json.dumps(assignment, indent=1))
    return path
