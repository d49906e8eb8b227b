"""Training acceptance: Fashion-MNIST in ≤ 5 CPU epochs, and the digits quick-start.

1. A DP architecture (`--nodes`, 16–24 vertices) and CifarNet, each trained with the
   `fashion_cpu` recipe on the full Fashion-MNIST training set (Debian's package), must
   reach ≥ 90 % test accuracy.
2. `python run.py task=train data=digits` must finish in < 2 minutes with ≥ 90 %.
Prints one table (figures measured in this run) and the JSON of every result.
    .venv/bin/python benchmarks/fashion_mnist_acceptance.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import lightning.pytorch as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.config import compose, validate  # noqa: E402
from nas.factory import architecture_from_config  # noqa: E402
from training.fit import train_architecture  # noqa: E402

TARGET_ACC, TARGET_SECONDS = 90.0, 120.0


class EpochLine(pl.Callback):
    """One line per epoch on stderr: a long run's progress in a log file."""

    def __init__(self, label: str) -> None:
        self.label, self.start = label, time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # after val
        m = trainer.callback_metrics
        print(
            f"[{self.label}] epoch {trainer.current_epoch + 1}/{trainer.max_epochs} val_acc {float(m['val_acc']):.2f} "
            f"({time.perf_counter() - self.start:.0f} s)",
            file=sys.stderr,
            flush=True,
        )


def fashion(label: str, overrides: list[str], threads: int) -> dict:
    cfg = validate(compose("data=fashion_mnist", "train=fashion_cpu", f"train.threads={threads}", *overrides))
    arch = architecture_from_config(cfg)
    result = train_architecture(arch, cfg, callbacks=[EpochLine(label)])
    return {"model": label, "vertices": arch.number_of_nodes() - 2, **result}


def quick_start() -> dict:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "run.py", "task=train", "data=digits"], cwd=REPO, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"quick-start failed:\n{proc.stderr}")
    return {"model": "quick-start (digits)", "wall_seconds": wall, **json.loads(proc.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=20, help="DP vertices (16–24)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for the Fashion-MNIST runs (see conf/train/fashion_cpu.yaml)",
    )
    parser.add_argument(
        "--only",
        choices=["dp", "cifarnet", "quick"],
        action="append",
        help="run only these parts (repeatable); default all",
    )
    parser.add_argument("--extra", nargs="*", default=[], help="Hydra overrides for both Fashion-MNIST runs")
    args = parser.parse_args()
    parts = args.only or ["dp", "cifarnet", "quick"]
    rows = []
    if "dp" in parts:
        rows.append(
            fashion(
                f"DP-{args.nodes}",
                ["generator=dp", f"nodes={args.nodes}", f"seed={args.seed}", *args.extra],
                args.threads,
            )
        )
    if "cifarnet" in parts:
        rows.append(fashion("CifarNet", ["generator=cifarnet", f"seed={args.seed}", *args.extra], args.threads))
    if "quick" in parts:
        rows.append(quick_start())

    print("| run | vertices | params | test acc % | acc/M-params | epochs | train s | wall s | target | pass |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        quick = "wall_seconds" in r
        target = f"≥ {TARGET_ACC:.0f} % and < {TARGET_SECONDS:.0f} s" if quick else f"≥ {TARGET_ACC:.0f} %"
        ok = r["test_acc"] >= TARGET_ACC and (not quick or r["wall_seconds"] < TARGET_SECONDS)
        print(
            f"| {r['model']} | {r['vertices']} | {r['params']:,} | {r['test_acc']:.2f} | {r['acc_per_param']:.2f} "
            f"| {r['epochs']} | {r['train_seconds']:.0f} | {r.get('wall_seconds', float('nan')):.0f} | {target} "
            f"| {'yes' if ok else 'NO'} |"
        )
    print(json.dumps(rows, default=str))


if __name__ == "__main__":
    main()
