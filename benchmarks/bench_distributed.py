"""Measured vs predicted speed-up of real distributed inference (n = 2 gloo workers, loopback).

Study: ≥ 30 architectures at 224×224 — random graphs of every generator (er ba ws dp)
and RandWire (fb), plus the chain baselines cifarnet, vgg11 and lcp. Each runs batch 1,
one torch thread per worker, against one worker with one thread; all variants of an
architecture are timed interleaved in the same two processes, so a burst of load from
other jobs hits them alike. Two placements per architecture:
- `metis`: the concurrency analysis' best (lowest-CS) option (partition/);
- `heft`: latency-aware list scheduling (hw/schedule.py).
Both run in the simulated schedule's order. Two predicted speed-ups, both hw/'s one list
scheduler (`hw.analyze.latency_report`) with two cost sources: `hw` = hw/'s unit latency
model (the `task=profile hw=local` predictor; its FLOPs stand-in if none is saved);
`plan` = the placement costs (`--costs`: a per-vertex profile timed here, or hw/'s
model). Both use one link model: its per-message latency is fitted first on separate calibration architectures
(see `calibrate_link`; `--no-calibrate`: the ping-pong of the run), because a message
that lands while both cores compute costs far more than an idle ping-pong shows.

Needs quiet cores; run as
    .venv/bin/python benchmarks/bench_distributed.py
(about 3–5 minutes on 2 idle cores). Prints one row per architecture and a summary:
median DP speed-up, chain speed-ups, Spearman(CS, measured), share of predictions
within ±20 %; `--out FILE` saves every number as JSON. Speed-ups are given from the
median latencies (the figure asked for) and from the minimum latencies (contention from
other jobs only ever adds time, so on a shared machine the minimum is the better
estimate of the quiet-machine figure).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from tqdm import tqdm

from hw.analyze import latency_report
from hw.runtime.launch import launch_local
from hw.runtime.plan import single_unit
from hw.runtime.task import link_job, metis_assignment, vertex_costs
from hw.runtime.weights import save_random_weights
from hw.schedule import heft_assignment, simulate
from hw.target import Link, Target, fit_link
from nas.arch import save
from nas.factory import create_architecture

RANDOM = ("er", "ba", "ws", "dp")
CHAINS = ("cifarnet", "vgg11", "lcp")
PLACEMENTS = ("metis", "heft")
STAGING = {"channels": 32, "max_channels": 256}
PLAN_LINK = Link(latency_s=5e-5, bandwidth_bytes_s=2.5e9)  # before calibration
CALIBRATION_SEED = 100


def study(per_generator: int, fb: int, nodes: int, size: int, classes: int) -> list[tuple[str, object]]:
    archs = []
    for generator in RANDOM:
        for seed in range(per_generator):
            archs.append(
                (
                    f"{generator}-{seed}",
                    create_architecture(
                        generator,
                        nodes,
                        seed,
                        staging="probabilistic",
                        staging_params=STAGING,
                        input_size=size,
                        num_classes=classes,
                    ),
                )
            )
    for seed in range(fb):
        archs.append((f"fb-{seed}", create_architecture("fb", nodes, seed, input_size=size, num_classes=classes)))
    for chain in CHAINS:
        archs.append((chain, create_architecture(chain, nodes, 0, input_size=size, num_classes=classes)))
    return archs


def hw_local_config(predictor_dir: str):
    """hw/'s `local` target as configured in conf/hw/local.yaml, with the predictor directory given."""
    from app.config import compose, validate

    return validate(compose("hw=local", f"hw.predictor={predictor_dir}", "hw.on_missing_predictor=flops")).hw


def predict(row: dict, key: str, units: int, link: Link, latency: dict | None = None, single_s: float | None = None):
    """hw/'s list schedule of one placement: the plan's costs, or another unit model's."""
    return latency_report(
        row["arch"],
        row["placements"][key],
        Target("local", units, 2**40, link),
        row["costs"] if latency is None else latency,
        single_s,
    )


