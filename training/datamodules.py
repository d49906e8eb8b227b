"""The data sets of the `data` config group, one registry entry each (`data.name`).

Each entry only finds its images (on disk, in a system package, or by downloading) and
says which indices make up train/val/test; `training.datamodule.ImageDataModule` does
the rest. A missing set raises one FileNotFoundError that says how to get it; labels
and image files are checked as they are read (`training.datamodule.DataError`).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from nas.registry import Registry
from training.datamodule import (
    DataError,
    ImageDataModule,
    TensorImages,
    check_images,
    check_labels,
    holdout,
    open_dataset,
)

DATAMODULES: Registry[Callable[..., ImageDataModule]] = Registry("data set")
register_datamodule = DATAMODULES.register

Sources = dict[str, tuple[Any, ArrayLike]]


def create_datamodule(data: Any, batch_size: int, eval_batch_size: int) -> ImageDataModule:
    """The datamodule of the `data` config (its `name` picks the registry entry)."""
    return DATAMODULES.create(data.name, data=data, batch_size=batch_size, eval_batch_size=eval_batch_size)


def _train_val(labels: Sequence[int] | np.ndarray, data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Hold `data.val_fraction` of an official training set out for validation."""
    return holdout(np.arange(len(labels)), labels, data.val_fraction, data.split_seed)


def _train_val_test(indices: np.ndarray, labels: ArrayLike, data: Any) -> tuple[np.ndarray, ...]:
    """A set without official splits: `test_fraction` and `val_fraction` of all images held out."""
    rest, test = holdout(indices, labels, data.test_fraction, data.split_seed)
    train, val = holdout(rest, labels, data.val_fraction / (1 - data.test_fraction), data.split_seed)
    return train, val, test


@register_datamodule("digits")
class DigitsDataModule(ImageDataModule):
    """scikit-learn's bundled 8×8 digits, upsampled once to `input_size` (no download)."""

    in_memory = True

    def load(self) -> Sources:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
        images = F.interpolate(images, size=self.data.input_size, mode="bilinear", align_corners=False)
        labels = torch.tensor(bunch.target)
        check_labels("scikit-learn's digits", len(images), labels, self.data.num_classes)
        source = TensorImages(images.clamp(0, 1), labels)
        train, val, test = _train_val_test(np.arange(len(labels)), labels, self.data)
        return {"train": (source, train), "val": (source, val), "test": (source, test)}


def _read_idx(path: Path) -> torch.Tensor:
    """An idx file (MNIST format, gzipped or not) as a uint8 tensor."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:3] != b"\0\0\x08":  # magic: two zero bytes, type 8 = unsigned byte
        raise ValueError(f"{path} is not an idx file of unsigned bytes (MNIST format)")
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    body = raw[4 + 4 * dims :]
    if len(body) != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: {len(body)} bytes for shape {shape}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(shape)


FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@register_datamodule("fashion_mnist")
class FashionMNISTDataModule(ImageDataModule):
    """Fashion-MNIST from torchvision's layout in `root`, Debian's package, or a download."""

    in_memory = True

    def _arrays(self) -> dict[str, tuple[torch.Tensor, torch.Tensor, str]]:
        """Per split: images, labels, and the files they came from."""
        root = Path(self.data.root)
        raw = root / "FashionMNIST" / "raw"
        debian = Path(self.data.debian_dir)
        if all((raw / f).is_file() for files in FASHION_FILES.values() for f in files):
            directory, suffix = raw, ""
        elif all((debian / f"{f}.gz").is_file() for files in FASHION_FILES.values() for f in files):
            directory, suffix = debian, ".gz"
        else:
            from torchvision.datasets import FashionMNIST

            how = (
                f"install Debian's package (apt-get install dataset-fashion-mnist, files in "
                f"{debian}), pass data.debian_dir=<folder of its .gz files> or "
                f"data.root=<folder holding FashionMNIST/raw>, or allow data.download=true online"
            )
            sets = {
                split: open_dataset(
                    lambda download, train=split == "train": FashionMNIST(str(root), train=train, download=download),
                    False,
                    self.data.download,
                    f"Fashion-MNIST ({raw}, {debian})",
                    how,
                )
                for split in FASHION_FILES
            }
            return {split: (ds.data, ds.targets, f"Fashion-MNIST {split} ({root})") for split, ds in sets.items()}
        return {
            split: (
                _read_idx(directory / f"{images}{suffix}"),
                _read_idx(directory / f"{labels}{suffix}").long(),
                f"{directory / images}{suffix} and {labels}{suffix}",
            )
            for split, (images, labels) in FASHION_FILES.items()
        }

    def load(self) -> Sources:
        arrays = self._arrays()
        for images, labels, what in arrays.values():
            check_labels(what, len(images), labels, self.data.num_classes)
        train_source = TensorImages(arrays["train"][0].unsqueeze(1), arrays["train"][1])
        test_source = TensorImages(arrays["test"][0].unsqueeze(1), arrays["test"][1])
        train, val = _train_val(train_source.labels.numpy(), self.data)
        return {
            "train": (train_source, train),
            "val": (train_source, val),
            "test": (test_source, np.arange(len(test_source))),
        }


CIFAR_FILES = [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"]


@register_datamodule("cifar10")
class CIFAR10DataModule(ImageDataModule):
    """torchvision's CIFAR-10 (python pickles in `root/cifar-10-batches-py`)."""

    def load(self) -> Sources:
        from torchvision.datasets import CIFAR10

        root = Path(self.data.root)
        folder = root / CIFAR10.base_folder
        present = all((folder / f).is_file() for f in CIFAR_FILES)
        how = (
            f"pass data.root=<folder holding {CIFAR10.base_folder}/> or allow data.download=true online "
            f"(downloads {CIFAR10.url} into data.root)"
        )
        sets = {
            train: open_dataset(
                lambda download, train=train: CIFAR10(str(root), train=train, download=download),
                present,
                self.data.download,
                f"CIFAR-10 ({folder})",
                how,
            )
            for train in (True, False)
        }
        for is_train, ds in sets.items():
            what = f"CIFAR-10 {'training batches' if is_train else 'test_batch'} ({folder})"
            check_labels(what, len(ds.data), ds.targets, self.data.num_classes)
        train, val = _train_val(sets[True].targets, self.data)
        return {
            "train": (sets[True], train),
            "val": (sets[True], val),
            "test": (sets[False], np.arange(len(sets[False]))),
        }


