"""Emulated testbed calibration: CPU-cap fidelity and link throughput/latency vs target.

    python benchmarks/testbed_calibration.py [--quota 0.5 0.25 0.1] [--bandwidth 62.24]
        [--latency 8.83] [--workload python|torch] [--json out.json]
    (as root; the link defaults are rpi3b_wifi's)

1. CPU cap: a fixed single-threaded loop (pure Python, or 3x3 convolutions with
   `--workload torch`), timed alternately on the host and in a unit capped at each
   quota; slowdown = capped wall time / uncapped CPU time (on a shared host the
   uncapped wall time also counts waits for a busy core), vs 1 / quota.
   `share` = the capped run's CPU / wall time: the cap alone.
2. Link: a TCP bulk transfer between two units (Python sockets) vs the configured
   bandwidth; tbf counts whole frames, so TCP payload tops out at 1448/1514 of it.
3. Latency: 64-byte TCP ping-pongs whose every message passes the transport's
   `DelayLine` (this kernel has no netem), half the round trip vs the configured latency.
4. The deployed runtime (`--target rpi3b_wifi`, skip with `--no-deploy`): `task=deploy
   deploy.testbed=emulated hw.units=1` of each `--models` model: one emulated unit's
   measured latency vs the cap's prediction (this machine's per-vertex profile × 1/quota)
   and vs hw/'s unit model of the target (its `scaled` backend); then a 2-unit deploy's
   gloo ping-pong (`ping_pong_link`: latency + bytes / bandwidth, fitted over 4 KB-1.6 MB
   messages) vs the target's link.
Exit status 1 when a figure misses its target by more than ±15 %.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hw.testbed import Testbed, calibrate

TOLERANCE = 0.15
PAYLOAD = 1448 / 1514  # TCP payload per full Ethernet frame (MSS with timestamps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quota", type=float, nargs="+", default=[0.5, 0.25, 0.1])
    parser.add_argument("--bandwidth", type=float, default=62.24, help="Mbit/s")
    parser.add_argument("--latency", type=float, default=8.83, help="one-way ms")
    parser.add_argument("--iterations", type=int, default=3_000_000, help="CPU loop length")
    parser.add_argument("--workload", choices=sorted(calibrate.WORKLOADS), default="python")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--megabytes", type=int, default=8, help="bulk transfer size")
    parser.add_argument("--target", default="rpi3b_wifi", help="hw target of the deploy calibration")
    parser.add_argument("--models", nargs="+", default=["cifarnet", "dp"], help="generators deployed on one unit")
    parser.add_argument("--size", type=int, default=32, help="input size of the deployed models")
    parser.add_argument("--no-deploy", dest="deploy", action="store_false")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    rows = []
    print(f"host: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (other jobs skew the CPU figures)")
    print(
        f"{'cpu quota':>10} {'target':>8} {'measured':>9} {'error':>7} {'share':>6} "
        f"{'uncapped cpu/wall s':>20} {'capped s':>9}"
    )
    for quota in args.quota:
        with Testbed(1, cpu_quota=quota, name_prefix="cnascal") as bed:
            cpu = calibrate.cpu_fidelity(bed, args.iterations, args.repeats, workload=args.workload)
        rows.append(
            {
                "what": "cpu",
                "quota": quota,
                "target": 1 / quota,
                "measured": cpu.slowdown,
                "error": cpu.error,
                "share": cpu.share,
            }
        )
        starved = "  (host busy: the unit got less than its cap)" if cpu.share < 0.9 * quota else ""
        print(
            f"{quota:>10.3f} {1 / quota:>7.2f}x {cpu.slowdown:>8.2f}x {cpu.error:>+7.1%} {cpu.share:>6.3f} "
            f"{cpu.uncapped_cpu_s:>10.3f}/{cpu.uncapped_wall_s:<9.3f} {cpu.capped_wall_s:>9.3f}{starved}"
        )

    with Testbed(2, bandwidth_mbps=args.bandwidth, latency_ms=args.latency, name_prefix="cnascal") as bed:
        mbps = [calibrate.throughput_mbps(bed, args.megabytes << 20) for _ in range(args.repeats)]
        raw = calibrate.one_way_ms(bed, 0.0)
        delayed = calibrate.one_way_ms(bed, bed.transport_delay_ms) if not bed.kernel_delay else raw
        how = "netem" if bed.kernel_delay else "DelayLine (no netem in this kernel)"
    throughput, latency = statistics.median(mbps), statistics.median(delayed)
    rows += [
        {
            "what": "throughput_mbps",
            "target": args.bandwidth,
            "measured": throughput,
            "error": throughput / args.bandwidth - 1,
            "samples": mbps,
        },
        {
            "what": "one_way_ms",
            "target": args.latency,
            "measured": latency,
            "error": latency / args.latency - 1,
            "raw_link_ms": statistics.median(raw),
            "how": how,
        },
    ]
    print(
        f"\nthroughput: {throughput:.2f} Mbit/s of TCP payload vs {args.bandwidth:g} configured "
        f"({throughput / args.bandwidth - 1:+.1%}; payload ceiling {args.bandwidth * PAYLOAD:.2f}); "
        f"runs {', '.join(f'{m:.2f}' for m in mbps)}"
    )
    print(
        f"one-way latency: {latency:.3f} ms (median; p90 {sorted(delayed)[int(0.9 * len(delayed))]:.3f}) "
        f"vs {args.latency:g} ms ({latency / args.latency - 1:+.1%}) via {how}; "
        f"the bare link: {statistics.median(raw):.3f} ms"
    )
    if args.deploy:
        rows += deploy_calibration(args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    misses = [row["what"] for row in rows if abs(row["error"]) > TOLERANCE]
    print("all within ±15 %" if not misses else f"outside ±15 %: {', '.join(misses)}")
    return 1 if misses else 0


def deploy_calibration(args) -> list[dict]:
    """Item 4 of the docstring: the runtime's own figures on the emulated testbed."""
    from app.config import compose, validate
    from hw.backends import create_backend
    from hw.runtime.task import deploy_task
    from nas.factory import architecture_from_config

    def deploy(units: int, model: str) -> tuple[dict, object]:
        cfg = validate(
            compose(
                "task=deploy",
                f"hw={args.target}",
                f"hw.units={units}",
                "deploy.testbed=emulated",
                f"generator={model}",
                f"input_size={args.size}",
                "deploy.repeats=7",
                "deploy.warmup=2",
                "deploy.timeout_s=120",
                "deploy.testbed_name=cnascal",
            )
        )
        return deploy_task(cfg, Path(tempfile.mkdtemp(prefix=f"calibrate-{model}-"))), cfg

    rows = []
    print(f"\none emulated {args.target} unit (task=deploy hw.units=1, {args.size} px), load {os.getloadavg()[0]:.2f}:")
    print(
        f"{'model':>10} {'quota':>7} {'faithful':>8} {'measured ms':>11} {'cap pred ms':>11} {'error':>7} "
        f"{'hw/ unit model ms':>17} {'error':>7}"
    )
    for model in args.models:
        result, cfg = deploy(1, model)
        bed, measured = result["testbed"], result["measured"]["median_ms"]
        cap = result["predicted"]["predicted_latency_ms"]
        unit_model = create_backend(cfg.hw).predict(architecture_from_config(cfg)) * 1e3
        rows.append(
            {
                "what": f"unit_latency_ms/{model}",
                "target": cap,
                "measured": measured,
                "error": measured / cap - 1,
                "unit_model_ms": unit_model,
                "quota": bed["cpu_quota"],
                "faithful": bed["faithful"],
                "slowdown_basis": bed["slowdown_basis"],
                "slowdown_fallback": bed["slowdown_fallback"],
            }
        )
        print(
            f"{model:>10} {bed['cpu_quota']:>7.4f} {bed['faithful']!s:>8} {measured:>11.1f} {cap:>11.1f} "
            f"{measured / cap - 1:>+7.1%} {unit_model:>17.1f} {measured / unit_model - 1:>+7.1%}"
        )
    print(
        f"    cap: {bed['slowdown_basis']}"
        + (f" (fallback: {bed['slowdown_fallback']}, no local profile)" if bed["slowdown_fallback"] else "")
    )
    result, cfg = deploy(2, args.models[0])
    link = result["ping_pong_link"]
    rows += [
        {
            "what": "gloo_one_way_ms",
            "target": cfg.hw.link.latency_ms,
            "measured": link["latency_ms"],
            "error": link["latency_ms"] / cfg.hw.link.latency_ms - 1,
        },
        {
            "what": "gloo_bandwidth_mbps",
            "target": cfg.hw.link.bandwidth_mbps,
            "measured": link["bandwidth_mbps"],
            "error": link["bandwidth_mbps"] / cfg.hw.link.bandwidth_mbps - 1,
        },
    ]
    print(
        f"gloo ping-pong between two units (uncapped, via {result['testbed']['latency_via']}): "
        f"{link['latency_ms']:.2f} ms + bytes / {link['bandwidth_mbps']:.2f} Mbit/s vs "
        f"{cfg.hw.link.latency_ms:g} ms, {cfg.hw.link.bandwidth_mbps:g} Mbit/s "
        f"({rows[-2]['error']:+.1%}, {rows[-1]['error']:+.1%})"
    )
    return rows


if __name__ == "__main__":
    sys.exit(main())