def prepare(archs, args, backend, link: Link, workdir: Path) -> tuple[dict, list]:
    """Save each architecture and weights, place it (METIS best-CS option, HEFT), order it."""
    rows, jobs = {}, []
    for name, arch in tqdm(archs, desc="prepare"):
        arch_path = save(arch, workdir / f"{name}.json")
        weights = save_random_weights(arch, workdir / f"{name}.pt", seed=0)
        costs = vertex_costs(arch, args.costs, weights, args.hw_cfg, args.memory_format == "channels_last")
        metis, info = metis_assignment(arch, args.units)
        target = Target("local", args.units, 2**40, link)
        placements = {"metis": metis, "heft": heft_assignment(arch, costs, target)}
        variants = {"single": single_unit(arch)}
        for key, assignment in placements.items():
            variants[key] = {"assignment": assignment, "order": simulate(arch, assignment, costs, target).order}
        rows[name] = {
            "arch": arch,
            "costs": costs,
            "cs": info["cs"],
            "bound": info["speedup_bound"],
            "placements": placements,
            "generator": arch.graph["generator"],
            "vertices": arch.number_of_nodes() - 2,
        }
        jobs.append(
            {
                "name": name,
                "arch": str(arch_path),
                "weights": str(weights),
                "batch": 1,
                "input_seed": 0,
                "repeats": args.repeats,
                "warmup": args.warmup,
                "variants": variants,
                "memory_format": args.memory_format,
            }
        )
    return rows, jobs


