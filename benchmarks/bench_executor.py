"""DAG executor cost: per-vertex dispatch, batch-1 inference and training throughput vs ResNet-18.

    python benchmarks/bench_executor.py [--threads 1]

Everything is timed on the calling thread's CPU clock (`time.thread_time`: time
descheduled by other processes is not counted) and every ratio compares two things
measured in the same run. MACs are counted, not quoted: torch's `FlopCounterMode` / 2
on the very input the model is timed on (torchvision's ResNet-18 at 32×32 is 37.0 MMACs).

1. Dispatch overhead: forward at batch 1 on a 8×8 input with 4 channels, where the
   arithmetic is negligible, so the time per vertex is the executor's own cost (Python
   dispatch, merge, bookkeeping). Printed beside the cost of calling the same vertex
   modules in a bare loop, so the executor's bookkeeping share is visible.
2. Forward+backward throughput (images/s, batch 64, 32×32) of a 40-vertex DP
   architecture (probabilistic staging) vs torchvision ResNet-18, in NCHW and in
   channels-last layout (`train.channels_last`), per GMAC.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from nas.builder import build_model
from nas.execute import IMAGE
from nas.factory import random_architecture


def timed(fn, repeats: int, warmup: int = 3) -> float:
    """Median thread-CPU seconds per call."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.thread_time()
        fn()
        samples.append(time.thread_time() - start)
    return statistics.median(samples)


def counted_macs(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Multiply-accumulates of one forward on `x` (FlopCounterMode counts 2 FLOPs per MAC), per image."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() / 2 / len(x)


def dispatch_overhead(nodes: int = 40) -> tuple[float, float]:
    arch = random_architecture("dp", nodes, seed=0, staging="uniform",
                               staging_params={"channels": 4, "max_channels": 4, "min_size": 1}, input_size=8)
    model = build_model(arch).eval()
    x = torch.randn(1, 3, 8, 8)
    steps = [(step.vertex, model.vertices[step.vertex], step.inputs) for step in model.plan]

    def bare_loop():
        values = {IMAGE: x}
        for name, module, preds in steps:
            values[name] = module([values[u] for u in preds])

    with torch.inference_mode():
        executor = timed(lambda: model(x), 200)
        bare = timed(bare_loop, 200)
    count = len(model.plan)
    return executor / count * 1e6, bare / count * 1e6


def throughput(model: torch.nn.Module, batch: int = 64, size: int = 32, repeats: int = 5,
               channels_last: bool = False) -> tuple[float, float]:
    """(images/s of a training step, MACs per image)."""
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 10, (batch,))
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    macs = counted_macs(model, x)
    return batch / timed(step, repeats, warmup=2), macs


def main() -> None:
    parser = argparse.ArgumentParser(description="DAG executor benchmark")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    per_vertex, bare = dispatch_overhead()
    print(f"dispatch overhead: {per_vertex:.1f} us/vertex (bare module loop {bare:.1f} us/vertex, "
          f"executor/bare = {per_vertex / bare:.2f}x)")
    arch = random_architecture("dp", 40, seed=0, staging="probabilistic", input_size=32, num_classes=10)
    for channels_last in (False, True):
        ours, ours_macs = throughput(build_model(arch).train(), channels_last=channels_last)
        resnet, resnet_macs = throughput(torchvision.models.resnet18(num_classes=10).train(), channels_last=channels_last)
        layout = "channels-last" if channels_last else "NCHW"
        per_gmac = (ours * ours_macs) / (resnet * resnet_macs)
        print(f"fwd+bwd throughput @32x32, batch 64, {args.threads} threads, {layout}: DP-40 {ours:.0f} img/s "
              f"({ours_macs / 1e6:.1f} MMACs), ResNet-18 {resnet:.0f} img/s ({resnet_macs / 1e6:.1f} MMACs); "
              f"DP/ResNet-18 = {ours / resnet:.2f}x img/s, {per_gmac:.2f}x img/s per GMAC")


if __name__ == "__main__":
    main()
