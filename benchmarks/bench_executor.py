"""DAG executor cost: per-vertex dispatch overhead and training throughput vs ResNet-18.

    python benchmarks/bench_executor.py [--threads 2]

1. Dispatch overhead: forward at batch 1 on a 8×8 input with 4 channels, where the
   arithmetic is negligible, so the time per vertex is the executor's own cost (Python
   dispatch, merge, bookkeeping). Printed beside the cost of calling the same vertex
   modules in a bare loop, so the executor's bookkeeping share is visible.
2. Forward+backward throughput (images/s, batch 64, 32×32) of a 40-vertex DP
   architecture (default staging) vs torchvision ResNet-18, measured in the same run,
   in NCHW and in channels-last layout (`train.channels_last`).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

from nas.builder import build_model
from nas.execute import IMAGE
from nas.factory import random_architecture


def timed(fn, repeats: int, warmup: int = 3) -> float:
    """Median seconds per call."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


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
               channels_last: bool = False) -> float:
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 10, (batch,))
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    return batch / timed(step, repeats, warmup=2)


def main() -> None:
    parser = argparse.ArgumentParser(description="DAG executor benchmark")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    per_vertex, bare = dispatch_overhead()
    print(f"dispatch overhead: {per_vertex:.1f} us/vertex (bare module loop {bare:.1f} us/vertex, "
          f"executor/bare = {per_vertex / bare:.2f}x)")
    arch = random_architecture("dp", 40, seed=0, staging="probabilistic", input_size=32, num_classes=10)
    macs = sum(d["macs"] for _, d in arch.nodes(data=True))
    for channels_last in (False, True):
        ours = throughput(build_model(arch).train(), channels_last=channels_last)
        resnet = throughput(torchvision.models.resnet18(num_classes=10).train(), channels_last=channels_last)
        layout = "channels-last" if channels_last else "NCHW"
        print(f"fwd+bwd throughput @32x32, batch 64, {args.threads} threads, {layout}: DP-40 {ours:.0f} img/s "
              f"({macs / 1e6:.0f} MMACs), ResNet-18 {resnet:.0f} img/s (556 MMACs); DP/ResNet-18 = {ours / resnet:.2f}x")


if __name__ == "__main__":
    main()
