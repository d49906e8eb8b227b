"""PyTorch modules of the op kinds (`nas.ops`), whose entries build them and count their costs.

Every vertex is a `nas.builder.VertexModule`: scaling blocks → merge → operation.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def recording() -> bool:
    """Autograd records this forward (training) and no trace does: the fused training forms
    run only then; traces and no-grad forwards keep one module call per op (timing hooks)."""
    return torch.is_grad_enabled() and not torch.jit.is_tracing()


class SeparableConv(nn.Sequential):
    """3×3 depthwise conv followed by a 1×1 pointwise conv, both bias-free."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
            nn.Conv2d(cin, cout, 1, bias=False),
        )

    def scaled(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """`self(scale·x)` for a scalar `scale`: folded into the depthwise weight (the convolutions are linear)."""
        depthwise = self[0]
        assert isinstance(depthwise, nn.Conv2d)
        return self[1](depthwise._conv_forward(x, depthwise.weight * scale, None))


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


def max_pool(kernel: int) -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel, 2, (kernel - 1) // 2)


class NodeOp(nn.Sequential):
    """The paper's building block after aggregation: ReLU → 3×3 separable conv → BN.

    A staging vertex first max-pools by 2 (`downsample="maxpool"`, the paper) or
    convolves with stride 2 (`downsample="stride"`, RandWire).
    """

    def __init__(self, cin: int, cout: int, stage: bool, downsample: str) -> None:
        pool = stage and downsample == "maxpool"
        layers: list[nn.Module] = [nn.ReLU()]
        if pool:
            layers.append(nn.MaxPool2d(2, 2))
        layers += [SeparableConv(cin, cout, 2 if stage and not pool else 1), nn.BatchNorm2d(cout)]
        super().__init__(*layers)

    def scaled(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """`self(scale·x)` for `x` ≥ 0 and a scalar `scale` ≥ 0 without the product tensor or
        the ReLU pass: ReLU is the identity on `scale·x` ≥ 0 and max-pool commutes with a
        non-negative scale. The same function up to rounding, two fewer passes over the map
        each way in training."""
        for layer in list(self)[1:-2]:  # the max-pool of a staging vertex
            x = layer(x)
        separable = self[-2]
        assert isinstance(separable, SeparableConv)
        return self[-1](separable.scaled(x, scale))


class Head(nn.Module):
    """[1×1 conv-BN-ReLU] → global average pool or flatten → [hidden FCs] → FC."""

    def __init__(
        self,
        cin: int,
        size: int,
        num_classes: int,
        conv_channels: int = 0,
        pool: str = "avg",
        hidden: list[int] | tuple = (),
    ) -> None:
        super().__init__()
        self.conv = ConvBNReLU(cin, conv_channels, 1) if conv_channels and size else nn.Identity()
        cin = conv_channels if conv_channels and size else cin
        self.pool = pool
        features = cin if pool == "avg" or not size else cin * size * size
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(features, width), nn.ReLU(inplace=True)]
            features = width
        layers.append(nn.Linear(features, num_classes))
        self.classifier = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if x.dim() == 4:
            x = x.mean((2, 3)) if self.pool == "avg" else x.flatten(1)
        return self.classifier(x)


class Stem(nn.Sequential):
    def __init__(self, cin: int, convs: list, pool: int = 0) -> None:
        layers: list[nn.Module] = []
        for kernel, cout, stride in convs:
            layers.append(ConvBNReLU(cin, cout, kernel, stride))
            cin = cout
        if pool:
            layers.append(max_pool(pool))
        super().__init__(*layers)


class Scaler(nn.Module):
    """Scaling block for one input: max-pool down to `size`, 1×1 conv up to `channels`."""

    def __init__(self, cin: int, cout: int, size: int) -> None:
        super().__init__()
        self.size = size
        self.conv = nn.Conv2d(cin, cout, 1, bias=False) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and x.shape[-1] != self.size:
            x = F.adaptive_max_pool2d(x, self.size)
        return self.conv(x) if self.conv is not None else x


class Single(nn.Module):
    """The merge of one input: that input."""

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return inputs[0]


class Mean(nn.Module):
    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return _sum(inputs).div_(len(inputs)) if len(inputs) > 1 else inputs[0]


class Concat(nn.Module):
    """Along channels (features, for flat inputs)."""

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(inputs, 1)


def _sum(inputs: list[torch.Tensor]) -> torch.Tensor:
    """Σ inputs in the inputs' memory layout (`torch.stack` would make NCHW of NHWC maps)."""
    out = inputs[0] + inputs[1]
    for x in inputs[2:]:
        out.add_(x)
    return out


def weighted_sum(weights: torch.Tensor, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Σ w_i·x_i in one pass per input (`addcmul_`), in the inputs' layout; no autograd."""
    w = weights.unbind()
    out = inputs[0] * w[0]
    for wi, x in zip(w[1:], inputs[1:], strict=True):
        out.addcmul_(x, wi)
    return out


def _flat(x: torch.Tensor) -> torch.Tensor | None:
    """`x` as a flat view in memory order (dense NCHW or NHWC), else None."""
    if x.is_contiguous():
        return x.view(-1)
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return x.permute(0, 2, 3, 1).reshape(-1)
    return None


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Σ a·b without the product tensor where both have one dense layout."""
    fa, fb = _flat(a), _flat(b)
    if fa is not None and fb is not None and a.stride() == b.stride():
        return torch.dot(fa, fb)
    return (a * b).sum()


class _InputSigmoidSum(torch.autograd.Function):
    """Σ w_i·σ(x_i) with a hand-written backward: autograd of the plain formula keeps and
    re-reads a w_i·σ(x_i) tensor per input and selects every w_i; this saves only σ(x_i)
    and computes ∂w_i = ⟨g, σ(x_i)⟩ as a dot product, ∂x_i = w_i·g·σ'(x_i)."""

    @staticmethod
    def forward(ctx: Any, weight: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
        squashed = [torch.sigmoid(x) for x in inputs]
        ctx.save_for_backward(weight, *squashed)
        return weighted_sum(weight, squashed)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        weight, *squashed = ctx.saved_tensors
        grad_weight = (
            torch.stack([_dot(grad, s) for s in squashed]).to(weight.dtype) if ctx.needs_input_grad[0] else None
        )
        grads = [
            torch.ops.aten.sigmoid_backward(grad, s).mul_(w) if needed else None
            for w, s, needed in zip(weight.unbind(), squashed, ctx.needs_input_grad[1:], strict=True)
        ]
        return (grad_weight, *grads)


class InputSigmoidSum(nn.Module):
    """The paper's learnable weighted sum: each input squashed, Σ w_i·σ(x_i) (w_i start at 1).

    Followed by a `NodeOp` (whose ReLU comes first), one input is `node.scaled(σ(x), ReLU(w))`:
    ReLU(w·σ(x)) = ReLU(w)·σ(x) as σ > 0 (`then_node`)."""

    def __init__(self, fan_in: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(fan_in))

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        if recording():
            return _InputSigmoidSum.apply(self.weight, *inputs)
        return weighted_sum(self.weight, [torch.sigmoid(x) for x in inputs])

    def then_node(self, node: NodeOp, inputs: list[torch.Tensor]) -> torch.Tensor:
        """`node(self(inputs))`, the single-input case without the product tensor and the ReLU."""
        if len(inputs) == 1:
            return node.scaled(torch.sigmoid(inputs[0]), F.relu(self.weight))
        return node(self(inputs))


class WeightSigmoidSum(nn.Module):
    """RandWire's learnable weighted sum: the weights squashed, Σ σ(w_i)·x_i (w_i start at 0)."""

    def __init__(self, fan_in: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(fan_in))

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        weights = torch.sigmoid(self.weight)
        if recording():
            w = weights.unbind()
            out = inputs[0] * w[0]
            for wi, x in zip(w[1:], inputs[1:], strict=True):
                out = torch.addcmul(out, x, wi)
            return out
        return weighted_sum(weights, inputs)
