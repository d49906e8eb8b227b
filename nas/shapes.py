"""Analytic shapes, MACs and parameter counts of every vertex (no torch needed).

The survey scores tens of thousands of architectures, so costs come from vertex
attributes the way a FLOPs counter would count them: only convolutions and linear
layers cost MACs (what `torch.utils.flop_counter` counts); BatchNorm, pooling and the
weighted sum are free. `tests/test_costs.py` checks these numbers against the built
module with FlopCounterMode and `numel()`.

A tensor shape is `(channels, size)`: a square map of side `size`, or a flat vector of
`channels` features when `size == 0`.
"""
from __future__ import annotations

from dataclasses import dataclass

Shape = tuple[int, int]


def conv_out(size: int, kernel: int, stride: int) -> int:
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def pool_out(size: int, kernel: int) -> int:
    """Max-pool with stride 2 and padding (kernel-1)//2 (k=2: floor half, k=3: ceil half)."""
    return (size + 2 * ((kernel - 1) // 2) - kernel) // 2 + 1


def conv_cost(cin: int, cout: int, kernel: int, out_size: int, groups: int = 1, bn: bool = True) -> tuple[int, int]:
    """(MACs, params) of a bias-free conv (+ BatchNorm's 2·cout params)."""
    weights = cout * (cin // groups) * kernel * kernel
    return weights * out_size * out_size, weights + (2 * cout if bn else 0)


def flat_features(shape: Shape) -> int:
    channels, size = shape
    return channels * size * size if size else channels


@dataclass
class VertexCost:
    """Merged input shape, output shape, MACs and parameters of one vertex."""

    in_shape: Shape
    out_shape: Shape
    macs: int
    params: int


def merge_cost(attrs: dict, in_shapes: list[Shape]) -> tuple[Shape, int, int]:
    """Shape after the scaling blocks and the merge, plus their MACs and params.

    Scaling block: every input is max-pooled down to the smallest spatial size among
    the inputs, and (for sum/mean merges) 1×1-convolved up to the largest channel count.
    """
    merge = attrs.get("merge", "sum")
    if not in_shapes:
        raise ValueError("vertex has no input")
    if any(s == 0 for _, s in in_shapes) and len(in_shapes) > 1 and merge != "concat":
        if len({c for c, _ in in_shapes}) > 1 or any(s for _, s in in_shapes):
            raise ValueError("flat (fully-connected) inputs can only be merged when shapes agree")
    target = min(s for _, s in in_shapes)
    if merge == "concat":
        if target == 0:
            return (sum(flat_features(s) for s in in_shapes), 0), 0, 0
        return (sum(c for c, _ in in_shapes), target), 0, 0
    if merge == "single" and len(in_shapes) != 1:
        raise ValueError(f"merge 'single' takes exactly one input, got {len(in_shapes)}")
    cmax = max(c for c, _ in in_shapes)
    macs = sum(c * cmax * target * target for c, _ in in_shapes if c != cmax)
    params = sum(c * cmax for c, _ in in_shapes if c != cmax)
    if merge == "sum":
        params += len(in_shapes)  # one learnable weight per input
    return (cmax, target), macs, params


def op_cost(attrs: dict, in_shape: Shape, num_classes: int) -> tuple[Shape, int, int]:
    """Output shape, MACs and params of the vertex's own operation."""
    op = attrs["op"]
    cin, size = in_shape
    if op == "node":  # ReLU → [max-pool] → 3×3 separable conv → BN
        cout = attrs["channels"]
        stage = attrs.get("stage", False)
        if stage and attrs.get("downsample", "maxpool") == "maxpool":
            size, stride = pool_out(size, 2), 1
        else:
            stride = 2 if stage else 1
        out = conv_out(size, 3, stride)
        dw_macs, dw_params = conv_cost(cin, cin, 3, out, groups=cin, bn=False)
        pw_macs, pw_params = conv_cost(cin, cout, 1, out)
        return (cout, out), dw_macs + pw_macs, dw_params + pw_params
    if op == "conv":  # k×k conv → BN → ReLU → [max-pool]
        cout, kernel = attrs["channels"], attrs.get("kernel", 3)
        out = conv_out(size, kernel, attrs.get("stride", 1))
        macs, params = conv_cost(cin, cout, kernel, out)
        if attrs.get("pool", 0):
            out = pool_out(out, attrs["pool"])
        return (cout, out), macs, params
    if op == "fc":  # flatten → Linear → ReLU
        fin, fout = flat_features(in_shape), attrs["channels"]
        return (fout, 0), fin * fout, fin * fout + fout
    if op == "bottleneck":  # torchvision's ResNet Bottleneck
        width, cout, stride = attrs["width"], attrs["channels"], attrs.get("stride", 1)
        out = conv_out(size, 3, stride)
        m1, p1 = conv_cost(cin, width, 1, size)
        m2, p2 = conv_cost(width, width, 3, out)
        m3, p3 = conv_cost(width, cout, 1, out)
        macs, params = m1 + m2 + m3, p1 + p2 + p3
        if stride != 1 or cin != cout:
            md, pd = conv_cost(cin, cout, 1, out)
            macs, params = macs + md, params + pd
        return (cout, out), macs, params
    if op == "merge":  # parameter-free merge vertex (RandWire stage output)
        return in_shape, 0, 0
    if op == "stem":  # conv-BN-ReLU layers, then an optional max-pool
        macs = params = 0
        for kernel, cout, stride in attrs.get("convs", []):
            size = conv_out(size, kernel, stride)
            m, p = conv_cost(cin, cout, kernel, size)
            macs, params, cin = macs + m, params + p, cout
        if attrs.get("pool", 0):
            size = pool_out(size, attrs["pool"])
        return (cin, size), macs, params
    if op == "head":  # [1×1 conv-BN-ReLU] → global pool / flatten → [hidden FCs] → FC
        macs = params = 0
        if attrs.get("conv_channels", 0) and size:
            macs, params = conv_cost(cin, attrs["conv_channels"], 1, size)
            cin = attrs["conv_channels"]
        features = cin if attrs.get("pool", "avg") == "avg" else flat_features((cin, size))
        for width in list(attrs.get("hidden", [])) + [num_classes]:
            macs += features * width
            params += features * width + width
            features = width
        return (num_classes, 0), macs, params
    raise ValueError(f"unknown op {op!r}; valid: node, conv, fc, bottleneck, merge, stem, head")


OPS = ("node", "conv", "fc", "bottleneck", "merge", "stem", "head")
MERGES = ("sum", "mean", "concat", "single")


def vertex_cost(attrs: dict, in_shapes: list[Shape], num_classes: int) -> VertexCost:
    if attrs["op"] == "stem":  # reads the image directly: no merge
        merged, merge_macs, merge_params = in_shapes[0], 0, 0
    else:
        merged, merge_macs, merge_params = merge_cost(attrs, in_shapes)
    out, macs, params = op_cost(attrs, merged, num_classes)
    if out[1] < 0 or (out[1] == 0 and attrs["op"] not in ("fc", "head") and merged[1] != 0):
        raise ValueError(f"spatial size drops below 1 at op {attrs['op']!r}; stage less or use a larger input")
    return VertexCost(merged, out, macs + merge_macs, params + merge_params)
