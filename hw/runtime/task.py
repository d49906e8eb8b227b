"""`task=deploy`: run one architecture on `hw.units` local workers, measured latency next to the predicted.

Placement (`deploy.partitioner`): `metis` takes the best option (lowest CS) of the
concurrency analysis (`partition.analyze`), `heft` places vertices by latency-aware list
scheduling, `chunks` is the topological-chunks fallback. Units are renumbered so the
stem's unit is rank 0, where the image is (`hw.schedule.root_first`). Order
(`deploy.order`): every worker runs its vertices in the simulated schedule's start
order. Placement, order and the one prediction are hw/'s model (`hw.schedule`,
`hw.analyze.latency_report`) of the `hw` target — its units and link, like every task —
with the per-vertex `deploy.costs`. The one-unit reference runs interleaved with the
distributed variant in the same workers (same machine load); a ping-pong job measures
the idle loopback link (`ping_pong_link`, a measurement: an idle ping-pong underestimates
what a message costs while both cores compute, see benchmarks/bench_distributed.py).

`deploy.testbed=emulated` runs the workers on the emulated testbed instead
(`hw.runtime.emulate`): one network namespace per unit, CPU-capped to the target's unit
speed, linked at `hw.link`; the costs are scaled to the capped unit, and the result's
`testbed` entry says which testbed ran, the caps and whether they are faithful.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from hw.analyze import latency_report
from hw.runtime.costs import mac_costs, predicted_costs, profiled_costs
from hw.runtime.emulate import Emulation, emulation_for
from hw.runtime.launch import launch_local
from hw.runtime.plan import build_plan, single_unit, topological_chunks
from hw.runtime.timeline import save_timeline
from hw.runtime.timeline import summarize as summarize_timeline
from hw.runtime.weights import save_random_weights
from hw.schedule import Vertex, heft_assignment, root_first, simulate
from hw.target import Target, fit_link, target_from_config
from nas.checks import require_one_of

LINK_SIZES = [4096, 65536, 401408, 1605632]  # bytes; 401408 = 32 × 56 × 56 floats


def metis_assignment(
    arch: nx.DiGraph, units: int, analysis_cfg: Any = None
) -> tuple[dict[Vertex, int], dict[str, Any]]:
    """The concurrency analysis' best option: (vertex → rank, its cs, comm, imbalance …)."""
    from partition.analyze import analyze

    result = analyze(arch, units, analysis_cfg)
    assert result.assignment is not None  # analyze() keeps the best option's assignment by default
    assignment = root_first({v: int(u) for v, u in result.assignment.items()})
    keep = ("cs", "comm", "comm_norm", "imbalance", "eta", "partitioner", "epsilon", "speedup_bound")
    return assignment, {k: getattr(result, k) for k in keep}


def deployment_assignment(
    arch: nx.DiGraph,
    target: Target,
    partitioner: str = "metis",
    analysis_cfg: Any = None,
    costs: dict[Vertex, float] | None = None,
) -> tuple[dict[Vertex, int], dict[str, Any]]:
    """(vertex → rank, what the partitioner reported) on `target`'s units."""
    require_one_of("deploy.partitioner", partitioner, ("metis", "heft", "chunks"))
    if target.units == 1:
        return single_unit(arch), {"partitioner": "single"}
    if partitioner == "chunks":
        return topological_chunks(arch, target.units), {"partitioner": "chunks"}
    if partitioner == "heft":
        return heft_assignment(arch, costs or vertex_costs(arch, "macs"), target), {"partitioner": "heft"}
    return metis_assignment(arch, target.units, analysis_cfg)


def latency_stats(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms, dtype=float)
    return {
        "median_ms": float(np.median(values)),
        "p90_ms": float(np.quantile(values, 0.9)),
        "min_ms": float(values.min()),
    }


def vertex_costs(
    arch: nx.DiGraph,
    source: str,
    weights: Path | None = None,
    hw_cfg: Any = None,
    channels_last: bool = False,
    fast_path: bool = False,
) -> dict[Vertex, float]:
    """Seconds per vertex: timed here (`profile`), hw/'s unit model (`predictor`), or MACs."""
    if source == "profile":
        return profiled_costs(arch, weights, channels_last=channels_last, fast_path=fast_path)
    if source == "predictor":
        from hw.backends import create_backend

        return predicted_costs(arch, create_backend(hw_cfg))
    return mac_costs(arch)


def deployment_costs(
    arch: nx.DiGraph, cfg: Any, weights: Path | None = None
) -> tuple[dict[Vertex, float], Emulation | None]:
    """(seconds per vertex that place, order and predict the deployment, the emulated
    testbed it runs on or None): `deploy.costs` on the `hw` target, and with
    `deploy.testbed=emulated` on the capped unit that really runs (the predictor's costs
    already carry the target's factor, costs timed or counted here do not)."""
    deploy, inference = cfg.deploy, cfg.hw.inference
    costs = vertex_costs(
        arch, deploy.costs, weights, cfg.hw, inference.memory_format == "channels_last", inference.fast_path
    )
    emulation = emulation_for(cfg.hw, cfg.hw.units) if deploy.testbed == "emulated" else None
    if emulation is not None:
        costs = emulation.scale(costs, emulation.slowdown if deploy.costs == "predictor" else 1.0)
    return costs, emulation


