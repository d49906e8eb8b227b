"""The edge study on the emulated testbed: ≥ 30 architectures on n = 1, 2, 4, 8 emulated units.

    nice python benchmarks/testbed_study.py [--target rpi3b_wifi] [--units 1 2 4 8]
        [--size 64] [--t2micro] [--out study.json] [--plot latency_vs_units.png]   (as root)

Architectures: --per-generator random graphs each of DP, ER, BA, WS (--nodes vertices,
probabilistic staging), --fb RandWire, LCP split-2/4/8 (of CifarNet), CifarNet and
VGG-11, batch 1. For each n, one `deploy.testbed=emulated` launch (`hw.runtime.emulate`)
runs every architecture on n units of the target, each capped at 1/slowdown of a core
(the target's compute model), linked at its bandwidth and latency: METIS's best (lowest
CS) option, in the simulated schedule's order. Per architecture and n: the measured
median latency, the speed-up over n = 1, hw/'s prediction (its list scheduler on the
target's link with this machine's per-vertex profile × the unit's 1/quota: the
testbed's own model) and the ideal bound min(n, FLOPs / critical-path FLOPs).

Summary: at n = 4 the median DP speed-up against its bound and the chains' speed-ups;
the share of predictions within ±15 % of the measured latency; Spearman(predicted,
measured speed-up) and Spearman(CS, measured speed-up); FB / DP latency beside the
paper's 6-7x; per n the caps' faithfulness (`CpuPlan.faithful`) and the units' busy
ratio (measured compute time / profile × 1/quota: below 1 where bursts of work shorter
than the cap's quota ran at full speed, the CFS granularity), and the host load.
`--t2micro` adds 10 units of `aws_t2micro`, which does not fit 2 cores faithfully.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import compose, validate
from hw.analyze import latency_report
from hw.runtime.emulate import emulation_for
from hw.runtime.launch import launch_local
from hw.runtime.plan import single_unit
from hw.runtime.task import deploy_job, metis_assignment, vertex_costs
from hw.runtime.weights import save_random_weights
from hw.schedule import simulate
from hw.target import target_from_config
from nas.arch import save
from nas.factory import create_architecture

RANDOM = ("dp", "er", "ba", "ws")
CHAINS = ("cifarnet", "vgg11")
STAGING = {"channels": 32, "max_channels": 256}
PAPER_DP_OVER_FB = "6-7x"


def architectures(args) -> list[tuple[str, object]]:
    common = {"input_size": args.size, "num_classes": 10}
    archs = [
        (f"{g}-{s}", create_architecture(g, args.nodes, s, staging="probabilistic", staging_params=STAGING, **common))
        for g in RANDOM
        for s in range(args.per_generator)
    ]
    archs += [(f"fb-{s}", create_architecture("fb", args.nodes, s, **common)) for s in range(args.fb)]
    archs += [
        (f"lcp-{k}", create_architecture("lcp", args.nodes, 0, params={"splits": k}, **common)) for k in (2, 4, 8)
    ]
    archs += [(c, create_architecture(c, args.nodes, 0, **common)) for c in CHAINS]
    return archs


def hw_config(target: str, units: int):
    return validate(compose(f"hw={target}", f"hw.units={units}")).hw


def prepare(archs, workdir: Path) -> dict[str, dict]:
    """Save each architecture and weights, profile its vertices here (once, uncapped)."""
    rows = {}
    for name, arch in tqdm(archs, desc="profile"):
        arch_path = save(arch, workdir / f"{name}.json")
        weights = save_random_weights(arch, workdir / f"{name}.pt", seed=0)
        rows[name] = {
            "arch": arch,
            "path": arch_path,
            "weights": weights,
            "generator": arch.graph["generator"],
            "costs": vertex_costs(arch, "profile", weights, channels_last=True),
            "n": {},
        }
    return rows


def run_units(rows: dict, target: str, units: int, args, workdir: Path) -> dict:
    """One emulated launch of every architecture on `units` units; fills rows[name]['n'][units]."""
    hw = hw_config(target, units)
    emulation, plan_target = emulation_for(hw, units), target_from_config(hw)
    jobs, plans = [], {}
    for name, row in rows.items():
        arch, costs = row["arch"], emulation.scale(row["costs"])
        if units == 1:
            assignment, info = single_unit(arch), {"cs": None, "speedup_bound": 1.0}
        else:
            assignment, info = metis_assignment(arch, units)
        order = simulate(arch, assignment, costs, plan_target, hw.schedule_order).order
        predicted = latency_report(arch, assignment, plan_target, costs, order=hw.schedule_order)
        plans[name] = (info, predicted, sum(costs.values()))
        jobs.append(
            deploy_job(
                name,
                row["path"],
                row["weights"],
                {"distributed": {"assignment": assignment, "order": order}},
                args.repeats,
                args.warmup,
                0,
                "channels_last",
            )
        )
    spec = {"timeout_s": 600, "threads": 1, "compute_policy": "idle", "jobs": jobs}
    load = os.getloadavg()[0]
    started = time.time()
    with emulation.testbed("cnasstudy") as bed:
        report = launch_local(spec, units, workdir=workdir / f"run-{target}-{units}", testbed=bed, deadline_s=3600)
        about = emulation.to_json(bed)
    about.update(load_before=load, load_after=os.getloadavg()[0], wall_s=time.time() - started)
    busy = []
    for name, row in rows.items():
        job, (info, predicted, work_s) = report["jobs"][name], plans[name]
        busy_ms = sum(float(np.median(rank)) for rank in job["busy_ms"]["distributed"])
        busy.append(busy_ms / (work_s * 1e3))
        row["n"][units] = {
            "median_ms": float(np.median(job["latency_ms"]["distributed"])),
            "min_ms": float(np.min(job["latency_ms"]["distributed"])),
            "predicted_ms": predicted.distributed_s * 1e3,
            "cs": info["cs"],
            "bound": info["speedup_bound"],
            "messages": job["messages"]["distributed"],
            "busy_ratio": busy[-1],
        }
    about["median_busy_ratio"] = float(np.median(busy))
    return about


def summarize(rows: dict, units: list[int], testbeds: dict) -> dict:
    """The acceptance figures; speed-ups against each architecture's own n = 1 run."""
    for row in rows.values():
        one = row["n"][1]["median_ms"]
        for cell in row["n"].values():
            cell["speedup"] = one / cell["median_ms"]
            cell["predicted_speedup"] = row["n"][1]["predicted_ms"] / cell["predicted_ms"]
    summary: dict = {"testbeds": testbeds, "per_n": {}}
    errors = [cell["predicted_ms"] / cell["median_ms"] - 1 for row in rows.values() for cell in row["n"].values()]
    summary["within_15pct"] = float(np.mean(np.abs(errors) <= 0.15))
    for n in units:
        if n == 1:
            continue
        cells = {name: row["n"][n] for name, row in rows.items() if n in row["n"]}
        measured = [c["speedup"] for c in cells.values()]
        dp = [c for name, c in cells.items() if rows[name]["generator"] == "dp"]
        fb = [c for name, c in cells.items() if rows[name]["generator"] == "fb"]
        summary["per_n"][n] = {
            "dp_median_speedup": float(np.median([c["speedup"] for c in dp])),
            "dp_median_of_bound": float(np.median([c["speedup"] / c["bound"] for c in dp])),
            "chain_speedups": {name: cells[name]["speedup"] for name in CHAINS if name in cells},
            "spearman_predicted_measured": float(
                spearmanr([c["predicted_speedup"] for c in cells.values()], measured).statistic
            ),
            "spearman_cs_measured": float(spearmanr([c["cs"] for c in cells.values()], measured).statistic),
            "fb_over_dp_latency": float(
                np.median([c["median_ms"] for c in fb]) / np.median([c["median_ms"] for c in dp])
            ),
            "within_15pct": float(
                np.mean([abs(c["predicted_ms"] / c["median_ms"] - 1) <= 0.15 for c in cells.values()])
            ),
        }
    return summary


