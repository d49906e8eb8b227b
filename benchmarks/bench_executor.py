"""DAG executor cost: per-vertex dispatch, batch-1 inference and training throughput vs ResNet-18.

    python benchmarks/bench_executor.py [--threads 1]

Everything is timed on the calling thread's CPU clock (`time.thread_time`: time
descheduled by other processes is not counted) and every ratio compares two things
measured in the same run. MACs are counted, not quoted: torch's `FlopCounterMode` / 2
on the very input the model is timed on (torchvision's ResNet-18 at 32×32 is 37.0 MMACs).

Candidates compared in a ratio are timed interleaved (`hw.measure`: every round runs
each once, a low quantile over rounds), so contention hits them alike.

1. Dispatch overhead: forward at batch 1 on a 8×8 input with 4 channels, where the
   arithmetic is small, so the time per vertex is mostly the executor's own cost
   (Python dispatch, merge, bookkeeping): eager, a bare loop over the same vertex
   modules, and the fast path (`nas.fast`), all channels-last like deploy. Printed beside
   the floor its convolutions alone set (oneDNN's fixed cost per call: the same
   convolutions on the same inputs, called from Python for eager, from one frozen graph
   for the fast path); the difference is each path's own dispatch (merges, activations,
   pooling, module calls, the interpreter's bookkeeping).
2. Batch-1 inference of DP-40 at 224 px (deploy's layout, channels-last): eager vs the
   fast path, and their largest output difference.
3. Forward+backward throughput (images/s, batch 64, 32×32) of a 40-vertex DP
   architecture (probabilistic staging) vs torchvision ResNet-18, in NCHW and in
   channels-last layout (`train.channels_last`), per GMAC.
"""

from __future__ import annotations

import argparse

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from hw.measure import measure_interleaved, pin_threads
from nas.builder import build_model
from nas.execute import IMAGE
from nas.factory import random_architecture
from nas.fast import frozen, inference_model, to_layout

QUANTILE = 0.2


