"""Image pipelines: the usual augmentation on the train split, a fixed one elsewhere.

Built with torchvision's v2 transforms, which take PIL images (file and CIFAR sets)
and tensors (in-memory sets) alike, so every data set shares one pipeline.
"""

from __future__ import annotations

from typing import Any

import torch
from torchvision.transforms import v2

# Eval resizes to this multiple of the side before the centre crop (ImageNet practice).
EVAL_RESIZE = 256 / 224


def image_transform(data: Any, train: bool) -> v2.Compose:
    """uint8/float image → normalised float tensor of `data.input_size`, `data.in_channels`."""
    size = data.input_size
    steps: list[Any] = [v2.ToImage(), v2.Grayscale(1) if data.in_channels == 1 else v2.RGB()]
    policy = data.augment if train else "none"
    if policy == "resized_crop_flip":
        steps += [v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()]
    elif data.augment == "resized_crop_flip":  # eval of a crop-trained set: resize, centre crop
        steps += [v2.Resize(round(size * EVAL_RESIZE), antialias=True), v2.CenterCrop(size)]
    else:
        steps += [v2.Resize(size, antialias=True), v2.CenterCrop(size)]
        if policy == "crop_flip":
            steps += [v2.RandomCrop(size, padding=max(1, size // 8)), v2.RandomHorizontalFlip()]
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(data.mean), list(data.std))]
    return v2.Compose(steps)
