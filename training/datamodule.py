"""Base LightningDataModule: fixed splits, `data.fraction`, loaders sized for the machine.

A concrete data set only says where its images come from (`load`: raw train/val/test
sources and the indices each split uses) and checks what it read (`check_labels`,
`check_images`: a bad file fails at load, in one line, not mid-training); splitting,
subsampling, transforms and loaders are shared here so every data set behaves the same way.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.error import URLError

import lightning.pytorch as pl
import numpy as np
import torch
from numpy.typing import ArrayLike
from torch.utils.data import DataLoader, Dataset

from training.transforms import image_transform

SPLITS = ("train", "val", "test")

log = logging.getLogger(__name__)


class DataError(ValueError):
    """A data set's files disagree with themselves or with `data.*`: a label out of range,
    images without labels, an image that does not decode. One line naming the file.

    Raised in a DataLoader worker, it comes back re-raised by torch as DataError("Caught
    DataError in DataLoader worker ...<traceback>...DataError: <message>"): only <message> is kept.
    """

    def __init__(self, message: str) -> None:
        if "Original Traceback" in message:
            message = message.rstrip().rsplit("DataError: ", 1)[-1]
        super().__init__(message)


def check_labels(what: str, images: int, labels: ArrayLike, num_classes: int) -> None:
    """One label per image, each in 0..num_classes-1: else a shorter label file would drop
    images silently, and a label out of range fails deep in the loss (or on the GPU)."""
    labels = np.asarray(labels)
    if len(labels) != images:
        raise DataError(
            f"{what}: {images} images but {len(labels)} labels; every image needs exactly one label "
            "(a truncated or mismatched file?)"
        )
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if len(bad):
        hint = f"; pass data.num_classes={int(labels.max()) + 1} if it has that many" if bad.min() >= 0 else ""
        raise DataError(
            f"{what}: {len(bad)} labels outside 0..{num_classes - 1} (data.num_classes={num_classes}), "
            f"e.g. {int(bad[0])}{hint}"
        )


def check_images(what: str, paths: Iterable[str | os.PathLike]) -> None:
    """Every file opens as an image (its header: ~0.1 ms a file, a full decode is 30x that)."""
    from PIL import Image

    for path in paths:
        try:
            with Image.open(path):
                pass
        except (OSError, SyntaxError, ValueError) as err:
            raise DataError(
                f"{what}: {path} is not a readable image ({_one_line(err)}); remove or replace it"
            ) from None


def machine_workers() -> int:
    """Loader processes for file-backed sets: one core stays with the training loop."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(8, max(0, cores - 1))


class Split(Dataset):
    """A split of a raw source (items (image, label), image untransformed) + its transform."""

    def __init__(self, source: Any, indices: ArrayLike, transform: Callable) -> None:
        self.source, self.indices, self.transform = source, np.asarray(indices, dtype=np.int64), transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image, label = self.source[int(self.indices[i])]
        return self.transform(image), int(label)


class TensorImages(Dataset):
    """In-memory images (N, C, H, W) and labels (N,)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], int(self.labels[i])


def holdout(indices: ArrayLike, labels: ArrayLike | None, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held out): a fixed, class-stratified split of `indices` (plain if too small)."""
    from sklearn.model_selection import train_test_split

    indices = np.asarray(indices)
    strata = None if labels is None else np.asarray(labels)[indices]
    try:
        kept, held = train_test_split(indices, test_size=fraction, random_state=seed, stratify=strata)
    except ValueError:  # a class too small to stratify (tiny sets)
        kept, held = train_test_split(indices, test_size=fraction, random_state=seed)
    return np.sort(kept), np.sort(held)


def subsample(indices: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A fixed `fraction` of `indices` (at least one)."""
    if fraction >= 1:
        return indices
    keep = max(1, math.ceil(fraction * len(indices)))
    return np.sort(np.random.default_rng(seed).permutation(indices)[:keep])


def _one_line(err: Exception) -> str:
    """torchvision's download errors span lines (one per mirror): keep them on one."""
    return " ".join(str(err).split())


def open_dataset(open_: Callable[..., Any], present: bool, download: bool, what: str, how: str) -> Any:
    """`open_(download)` a torchvision data set; any failure becomes one clear message.

    `present` says whether the files are already there; if not, a download is tried when
    allowed (torchvision's progress chatter goes to stderr, stdout keeps the JSON).
    """
    if present:
        try:
            return open_(False)
        except RuntimeError as err:
            raise FileNotFoundError(f"{what} is incomplete or corrupted ({_one_line(err)}); {how}") from None
    if download:
        try:
            with contextlib.redirect_stdout(sys.stderr):
                return open_(True)
        except (URLError, OSError, RuntimeError) as err:
            raise FileNotFoundError(f"{what} not found and the download failed ({_one_line(err)}); {how}") from None
    raise FileNotFoundError(f"{what} not found; {how}")


class ImageDataModule(pl.LightningDataModule):
    """Loaders over fixed train/val/test splits of one image-classification set."""

    in_memory = False  # decoded images held in RAM: loader processes would only add overhead

    def __init__(self, data: Any, batch_size: int, eval_batch_size: int) -> None:
        super().__init__()
        self.data, self.batch_size, self.eval_batch_size = data, batch_size, eval_batch_size
        self.splits: dict[str, Split] = {}

    def load(self) -> dict[str, tuple[Any, ArrayLike]]:
        """Per split: the raw source (items (image, label)) and the indices it uses."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        sources = self.load()
        for split in SPLITS:
            source, indices = sources[split]
            indices = subsample(np.asarray(indices), self.data.fraction, self.data.split_seed)
            self.splits[split] = Split(source, indices, image_transform(self.data, train=split == "train"))
        self._warn_small_splits()

    def _warn_small_splits(self) -> None:
        """Accuracy measured on fewer images than one batch is mostly noise (a small `data.fraction`)."""
        small = {split: len(ds) for split, ds in self.splits.items() if len(ds) < self.batch_size}
        if small:
            counts = ", ".join(f"{split} {n}" for split, n in small.items())
            log.warning(
                "data=%s with data.fraction=%g leaves fewer images than one batch (train.batch_size=%d) in: %s",
                self.data.name,
                self.data.fraction,
                self.batch_size,
                counts,
            )

    def sizes(self) -> dict[str, int]:
        self.setup()
        return {split: len(ds) for split, ds in self.splits.items()}

    @property
    def num_workers(self) -> int:
        if self.data.num_workers is not None:
            return self.data.num_workers
        return 0 if self.in_memory else machine_workers()

    def _loader(self, split: str, shuffle: bool, batch_size: int) -> DataLoader:
        self.setup()
        workers = self.num_workers
        pin = self.data.pin_memory if self.data.pin_memory is not None else torch.cuda.is_available()
        return DataLoader(
            self.splits[split],
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=workers,
            persistent_workers=workers > 0 and self.data.persistent_workers,
            pin_memory=pin,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True, self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False, self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False, self.eval_batch_size)
