"""Tensor-shape arithmetic of convolutions and pools (no torch needed).

A tensor shape is `(channels, size)`: a square map of side `size`, or a flat vector of
`channels` features when `size == 0`. The op registry (`nas.ops`) builds every op's
cost from these; `tests/test_nas_model.py` checks the totals against the built model
with FlopCounterMode and `numel()`.
"""

from __future__ import annotations

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
