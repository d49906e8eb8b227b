"""Acceptance benchmark of the op-wise latency predictor, in one run.

1. Profiles this CPU within `--budget` seconds (`task=profile`'s procedure) unless
   `--predictor DIR` names an existing profile;
2. draws `--archs` held-out architectures (generators er/ba/ws/dp/fb in turn,
   20–80 vertices, 32×32 and 224×224 in turn, staging policies at random; seeds
   disjoint from every profiling seed);
3. measures each twice, in two independent interleaved passes (`hw.measure`);
4. prints the share of architectures predicted within ±10 % of pass 1 and the median
   error, the same for a FLOPs-proportional baseline (latency = k·MACs, k fitted on
   the profile's calibration architectures), and the noise floor (share whose pass-2
   measurement lands within ±10 % of pass 1), plus the machine load.

Run it alone on the machine (it times things):
    .venv/bin/python benchmarks/bench_latency_predictor.py
(about 8 min profiling + 3–5 min measuring on 2 shared cores).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hw.config import InferenceConfig, ProfileConfig  # noqa: E402
from hw.measure import measure_interleaved, model_and_image, pin_threads  # noqa: E402
from hw.predictor import LatencyPredictor  # noqa: E402
from hw.profile import profile  # noqa: E402
from hw.sampling import EVAL_SEED_OFFSET  # noqa: E402
from nas.arch import total_macs  # noqa: E402
from nas.factory import create_architecture  # noqa: E402

GENERATORS = ("er", "ba", "ws", "dp", "fb")
STAGINGS = ("uniform", "greedy", "probabilistic")


def held_out_architectures(count: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    archs = []
    for i in range(count):
        generator, size = GENERATORS[i % len(GENERATORS)], (32, 224)[(i // len(GENERATORS)) % 2]
        nodes = rng.randint(20, 80)
        kwargs = {} if generator == "fb" else {"staging": rng.choice(STAGINGS)}
        archs.append(
            create_architecture(
                generator,
                nodes,
                EVAL_SEED_OFFSET + seed * 10_000 + i,
                input_size=size,
                num_classes=rng.choice((10, 102)),
                **kwargs,
            )
        )
    return archs


def share_within(pred: np.ndarray, ref: np.ndarray, tol: float = 0.10) -> float:
    return float(np.mean(np.abs(pred / ref - 1) <= tol))


def median_error(pred: np.ndarray, ref: np.ndarray) -> float:
    return float(np.median(np.abs(pred / ref - 1)))


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=480.0, help="profiling budget in seconds (<= 600)")
    parser.add_argument("--predictor", help="use this saved profile instead of profiling")
    parser.add_argument("--save", default="artifacts/hw/bench", help="where to save the fresh profile")
    parser.add_argument("--archs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds per measurement pass")
    parser.add_argument("--warmup-rounds", type=int, default=3, help="rounds of a discarded first pass")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the result dict here")
    parser.add_argument(
        "--eager",
        action="store_true",
        help="profile and measure eager forwards (default: the "
        "fast path, hw.inference's default, which task=deploy runs)",
    )
    args = parser.parse_args()

    settings = ProfileConfig()
    inference = InferenceConfig(fast_path=not args.eager)
    pin_threads(settings.threads)
    load_start = os.getloadavg()
    t0 = time.monotonic()
    if args.predictor:
        predictor = LatencyPredictor.load(args.predictor)
        profile_s = predictor.metadata.get("duration_s")
    else:
        predictor = profile(settings, budget_s=args.budget, inference=inference)
        predictor.save(args.save)
        profile_s = time.monotonic() - t0
    archs = held_out_architectures(args.archs, args.seed)
    t1 = time.monotonic()
    # built (and on the fast path traced) once; a throw-away pass first: a fresh process
    # runs its first rounds ~10 % slower (heap growth)
    calls = [lambda model=model, x=x: model(x) for model, x in (model_and_image(a, inference) for a in archs)]
    measure_interleaved(calls, rounds=args.warmup_rounds, quantile=settings.quantile, seed=args.seed + 2)
    first = np.array(measure_interleaved(calls, rounds=args.rounds, quantile=settings.quantile, seed=args.seed))
    second = np.array(measure_interleaved(calls, rounds=args.rounds, quantile=settings.quantile, seed=args.seed + 1))
    measure_s = time.monotonic() - t1
    predicted = np.array([predictor.predict(a) for a in archs])
    macs = np.array([total_macs(a) for a in archs], dtype=float)
    calibration = predictor.data.get("calibration", [])
    k = float(np.median([c["measured_s"] / c["macs"] for c in calibration]))
    flops = k * macs

    rows = []
    for name, values in (("predictor", predicted), ("FLOPs-proportional", flops), ("noise floor (2nd run)", second)):
        rows.append((name, share_within(values, first), median_error(values, first)))
    print(f"\nheld-out architectures: {len(archs)} (er/ba/ws/dp/fb, 20-80 vertices, 32 and 224 px)")
    print(
        f"profile: {profile_s:.0f} s  measuring: {measure_s:.0f} s  load avg start {load_start[0]:.2f} "
        f"end {os.getloadavg()[0]:.2f}  ({predictor.metadata.get('cpu')}, torch {predictor.metadata.get('torch')}, "
        f"threads {settings.threads}, clock {settings.clock}, {'fast path' if inference.fast_path else 'eager'}, "
        f"{inference.memory_format})"
    )
    print(f"{'model':24s} {'within ±10 %':>13s} {'median error':>13s}")
    for name, share, err in rows:
        print(f"{name:24s} {100 * share:12.0f}% {100 * err:12.1f}%")
    breakdown = {}
    for key, select in [(f"{g}", lambda a, g=g: a.graph["generator"] == g) for g in GENERATORS] + [
        (f"{s}px", lambda a, s=s: a.graph["input_size"] == s) for s in (32, 224)
    ]:
        idx = np.array([select(a) for a in archs])
        breakdown[key] = (share_within(predicted[idx], first[idx]), median_error(predicted[idx], first[idx]))
    print(
        "per group (predictor): " + "  ".join(f"{k} {100 * s:.0f}%/{100 * e:.1f}%" for k, (s, e) in breakdown.items())
    )
    result = {
        "archs": len(archs),
        "within10_predictor": rows[0][1],
        "median_error_predictor": rows[0][2],
        "within10_flops": rows[1][1],
        "median_error_flops": rows[1][2],
        "noise_floor_within10": rows[2][1],
        "noise_median_error": rows[2][2],
        "profile_s": profile_s,
        "measure_s": measure_s,
        "load_start": load_start,
        "load_end": os.getloadavg(),
        "breakdown": breakdown,
        "latency_ms_range": [float(first.min() * 1e3), float(first.max() * 1e3)],
        "per_architecture": {
            "first_ms": (first * 1e3).tolist(),
            "second_ms": (second * 1e3).tolist(),
            "predicted_ms": (predicted * 1e3).tolist(),
            "flops_ms": (flops * 1e3).tolist(),
        },
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