def calibrate_link(args, backend, workdir: Path, spec: dict) -> tuple[Link, dict]:
    """The effective per-message cost of this machine's loopback link, measured on whole runs.

    A ping-pong between idle workers sees tens of microseconds, but a tensor that
    arrives while both cores compute also waits for the receiving gloo thread to get a
    core. So, as compute overheads are fitted on whole architectures, the link latency
    is fitted on separate calibration architectures (seed 100, not in the study): the
    value whose planned speed-ups best match the measured ones (least squares in log).
    """
    archs = [
        (
            f"cal-{g}",
            create_architecture(
                g,
                args.nodes,
                CALIBRATION_SEED,
                staging="probabilistic",
                staging_params=STAGING,
                input_size=args.size,
                num_classes=args.classes,
            ),
        )
        for g in ("dp", "ba", "er", "ws")
    ]
    rows, jobs = prepare(archs, args, backend, PLAN_LINK, workdir)
    report = launch_local({**spec, "jobs": [link_job(40), *jobs]}, args.units, workdir=workdir / "run")
    ping_pong = fit_link(report["jobs"]["link"]["one_way_ms"])
    runs = []
    for name, row in rows.items():
        job = report["jobs"][name]
        for key in PLACEMENTS:
            runs.append((row, key, float(np.median(job["latency_ms"]["single"]) / np.median(job["latency_ms"][key]))))

    def error(latency_s: float) -> float:
        link = Link(latency_s, ping_pong.bandwidth_bytes_s)
        return sum(
            (np.log(measured) - np.log(predict(row, key, args.units, link).speedup)) ** 2 for row, key, measured in runs
        )

    grid = np.geomspace(2e-5, 5e-3, 25)
    errors = [error(g) for g in grid]
    best = float(grid[int(np.argmin(errors))])
    return Link(best, ping_pong.bandwidth_bytes_s), {
        "latency_ms": best * 1e3,
        "ping_pong_latency_ms": ping_pong.latency_s * 1e3,
        "bandwidth_mbps": ping_pong.bandwidth_bytes_s * 8 / 1e6,
        "runs": len(runs),
        "grid_ms": [float(g * 1e3) for g in grid],
        "errors": [float(e) for e in errors],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-generator", type=int, default=6, help="architectures per random generator")
    parser.add_argument("--fb", type=int, default=4, help="RandWire architectures")
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--classes", type=int, default=102)
    parser.add_argument("--units", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--costs",
        choices=("profile", "predictor"),
        default="profile",
        help="per-vertex costs that place and order the vertices (and make the 'plan' prediction)",
    )
    parser.add_argument(
        "--predictor",
        default="artifacts/hw/local",
        help="hw/ predictor directory (task=profile hw=local); without one hw/ falls back to FLOPs",
    )
    parser.add_argument(
        "--nice", type=int, default=0, help="worker priority (negative needs root): shields the timing from other jobs"
    )
    parser.add_argument("--pin", action="store_true", help="pin worker r to core r")
    parser.add_argument(
        "--memory-format",
        choices=("channels_last", "contiguous"),
        default="channels_last",
        help="feature-map layout of every run, single and distributed (hw.inference.memory_format)",
    )
    parser.add_argument(
        "--compute-policy",
        choices=("idle", "normal"),
        default="idle",
        help="idle: compute threads yield to gloo's transport threads at once (deploy.compute_policy)",
    )
    parser.add_argument(
        "--no-calibrate",
        dest="calibrate",
        action="store_false",
        help="plan and predict with the ping-pong link instead of one fitted on calibration runs",
    )
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--out", default=None, help="save all results as JSON")
    args = parser.parse_args()

    load_before = os.getloadavg()
    started = time.time()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-distributed-"))
    hw_cfg = args.hw_cfg = hw_local_config(args.predictor)
    from hw.backends import create_backend

    backend = create_backend(hw_cfg)
    spec = {
        "timeout_s": 120,
        "threads": 1,
        "nice": args.nice,
        "pin_cpus": args.pin,
        "compute_policy": args.compute_policy,
    }
    link, calibration = PLAN_LINK, None
    if args.calibrate:
        link, calibration = calibrate_link(args, backend, workdir / "calibration", spec)
        print(
            f"calibrated link: {link.latency_s * 1e3:.3f} ms per message + bytes / "
            f"{link.bandwidth_bytes_s * 8 / 1e9:.1f} Gbit/s (ping-pong alone: {calibration['ping_pong_latency_ms']:.3f} ms)",
            flush=True,
        )
    archs = study(args.per_generator, args.fb, args.nodes, args.size, args.classes)
    rows, jobs = prepare(archs, args, backend, link, workdir)
    print(f"running {len(rows)} architectures on {args.units} workers (+1-worker reference) ...", flush=True)
    report = launch_local({**spec, "jobs": [link_job(40), *jobs]}, args.units, workdir=workdir / "run")
    ping_pong = fit_link(report["jobs"]["link"]["one_way_ms"])
    if not args.calibrate:
        link = ping_pong  # predict with this run's own ping-pong
    load_after = os.getloadavg()

    header = f"{'arch':<12} {'V':>3} {'CS':>6} {'bound':>5} {'1-unit ms':>9}"
    for key in PLACEMENTS:
        header += f" | {key + ' hw':>8} {'plan':>5} {'med':>5} {'min':>5} {'msgs':>4}"
    print(header)
    results = []
    for name, row in rows.items():
        job = report["jobs"][name]
        single = np.array(job["latency_ms"]["single"])
        entry = {
            "arch": name,
            "generator": row["generator"],
            "vertices": row["vertices"],
            "cs": row["cs"],
            "bound": row["bound"],
            "single_ms": float(np.median(single)),
            "single_min_ms": float(single.min()),
        }
        line = f"{name:<12} {row['vertices']:>3} {row['cs']:>6.2f} {row['bound']:>5.2f} {entry['single_ms']:>9.1f}"
        for key in PLACEMENTS:
            times = np.array(job["latency_ms"][key])
            plan = predict(row, key, args.units, link)
            hw = predict(
                row, key, args.units, link, backend.vertex_latencies(row["arch"]), backend.predict(row["arch"])
            )
            entry[key] = {
                "hw": hw.speedup,
                "plan": plan.speedup,
                "hw_single_ms": hw.single_s * 1e3,
                "hw_distributed_ms": hw.distributed_s * 1e3,
                "median": float(np.median(single) / np.median(times)),
                "min": float(single.min() / times.min()),
                "messages": job["messages"][key],
                "distributed_ms": float(np.median(times)),
                # compute time summed over the units / one unit's: > 1 means the
                # vertices themselves ran slower side by side (shared cores, caches)
                "busy_ratio": float(
                    sum(np.median(b) for b in job["busy_ms"][key]) / np.median(job["busy_ms"]["single"][0])
                ),
            }
            line += (
                f" | {entry[key]['hw']:>8.2f} {entry[key]['plan']:>5.2f} {entry[key]['median']:>5.2f}"
                f" {entry[key]['min']:>5.2f} {job['messages'][key]:>4}"
            )
        print(line, flush=True)
        results.append(entry)

    summary = {
        "archs": len(results),
        "units": args.units,
        "size": args.size,
        "nodes": args.nodes,
        "costs": args.costs,
        "hw_latency_model": backend.describe(),
        "calibration": calibration,
        "ping_pong": ping_pong.to_json(),
        "repeats": args.repeats,
        "nice": args.nice,
        "pin": args.pin,
        "compute_policy": args.compute_policy,
        "memory_format": args.memory_format,
        "link": link.to_json(),
        "load_before": load_before,
        "load_after": load_after,
        "wall_s": time.time() - started,
    }
    cs = [r["cs"] for r in results]
    bound = [r["bound"] for r in results]  # min(n, FLOPs / critical-path FLOPs): the ideal speed-up
    summary["spearman_cs_bound"] = float(spearmanr(cs, bound).statistic)
    for key in PLACEMENTS:
        for stat in ("median", "min"):
            measured = np.array([r[key][stat] for r in results])
            by_generator = {
                g: float(np.median([r[key][stat] for r in results if r["generator"] == g]))
                for g in dict.fromkeys(r["generator"] for r in results)
            }
            summary[f"{key}/{stat}"] = {
                "dp_median_speedup": by_generator.get("dp"),
                "chain_speedups": {r["arch"]: r[key][stat] for r in results if r["arch"] in CHAINS},
                "median_speedup_by_generator": by_generator,
                "spearman_cs_measured": float(spearmanr(cs, measured).statistic),
                "spearman_bound_measured": float(spearmanr(bound, measured).statistic),
                "median_busy_ratio": float(np.median([r[key]["busy_ratio"] for r in results])),
            }
            for source in ("hw", "plan"):
                predicted = np.array([r[key][source] for r in results])
                summary[f"{key}/{stat}"][f"within_20pct_{source}"] = float(
                    np.mean(np.abs(predicted - measured) <= 0.2 * measured)
                )
                summary[f"{key}/{stat}"][f"spearman_{source}_measured"] = float(
                    spearmanr(predicted, measured).statistic
                )
    print()
    print(
        f"link model: {summary['link']['latency_ms']:.3f} ms + bytes / {summary['link']['bandwidth_mbps'] / 1e3:.1f} Gbit/s"
        f" (ping-pong in this run: {summary['ping_pong']['latency_ms']:.3f} ms);"
        f" load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; wall {summary['wall_s']:.0f} s"
    )
    for key in PLACEMENTS:
        for stat in ("median", "min"):
            s = summary[f"{key}/{stat}"]
            chains = ", ".join(f"{k} {v:.2f}×" for k, v in s["chain_speedups"].items())
            by_gen = ", ".join(f"{k} {v:.2f}×" for k, v in s["median_speedup_by_generator"].items())
            print(
                f"[{key}, speed-up of {stat} latencies] DP median {s['dp_median_speedup']:.2f}× (target ≥ 1.5×); "
                f"chains {chains}; Spearman(CS, measured) {s['spearman_cs_measured']:.2f} (target ≤ −0.6); "
                f"predicted within ±20 % (target ≥ 80 %): hw {100 * s['within_20pct_hw']:.0f} %, "
                f"plan {100 * s['within_20pct_plan']:.0f} %"
            )
            print(
                f"    by generator: {by_gen}; compute inflation side by side (busy ratio) {s['median_busy_ratio']:.2f}; "
                f"Spearman with measured: ideal bound {s['spearman_bound_measured']:.2f}, hw prediction {s['spearman_hw_measured']:.2f}"
            )
    print(
        f"Spearman(CS, ideal bound) {summary['spearman_cs_bound']:.2f}: how well CS itself ranks the architectures' concurrency"
    )
    if args.out:
        Path(args.out).write_text(json.dumps({"summary": summary, "rows": results}, indent=1))


if __name__ == "__main__":
    main()