@register_datamodule("flower102")
class Flower102DataModule(ImageDataModule):
    """torchvision's Oxford Flowers-102 with its official train/val/test split."""

    def load(self) -> Sources:
        from torchvision.datasets import Flowers102

        root = Path(self.data.root)
        folder = root / "flowers-102"
        present = (folder / "jpg").is_dir() and all(
            (folder / name).is_file() for name, _ in Flowers102._file_dict.values() if name.endswith(".mat")
        )
        how = (
            "pass data.root=<folder holding flowers-102/ with jpg/, imagelabels.mat, setid.mat> or allow "
            f"data.download=true online (downloads from {Flowers102._download_url_prefix})"
        )
        sources: Sources = {}
        for split in ("train", "val", "test"):
            ds = open_dataset(
                lambda download, split=split: Flowers102(str(root), split=split, download=download),
                present,
                self.data.download,
                f"Flowers-102 ({folder})",
                how,
            )
            present = True  # downloaded with the first split
            what = f"Flowers-102 {split} ({folder})"
            check_labels(what, len(ds._image_files), ds._labels, self.data.num_classes)
            check_images(what, ds._image_files)
            sources[split] = (ds, np.arange(len(ds)))
        return sources


def _decode(path: str) -> Any:
    """torchvision's image loader; a file whose header read but whose body does not decode
    (truncated) names itself, in a DataError, instead of failing mid-epoch with PIL's traceback."""
    from torchvision.datasets.folder import default_loader

    try:
        return default_loader(path)
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{path} does not decode as an image ({err}); remove or replace it") from None


@register_datamodule("imagefolder")
class ImageFolderDataModule(ImageDataModule):
    """Any folder of class sub-folders; train/ val/ test/ sub-folders are used when present."""

    def _folder(self, path: Path) -> Any:
        from torchvision.datasets import ImageFolder

        try:
            ds = ImageFolder(str(path), loader=_decode)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"data.path: {err}; expected one sub-folder of images per class") from None
        if len(ds.classes) != self.data.num_classes:
            raise ValueError(
                f"{path} has {len(ds.classes)} class folders but data.num_classes="
                f"{self.data.num_classes}; pass data.num_classes={len(ds.classes)}"
            )
        check_images(f"data.path={path}", (file for file, _ in ds.samples))
        return ds

    def load(self) -> Sources:
        path = Path(self.data.path)
        if not path.is_dir():
            raise FileNotFoundError(f"data.path={path} is not a folder; pass data.path=<folder of class sub-folders>")
        base = path / "train" if (path / "train").is_dir() else path
        train = self._folder(base)
        given = {split: self._folder(path / split) for split in ("val", "test") if (path / split).is_dir()}
        for split, ds in given.items():
            if ds.classes != train.classes:
                raise ValueError(f"{path / split} has other class folders than {base}")
        sources: Sources = {split: (ds, np.arange(len(ds))) for split, ds in given.items()}
        indices, seed = np.arange(len(train)), self.data.split_seed
        if "test" not in given:  # carve test_fraction, then val_fraction, of all images
            indices, test = holdout(indices, train.targets, self.data.test_fraction, seed)
            sources["test"] = (train, test)
        if "val" not in given:
            share = (
                self.data.val_fraction / (1 - self.data.test_fraction)
                if "test" not in given
                else self.data.val_fraction
            )
            indices, val = holdout(indices, train.targets, share, seed)
            sources["val"] = (train, val)
        sources["train"] = (train, indices)
        return sources
