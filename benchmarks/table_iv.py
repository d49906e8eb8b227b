"""Edge'23 Table IV: mean/std parameter count per generator and staging policy.

Samples `--samples` architectures of 40 vertices per generator at the paper's
Flower-102 setting (224×224, 102 classes, staging limit 1024 channels, maps down to
1×1) and prints our figures (M parameters) beside the paper's (units not published).
    python benchmarks/table_iv.py --samples 200
"""

from __future__ import annotations

import argparse

import numpy as np

from nas.arch import total_params
from nas.factory import random_architecture

PAPER = {  # (mean, std) from Table IV
    ("greedy", "er"): (48.63, 1.11),
    ("greedy", "ba"): (48.33, 0.91),
    ("greedy", "ws"): (42.03, 1.28),
    ("greedy", "dp"): (35.03, 2.25),
    ("probabilistic", "er"): (46.03, 2.70),
    ("probabilistic", "ba"): (45.63, 4.41),
    ("probabilistic", "ws"): (36.44, 3.52),
    ("probabilistic", "dp"): (26.69, 3.05),
}
PAPER_STAGING = {"channels": 32, "max_channels": 1024, "min_size": 1, "p": 0.5}


def parameter_table(samples: int, nodes: int = 40) -> dict[tuple[str, str], tuple[float, float]]:
    """(policy, generator) → (mean, std) of the parameter count in millions."""
    table = {}
    for policy, generator in PAPER:
        params = [
            total_params(
                random_architecture(
                    generator,
                    nodes,
                    seed=seed,
                    staging=policy,
                    staging_params=PAPER_STAGING,
                    input_size=224,
                    num_classes=102,
                )
            )
            / 1e6
            for seed in range(samples)
        ]
        table[policy, generator] = (float(np.mean(params)), float(np.std(params)))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    table = parameter_table(args.samples)
    print(
        f"| staging | generator | ours mean (M) | ours std | paper mean | paper std |  ({args.samples} samples, 40 vertices)"
    )
    print("|---|---|---|---|---|---|")
    for (policy, generator), (mean, std) in table.items():
        pm, ps = PAPER[policy, generator]
        print(f"| {policy} | {generator.upper()} | {mean:.2f} | {std:.2f} | {pm:.2f} | {ps:.2f} |")


if __name__ == "__main__":
    main()