def counted_macs(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Multiply-accumulates of one forward on `x` (FlopCounterMode counts 2 FLOPs per MAC), per image."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() / 2 / len(x)


def dispatch_overhead(nodes: int = 40, rounds: int = 100) -> dict[str, float]:
    """µs per vertex of each way to run the model, and of its convolutions alone."""
    arch = random_architecture(
        "dp",
        nodes,
        seed=0,
        staging="uniform",
        staging_params={"channels": 4, "max_channels": 4, "min_size": 1},
        input_size=8,
    )
    model = build_model(arch).eval().to(memory_format=torch.channels_last)  # eager, as `inference_model` runs it
    x = to_layout(torch.randn(1, 3, 8, 8), True)
    steps = [(step.vertex, model.vertices[step.vertex], step.inputs) for step in model.plan]

    def bare_loop():
        values = {IMAGE: x}
        for name, module, preds in steps:
            values[name] = module([values[u] for u in preds])

    fast = inference_model(build_model(arch), True, channels_last=True)
    convs = []  # every convolution with its own input (captured in an eager run)
    hooks = [
        m.register_forward_hook(lambda m, args, out: convs.append((m, args[0])))
        for m in model.modules()
        if isinstance(m, torch.nn.Conv2d)
    ]
    with torch.inference_mode():
        model(x)
    for hook in hooks:
        hook.remove()

    class Convolutions(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = torch.nn.ModuleList(conv for conv, _ in convs)

        def forward(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
            return [conv(inp) for conv, inp in zip(self.convs, inputs, strict=True)]

    inputs = tuple(inp for _, inp in convs)
    called = Convolutions()  # the same kernels, called from Python
    floor = frozen(Convolutions(), inputs)  # and from one frozen graph

    names = ["eager", "bare module loop", "its convolutions alone", "fast path", "its frozen convolutions alone"]
    calls = [lambda: model(x), bare_loop, lambda: called(*inputs), lambda: fast(x), lambda: floor(*inputs)]
    times = measure_interleaved(calls, rounds=rounds, quantile=QUANTILE)
    return {name: t / len(model.plan) * 1e6 for name, t in zip(names, times, strict=True)}


def inference_224(rounds: int = 20) -> tuple[float, float, float, int]:
    """(eager ms, fast-path ms, max |difference|, vertices) of DP-40 at 224 px, batch 1, channels-last."""
    arch = random_architecture("dp", 40, seed=0, staging="probabilistic", input_size=224, num_classes=102)
    eager = inference_model(build_model(arch), False, channels_last=True)
    fast = inference_model(eager, True, channels_last=True)
    x = to_layout(torch.randn(1, 3, 224, 224), True)
    with torch.inference_mode():
        diff = float((fast(x) - eager(x)).abs().max())
    times = measure_interleaved([lambda: eager(x), lambda: fast(x)], rounds=rounds, quantile=QUANTILE)
    return times[0] * 1e3, times[1] * 1e3, diff, len(eager.plan)


def training_step(model: torch.nn.Module, batch: int = 64, size: int = 32, channels_last: bool = False):
    """(one SGD step as a call, MACs per image)."""
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 10, (batch,))
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    return step, counted_macs(model, x)


def throughput(channels_last: bool, batch: int = 64, rounds: int = 8) -> tuple[float, float, float, float]:
    """(DP-40 img/s, its MACs, ResNet-18 img/s, its MACs): training steps timed interleaved."""
    arch = random_architecture("dp", 40, seed=0, staging="probabilistic", input_size=32, num_classes=10)
    ours, ours_macs = training_step(build_model(arch).train(), batch, channels_last=channels_last)
    resnet, resnet_macs = training_step(
        torchvision.models.resnet18(num_classes=10).train(), batch, channels_last=channels_last
    )
    times = measure_interleaved([ours, resnet], rounds=rounds, quantile=QUANTILE, warmup=2, grad=True)
    return batch / times[0], ours_macs, batch / times[1], resnet_macs


def main() -> None:
    parser = argparse.ArgumentParser(description="DAG executor benchmark")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    pin_threads(args.threads)
    print(f"{args.threads} thread(s), thread CPU time, {QUANTILE:.0%} quantile of interleaved rounds")
    per_vertex = dispatch_overhead()
    eager, fast = per_vertex["eager"], per_vertex["fast path"]
    print("per vertex @8x8x4, batch 1, channels-last: " + ", ".join(f"{k} {v:.1f} us" for k, v in per_vertex.items()))
    print(
        f"  executor/bare = {eager / per_vertex['bare module loop']:.2f}x; fast path {eager / fast:.2f}x faster "
        f"than eager; dispatch beyond the convolutions: eager {eager - per_vertex['its convolutions alone']:.1f} "
        f"us/vertex, fast path {fast - per_vertex['its frozen convolutions alone']:.1f} us/vertex"
    )
    eager_ms, fast_ms, diff, vertices = inference_224()
    print(
        f"batch-1 inference DP-40 @224x224 ({vertices} vertices), channels-last: eager {eager_ms:.2f} ms, "
        f"fast path {fast_ms:.2f} ms; fast/eager speed-up {eager_ms / fast_ms:.2f}x; max |diff| {diff:.1e}"
    )
    for channels_last in (False, True):
        ours, ours_macs, resnet, resnet_macs = throughput(channels_last)
        layout = "channels-last" if channels_last else "NCHW"
        per_gmac = (ours * ours_macs) / (resnet * resnet_macs)
        print(
            f"fwd+bwd throughput @32x32, batch 64, {layout}: DP-40 {ours:.0f} img/s ({ours_macs / 1e6:.1f} MMACs), "
            f"ResNet-18 {resnet:.0f} img/s ({resnet_macs / 1e6:.1f} MMACs); DP/ResNet-18 = {ours / resnet:.2f}x img/s, "
            f"{per_gmac:.2f}x img/s per GMAC"
        )


if __name__ == "__main__":
    main()
