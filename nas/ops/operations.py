"""The vertex operations: what a vertex computes after its merge (its `op` attribute).

Add an operation with one `@register_op("name")` class here: `params` turns the
vertex's attributes and its merged input into the op's parameters, and the
`OpKind` methods say the rest.
"""

from __future__ import annotations

import math
import random
from typing import Any

from nas.checks import require
from nas.ops.base import Op, OpKind, feature_vector, register_op, scale
from nas.shapes import Shape, conv_cost, conv_out, flat_features, pool_out


def _width(attrs: dict) -> int:
    channels: Any = attrs.get("channels")  # unchecked vertex attribute, checked below
    require(
        isinstance(channels, int) and not isinstance(channels, bool) and channels >= 1,
        f"channels must be a positive integer, got {channels!r}",
    )
    return channels


class Operation(OpKind):
    """A vertex operation; its parameters start with its input, `cin` channels of side `size`."""

    reads_image = False  # runs on the raw image, without scaling blocks or merge (the stem)
    flattens = False  # may output a flat vector from a feature map
    widths: tuple[str, ...] = ()  # parameters `perturb` scales besides cin and size
    min_size = 2  # smallest input size `perturb` draws

    kernel = 0  # the kernel feature, unless a `kernel` parameter says

    def __init__(self, name: str, vertex_op: str | None = None) -> None:
        super().__init__(name)
        self.family, self.vertex_op = name, vertex_op or name

    def params(self, attrs: dict, num_classes: int) -> dict:
        """The op's parameters, besides its input (cin, size), for a vertex with `attrs`."""
        return {}

    def geometry(self, p: dict) -> tuple[float, float, int]:
        return p.get("kernel", self.kernel), 2 if p.get("stage") or p.get("stride") == 2 else 1, 1

    def inputs(self, p: dict) -> list[Shape]:
        return [(p["cin"], p["size"])]

    def perturb(self, p: dict, rng: random.Random) -> Op | None:
        p = {**p, "cin": scale(p["cin"], rng)}
        if p["size"]:
            p["size"] = scale(p["size"], rng, self.min_size)
        for key in self.widths:
            if p[key]:
                p[key] = scale(p[key], rng)
        return self.make(**p)


@register_op("stem")
class Stem(Operation):
    """conv-BN-ReLU layers (`convs`: [kernel, channels, stride] each), then an optional max-pool."""

    reads_image = True

    def params(self, attrs: dict, num_classes: int) -> dict:
        return {"convs": attrs.get("convs", []), "pool": attrs.get("pool", 0)}

    def cost(self, p: dict) -> tuple[Shape, int, int]:
        cin, size = p["cin"], p["size"]
        macs = params = 0
        for kernel, cout, stride in p["convs"]:
            size = conv_out(size, kernel, stride)
            m, w = conv_cost(cin, cout, kernel, size)
            macs, params, cin = macs + m, params + w, cout
        return (cin, pool_out(size, p["pool"]) if p["pool"] else size), macs, params

    def geometry(self, p: dict) -> tuple[float, float, int]:
        stride = math.prod(s for _, _, s in p["convs"])
        return (p["convs"][0][0] if p["convs"] else 0), stride, len(p["convs"]) + (1 if p["pool"] else 0)

    def module(self, p: dict):
        from nas import blocks

        return blocks.Stem(p["cin"], [list(c) for c in p["convs"]], p["pool"])

    def perturb(self, p: dict, rng: random.Random) -> Op:
        convs = [[k, scale(c, rng), s] for k, c, s in p["convs"]]
        return self.make(cin=p["cin"], size=scale(p["size"], rng, 8), convs=convs, pool=p["pool"])


@register_op("node")
class Node(Operation):
    """The paper's block: ReLU → [max-pool] → 3×3 separable conv → BN (`nas.blocks.NodeOp`)."""

    kernel = 3
    widths = ("cout",)

    def params(self, attrs: dict, num_classes: int) -> dict:
        return {
            "cout": _width(attrs),
            "stage": bool(attrs.get("stage", False)),
            "downsample": attrs.get("downsample", "maxpool"),
        }

    def cost(self, p: dict) -> tuple[Shape, int, int]:
        cin, size, cout = p["cin"], p["size"], p["cout"]
        pooled = p["stage"] and p["downsample"] == "maxpool"
        out = conv_out(pool_out(size, 2) if pooled else size, 3, 2 if p["stage"] and not pooled else 1)
        dw_macs, dw_params = conv_cost(cin, cin, 3, out, groups=cin, bn=False)
        pw_macs, pw_params = conv_cost(cin, cout, 1, out)
        return (cout, out), dw_macs + pw_macs, dw_params + pw_params

    def module(self, p: dict):
        from nas import blocks

        return blocks.NodeOp(p["cin"], p["cout"], p["stage"], p["downsample"])