def deploy_job(
    name: str,
    arch_path: Path,
    weights: Path,
    variants: dict[str, Any],
    repeats: int,
    warmup: int,
    input_seed: int = 0,
    memory_format: str = "contiguous",
    fast_path: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "arch": str(arch_path),
        "weights": str(weights),
        "batch": 1,
        "input_seed": input_seed,
        "repeats": repeats,
        "warmup": warmup,
        "variants": variants,
        "memory_format": memory_format,
        "fast_path": fast_path,
    }


def link_job(repeats: int = 30) -> dict[str, Any]:
    return {"name": "link", "kind": "ping_pong", "sizes": LINK_SIZES, "repeats": repeats, "warmup": 5}


def deploy_task(cfg: Any, out_dir: Path) -> dict[str, Any]:
    """Save the architecture (and random weights), run it distributed, report latencies."""
    from nas.arch import save
    from nas.factory import architecture_from_config

    deploy, target, inference = cfg.deploy, target_from_config(cfg.hw), cfg.hw.inference
    units = target.units
    arch = architecture_from_config(cfg)
    out_dir = Path(out_dir)
    arch_path = save(arch, out_dir / "architecture.json")
    if deploy.weights:
        weights = Path(deploy.weights).expanduser().resolve()
        if not weights.is_file():
            raise FileNotFoundError(f"deploy.weights: file not found: {deploy.weights}")
    else:
        weights = save_random_weights(arch, out_dir / "weights.pt", deploy.weight_seed)
    costs, emulation = deployment_costs(arch, cfg, weights)
    analysis = getattr(cfg, "analysis", None)
    analysis = analysis if hasattr(analysis, "partitioners") else None  # a stub group: defaults
    assignment, partition_info = deployment_assignment(arch, target, deploy.partitioner, analysis, costs)
    # the workers follow the simulated start order, or each unit's vertices in topological order
    simulated = "topological" if deploy.order == "topological" else cfg.hw.schedule_order
    order = simulate(arch, assignment, costs, target, simulated).order if deploy.order == "schedule" else None
    variants: dict[str, Any] = {"distributed": {"assignment": assignment, "order": order}}
    if units > 1:
        variants["single"] = single_unit(arch)
    jobs = [
        deploy_job(
            "arch",
            arch_path,
            weights,
            variants,
            deploy.repeats,
            deploy.warmup,
            deploy.input_seed,
            inference.memory_format,
            inference.fast_path,
        )
    ]
    if units > 1:
        jobs.append(link_job(30 if emulation is None else 10))  # a slow link: fewer rounds
    spec = {
        "timeout_s": deploy.timeout_s,
        "threads": deploy.threads,
        "compute_policy": deploy.compute_policy,
        "jobs": jobs,
    }
    report, testbed = run_workers(spec, units, out_dir / "deploy", deploy, emulation)
    job = report["jobs"]["arch"]
    plan = build_plan(arch, assignment, units, order)
    measured = latency_stats(job["latency_ms"]["distributed"])
    saved = {"assignment": {str(v): u for v, u in plan.assignment.items()}, "order": order}
    result: dict[str, Any] = {
        "workers": units,
        "testbed": testbed,
        "threads": deploy.threads,
        "compute_policy": report["compute_policy"],  # as the root worker ran it
        "memory_format": inference.memory_format,
        "fast_path": inference.fast_path,
        "repeats": deploy.repeats,
        "partition": partition_info,
        "vertices_per_unit": job["vertices_per_rank"]["distributed"],
        "messages": job["messages"]["distributed"],
        "bytes_sent": job["bytes"]["distributed"],
        "measured": measured,
        "arch_path": str(arch_path),
        "weights": str(weights),
        "assignment_path": str(_save_json(saved, out_dir / "assignment.json")),
    }
    traces = job["traces"]["distributed"]
    result["timeline"] = {
        **save_timeline(
            traces, out_dir / "timeline", f"{units} workers, last timed inference", job["trace_origins"]["distributed"]
        ),  # local workers: one clock
        "ranks": summarize_timeline(traces),
    }
    if units > 1:
        single = latency_stats(job["latency_ms"]["single"])
        result["measured_single"] = single
        result["measured_speedup"] = single["median_ms"] / measured["median_ms"]
        result["max_abs_diff"] = float((job["outputs"]["distributed"] - job["outputs"]["single"]).abs().max())
        result["ping_pong_link"] = fit_link(report["jobs"]["link"]["one_way_ms"]).to_json()
    predicted = latency_report(arch, assignment, target, costs, order=simulated).to_json()
    keep = (
        "target",
        "predicted_latency_ms",
        "predicted_distributed_ms",
        "predicted_speedup",
        "transfers",
        "communication_bytes",
    )
    source = f"hw/ list schedule, {deploy.costs} costs"
    if emulation is not None:
        source += f" scaled to the capped unit ({emulation.unit_slowdown:.2f}x a core here)"
    result["predicted"] = {"source": source, **{k: predicted[k] for k in keep}, "link": target.link.to_json()}
    return result


def run_workers(
    spec: dict[str, Any], units: int, workdir: Path, deploy: Any, emulation: Emulation | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(rank 0's report, which testbed ran): loopback processes, or units of an emulated
    testbed that lives exactly as long as the launcher (removed on every exit path)."""
    options = {"workdir": workdir, "deadline_s": deploy.deadline_s, "port": deploy.port}
    if emulation is None:
        return launch_local(spec, units, **options), {"testbed": "none"}
    with emulation.testbed(deploy.testbed_name) as bed:
        return launch_local(spec, units, testbed=bed, **options), emulation.to_json(bed)


def _save_json(data: Any, path: Path) -> Path:
    path.write_text(json.dumps(data, indent=1))
    return path