def plot(rows: dict, units: list[int], path: Path, title: str) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    groups: dict[str, list[dict]] = {}
    for name, row in rows.items():
        groups.setdefault(name if row["generator"] in CHAINS + ("lcp",) else row["generator"], []).append(row)
    for label, members in groups.items():
        xs = [n for n in units if all(n in r["n"] for r in members)]
        ax.plot(xs, [np.median([r["n"][n]["median_ms"] for r in members]) for n in xs], marker="o", label=label)
    ax.set(xscale="log", yscale="log", xlabel="emulated units", ylabel="median latency (ms)", title=title)
    ax.set_xticks(units, [str(n) for n in units])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_table(rows: dict, units: list[int]) -> None:
    head = f"{'arch':<10} {'CS@4':>5} {'bnd@4':>5}" + "".join(
        f" | n={n}: {'ms':>7} {'pred':>7} {'x':>5}" for n in units
    )
    print(head)
    for name, row in rows.items():
        four = row["n"].get(4, {})
        line = f"{name:<10} {four.get('cs') or 0:>5.2f} {four.get('bound', 0):>5.2f}"
        for n in units:
            c = row["n"][n]
            line += f" |     {c['median_ms']:>7.0f} {c['predicted_ms']:>7.0f} {c['speedup']:>5.2f}"
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="rpi3b_wifi")
    parser.add_argument("--units", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--per-generator", type=int, default=6)
    parser.add_argument("--fb", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--size", type=int, default=64, help="input size (px)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--t2micro", action="store_true", help="also 10 units of aws_t2micro (unfaithful on 2 cores)")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--plot", type=Path, default=Path("testbed_latency_vs_units.png"))
    args = parser.parse_args(argv)
    units = sorted(set(args.units) | {1})

    started = time.time()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="testbed-study-"))
    rows = prepare(architectures(args), workdir)
    testbeds = {}
    for n in units:
        testbeds[f"{args.target}/{n}"] = about = run_units(rows, args.target, n, args, workdir)
        print(
            f"{args.target} x {n}: quota {about['cpu_quota']:.4f} (faithful {about['faithful']}), "
            f"busy ratio {about['median_busy_ratio']:.2f}, load {about['load_before']:.1f} -> {about['load_after']:.1f}, "
            f"{about['wall_s']:.0f} s",
            flush=True,
        )
    summary = summarize(rows, units, testbeds)
    print_table(rows, units)
    if args.t2micro:
        t2 = {name: {**row, "n": {}} for name, row in rows.items()}
        for n in (1, 10):
            testbeds[f"aws_t2micro/{n}"] = run_units(t2, "aws_t2micro", n, args, workdir)
        summary["aws_t2micro"] = summarize(t2, [1, 10], {})["per_n"][10]
        summary["aws_t2micro"]["faithful"] = testbeds["aws_t2micro/10"]["faithful"]
    four = summary["per_n"].get(4)
    for n, s in summary["per_n"].items():
        chains = ", ".join(f"{k} {v:.2f}x" for k, v in s["chain_speedups"].items())
        print(
            f"n={n}: DP median speed-up {s['dp_median_speedup']:.2f}x = {s['dp_median_of_bound']:.0%} of its bound; "
            f"chains {chains}; FB/DP latency {s['fb_over_dp_latency']:.2f}x (paper: DP {PAPER_DP_OVER_FB} faster); "
            f"Spearman(pred, meas speed-up) {s['spearman_predicted_measured']:.2f}, Spearman(CS, meas) "
            f"{s['spearman_cs_measured']:.2f}; within ±15 % {s['within_15pct']:.0%}"
        )
    print(f"predictions within ±15 % of measured latency (all n): {summary['within_15pct']:.0%}")
    if four:
        print(
            f"acceptance at n=4: DP {four['dp_median_of_bound']:.0%} of bound (target >= 75 %), chains "
            f"{max(four['chain_speedups'].values()):.2f}x max (target <= 1.2x), Spearman(pred, meas) "
            f"{four['spearman_predicted_measured']:.2f} (target >= 0.8); within ±15 %: {summary['within_15pct']:.0%} "
            "(target >= 80 %)"
        )
    if "aws_t2micro" in summary:
        s = summary["aws_t2micro"]
        print(
            f"aws_t2micro x 10 (faithful {s['faithful']}): DP median {s['dp_median_speedup']:.2f}x, "
            f"FB/DP {s['fb_over_dp_latency']:.2f}x"
        )
    plot(rows, units, args.plot, f"{args.target}, {args.size} px, emulated")
    summary["wall_s"] = time.time() - started
    print(f"plot: {args.plot}; wall {summary['wall_s']:.0f} s")
    if args.out:
        keep = {name: {"generator": r["generator"], "n": r["n"]} for name, r in rows.items()}
        args.out.write_text(json.dumps({"summary": summary, "rows": keep}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