@register_op("conv")
class Conv(Operation):
    """k×k conv → BN → ReLU → [max-pool]."""

    widths = ("cout",)

    def params(self, attrs: dict, num_classes: int) -> dict:
        return {
            "cout": _width(attrs),
            "kernel": attrs.get("kernel", 3),
            "stride": attrs.get("stride", 1),
            "pool": attrs.get("pool", 0),
        }

    def cost(self, p: dict) -> tuple[Shape, int, int]:
        out = conv_out(p["size"], p["kernel"], p["stride"])
        macs, params = conv_cost(p["cin"], p["cout"], p["kernel"], out)
        return (p["cout"], pool_out(out, p["pool"]) if p["pool"] else out), macs, params

    def module(self, p: dict):
        from torch import nn

        from nas import blocks

        layers = [blocks.ConvBNReLU(p["cin"], p["cout"], p["kernel"], p["stride"])]
        return nn.Sequential(*layers, *([blocks.max_pool(p["pool"])] if p["pool"] else []))


@register_op("fc")
class FullyConnected(Operation):
    """flatten → Linear → ReLU."""

    flattens = True
    widths = ("cout",)

    def params(self, attrs: dict, num_classes: int) -> dict:
        return {"cout": _width(attrs)}

    def cost(self, p: dict) -> tuple[Shape, int, int]:
        fin, fout = flat_features((p["cin"], p["size"])), p["cout"]
        return (fout, 0), fin * fout, fin * fout + fout

    def module(self, p: dict):
        from torch import nn

        return nn.Sequential(
            nn.Flatten(), nn.Linear(flat_features((p["cin"], p["size"])), p["cout"]), nn.ReLU(inplace=True)
        )


@register_op("bottleneck")
class Bottleneck(Operation):
    """torchvision's ResNet Bottleneck (1×1, 3×3 with the stride, 1×1 to `EXPANSION`·width channels;
    a projection when the shape changes)."""

    EXPANSION = 4  # torchvision's Bottleneck.expansion
    kernel = 3
    widths = ("width",)
    min_size = 1

    def params(self, attrs: dict, num_classes: int) -> dict:
        cout, width = _width(attrs), attrs["width"]
        require(
            cout == self.EXPANSION * width,
            f"a bottleneck's channels must be {self.EXPANSION} × its width, got {cout} and {width!r}",
        )
        return {"cout": cout, "width": width, "stride": attrs.get("stride", 1)}

    def perturb(self, p: dict, rng: random.Random) -> Op:
        base = super().perturb(p, rng)
        assert base is not None  # Operation.perturb always draws one
        op = base.p
        return self.make(**{**op, "cout": self.EXPANSION * op["width"]})

    def cost(self, p: dict) -> tuple[Shape, int, int]:
        cin, size, width, cout, stride = p["cin"], p["size"], p["width"], p["cout"], p["stride"]
        out = conv_out(size, 3, stride)
        convs = [conv_cost(cin, width, 1, size), conv_cost(width, width, 3, out), conv_cost(width, cout, 1, out)]
        if stride != 1 or cin != cout:
            convs.append(conv_cost(cin, cout, 1, out))
        return (cout, out), sum(m for m, _ in convs), sum(w for _, w in convs)

    def module(self, p: dict):
        from torch import nn
        from torchvision.models.resnet import Bottleneck

        cin, cout, stride = p["cin"], p["cout"], p["stride"]
        downsample = None
        if stride != 1 or cin != cout:
            downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        return Bottleneck(cin, p["width"], stride, downsample, base_width=64)


@register_op("identity", vertex_op="merge")
class Identity(Operation):
    """The parameter-free `merge` vertex (a RandWire stage's output): its merge is all it does."""

    def cost(self, p: dict) -> tuple[Shape, int, int]:
        return (p["cin"], p["size"]), 0, 0

    def features(self, p: dict) -> dict[str, float]:
        return feature_vector()  # no work: the kind's constant

    def module(self, p: dict):
        from torch import nn

        return nn.Identity()

    def perturb(self, p: dict, rng: random.Random) -> None:
        return None


@register_op("head")
class Head(Operation):
    """[1×1 conv-BN-ReLU] → global average pool or flatten → [hidden FCs] → FC to the classes."""

    flattens = True
    widths = ("conv_channels",)

    def params(self, attrs: dict, num_classes: int) -> dict:
        return {
            "num_classes": num_classes,
            "conv_channels": attrs.get("conv_channels", 0),
            "pool": attrs.get("pool", "avg"),
            "hidden": list(attrs.get("hidden", [])),
        }

    def cost(self, p: dict) -> tuple[Shape, int, int]:
        cin, size = p["cin"], p["size"]
        macs = params = 0
        if p["conv_channels"] and size:
            macs, params = conv_cost(cin, p["conv_channels"], 1, size)
            cin = p["conv_channels"]
        features = cin if p["pool"] == "avg" else flat_features((cin, size))
        for width in [*p["hidden"], p["num_classes"]]:
            macs, params, features = macs + features * width, params + features * width + width, width
        return (p["num_classes"], 0), macs, params

    def geometry(self, p: dict) -> tuple[float, float, int]:
        return (1 if p["conv_channels"] else 0), 1, 1 + len(p["hidden"])

    def features(self, p: dict) -> dict[str, float]:
        return {**super().features(p), "cout": float(p["conv_channels"] or p["cin"])}

    def module(self, p: dict):
        from nas import blocks

        return blocks.Head(p["cin"], p["size"], p["num_classes"], p["conv_channels"], p["pool"], list(p["hidden"]))
