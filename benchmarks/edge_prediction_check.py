"""Does the edge search's latency objective rank what the emulated testbed measures?

    nice python benchmarks/edge_prediction_check.py [--sampled 4] [--repeats 10]
        [--partitioner metis] [--out check.json] [overrides ...]   (as root, under flock /tmp/measure.lock)

Architectures: experiment=edge_search's baselines (fb, lcp:splits=4, cifarnet) and
--sampled ones from its space (random sampler, seed 0), random weights. Each runs once as
task=deploy on the emulated testbed (`deploy.testbed=emulated`, 4 rpi3b_wifi units,
`deploy.costs=profile` placing and ordering it) for its measured median latency. Beside
it, the latency objective (`search.objectives.deployment_prediction`) under each
per-vertex cost source, all on the emulated unit (`hw.runtime.task.deployment_costs`):
`predictor` (hw/'s rpi3b model: the local profile, or its FLOPs stand-in, x the
published slowdown), `profile` (this machine's per-vertex times of the model x the
cap's 1/quota) and `macs`. Prints predicted vs measured and Spearman(predicted,
measured) per source.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import optuna
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import compose, validate
from hw.runtime.task import deploy_task
from hw.runtime.weights import save_random_weights
from nas.arch import save
from nas.factory import baseline_architecture
from search.objectives import DEPLOY_LATENCY, deployment_prediction
from search.space import sample_architecture

SOURCES = ("predictor", "profile", "macs")


def architectures(cfg, sampled: int) -> dict[str, object]:
    archs = {spec: baseline_architecture(spec, cfg) for spec in cfg.search.baselines}
    study = optuna.create_study(study_name="edge-check", sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(sampled):
        trial = study.ask()
        archs[f"sampled-{trial.number}"] = sample_architecture(trial, cfg)
        study.tell(trial, 0.0)
    return archs


def check(cfg, name: str, arch, workdir: Path) -> dict:
    arch_path = save(arch, workdir / f"{name}.json")
    weights = save_random_weights(arch, workdir / f"{name}.pt", 0)
    row: dict = {"arch": name, "vertices": arch.number_of_nodes()}
    for source in SOURCES:
        row[source] = deployment_prediction(arch, replace(cfg, deploy=replace(cfg.deploy, costs=source)), weights)[
            DEPLOY_LATENCY
        ]
    measured = deploy_task(
        replace(cfg, task="deploy", arch=str(arch_path), deploy=replace(cfg.deploy, weights=str(weights))),
        workdir / f"deploy-{name}",
    )
    row.update(
        measured_ms=measured["measured"]["median_ms"],
        deploy_predicted_ms=measured["predicted"]["predicted_distributed_ms"],
        messages=measured["messages"],
        faithful=measured["testbed"]["faithful"],
        cpu_quota=measured["testbed"]["cpu_quota"],
    )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampled", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--partitioner", default="metis")
    parser.add_argument("--out", type=Path)
    parser.add_argument("overrides", nargs="*", help="config overrides after experiment=edge_search")
    args = parser.parse_args(argv)
    cfg = validate(
        compose(
            "experiment=edge_search",
            "analysis.plots=false",
            "deploy.testbed=emulated",
            "deploy.costs=profile",
            f"deploy.partitioner={args.partitioner}",
            f"deploy.repeats={args.repeats}",
            "deploy.warmup=2",
            f"deploy.testbed_name=epc{os.getpid() % 10000}",
            *args.overrides,
        )
    )
    workdir = Path(tempfile.mkdtemp(prefix="edge-check-"))
    load = os.getloadavg()[0]
    rows = [check(cfg, name, arch, workdir) for name, arch in architectures(cfg, args.sampled).items()]
    print(f"load {load:.1f} -> {os.getloadavg()[0]:.1f}; partitioner {args.partitioner}; quota {rows[0]['cpu_quota']}")
    print(f"{'arch':<14} {'measured':>9} " + " ".join(f"{s:>10}" for s in SOURCES))
    for r in rows:
        print(f"{r['arch']:<14} {r['measured_ms']:>9.1f} " + " ".join(f"{r[s]:>10.1f}" for s in SOURCES))
    measured = [r["measured_ms"] for r in rows]
    rho = {s: float(spearmanr([r[s] for r in rows], measured).statistic) for s in SOURCES}
    print("Spearman(predicted, measured): " + ", ".join(f"{s} {v:+.2f}" for s, v in rho.items()))
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "spearman": rho, "load": load}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
