"""Every datamodule loads through its real code path, offline, from stand-ins written in
the data sets' own on-disk layouts (torchvision's CIFAR-10 pickles, Flowers-102 .mat
files + jpgs, idx files), and a missing data set fails with one clear message."""

from __future__ import annotations

import gzip
import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from app.config import validate
from tests.conftest import compose_config
from training.datamodule import DataError, machine_workers
from training.datamodules import DATAMODULES, FASHION_FILES, create_datamodule

REPO = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)


def _ignore_md5(monkeypatch, module: str) -> None:
    """The stand-ins cannot match torchvision's checksums; existence is still checked."""
    monkeypatch.setattr(f"torchvision.datasets.{module}.check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))


def write_cifar10(root: Path, per_batch: int = 20) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        data = RNG.integers(0, 256, (per_batch, 3 * 32 * 32), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": [i % 10 for i in range(per_batch)]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)


def write_flowers102(root: Path, per_split: int = 6) -> None:
    folder = root / "flowers-102"
    (folder / "jpg").mkdir(parents=True)
    count = 3 * per_split
    for image_id in range(1, count + 1):
        pixels = RNG.integers(0, 256, (40 + image_id, 50, 3), dtype=np.uint8)  # odd shapes, like the real set
        Image.fromarray(pixels).save(folder / "jpg" / f"image_{image_id:05d}.jpg")
    scipy.io.savemat(folder / "imagelabels.mat", {"labels": np.arange(count) % 102 + 1})
    ids = np.arange(1, count + 1)
    scipy.io.savemat(
        folder / "setid.mat",
        {"trnid": ids[:per_split], "valid": ids[per_split : 2 * per_split], "tstid": ids[2 * per_split :]},
    )


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_fashion(folder: Path, suffix: str, count: int = 30) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for images, labels in FASHION_FILES.values():
        write_idx(folder / f"{images}{suffix}", RNG.integers(0, 256, (count, 28, 28)))
        write_idx(folder / f"{labels}{suffix}", np.arange(count) % 10)


def write_imagefolder(root: Path, classes: int = 3, per_class: int = 8, splits: tuple[str, ...] = ()) -> None:
    for split in splits or ("",):
        for c in range(classes):
            folder = root / split / f"class{c}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(RNG.integers(0, 256, (24, 30, 3), dtype=np.uint8)).save(folder / f"{i}.png")


def stand_in(name: str, root: Path, monkeypatch) -> list[str]:
    """Writes the data set `name` under `root`; returns the config overrides that read it."""
    overrides = [f"data={name}", f"data.root={root}", "data.num_workers=0", "data.download=false"]
    if name == "cifar10":
        write_cifar10(root)
        _ignore_md5(monkeypatch, "cifar")
    elif name == "flower102":
        write_flowers102(root)
        _ignore_md5(monkeypatch, "flowers102")
        overrides.append("data.input_size=32")
    elif name == "fashion_mnist":
        write_fashion(root / "FashionMNIST" / "raw", "")
        overrides.append(f"data.debian_dir={root / 'no-debian'}")
    elif name == "imagefolder":
        write_imagefolder(root / "folder")
        overrides += [f"data.path={root / 'folder'}", "data.num_classes=3", "data.input_size=16"]
    return overrides


def datamodule(*overrides: str, batch_size: int = 4):
    cfg = validate(compose_config(*overrides))
    return cfg.data, create_datamodule(cfg.data, batch_size, 8)


@pytest.mark.parametrize("name", DATAMODULES.names())
def test_every_datamodule_yields_normalised_batches_of_the_configured_shape(name, tmp_path, monkeypatch):
    data, dm = datamodule(*stand_in(name, tmp_path, monkeypatch))
    sizes = dm.sizes()
    assert all(sizes[split] > 0 for split in ("train", "val", "test")), sizes
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        x, y = next(iter(loader))
        assert x.shape[1:] == (data.in_channels, data.input_size, data.input_size)
        assert x.dtype == torch.float32 and torch.isfinite(x).all()
        assert y.dtype == torch.int64 and int(y.min()) >= 0 and int(y.max()) < data.num_classes
    # val/test are not augmented: the same item twice is the same tensor
    assert torch.equal(dm.splits["test"][0][0], dm.splits["test"][0][0])


@pytest.mark.parametrize("name", DATAMODULES.names())
def test_splits_are_fixed_disjoint_and_fraction_subsamples(name, tmp_path, monkeypatch):
    overrides = stand_in(name, tmp_path, monkeypatch)
    _, first = datamodule(*overrides)
    _, again = datamodule(*overrides, "seed=7")  # the training seed does not move the split
    _, part = datamodule(*overrides, "data.fraction=0.5")
    first.setup(), again.setup(), part.setup()
    for split in ("train", "val", "test"):
        assert np.array_equal(first.splits[split].indices, again.splits[split].indices)
        assert 0 < len(part.splits[split]) < len(first.splits[split]) or len(first.splits[split]) == 1
        assert set(part.splits[split].indices) <= set(first.splits[split].indices)
    same_source = [s for s in ("val", "test") if first.splits[s].source is first.splits["train"].source]
    for split in same_source:
        assert not set(first.splits[split].indices) & set(first.splits["train"].indices)


def test_digits_split_is_stratified_70_10_20():
    _, dm = datamodule("data=digits")
    sizes = dm.sizes()
    total = sum(sizes.values())
    assert total == 1797
    assert abs(sizes["test"] / total - 0.2) < 0.01 and abs(sizes["val"] / total - 0.1) < 0.01
    labels = dm.splits["test"].source.labels[dm.splits["test"].indices]
    assert len(torch.unique(labels)) == 10


def test_fashion_mnist_reads_debian_gz_files(tmp_path):
    write_fashion(tmp_path / "debian", ".gz", count=40)
    data, dm = datamodule(
        "data=fashion_mnist",
        f"data.root={tmp_path / 'empty'}",
        f"data.debian_dir={tmp_path / 'debian'}",
        "data.download=false",
    )
    sizes = dm.sizes()
    assert sizes["test"] == 40 and sizes["train"] + sizes["val"] == 40
    source = dm.splits["train"].source
    assert source.images.shape == (40, 1, 28, 28) and source.images.dtype == torch.uint8


def test_a_corrupt_idx_file_is_named(tmp_path):
    write_fashion(tmp_path / "debian", ".gz")
    with gzip.open(tmp_path / "debian" / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(b"<html>not found</html>")
    _, dm = datamodule("data=fashion_mnist", f"data.root={tmp_path}", f"data.debian_dir={tmp_path / 'debian'}")
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz is not an idx file"):
        dm.setup()


def test_imagefolder_uses_train_and_test_folders_and_checks_the_class_count(tmp_path):
    write_imagefolder(tmp_path, classes=3, per_class=6, splits=("train", "test"))
    _, dm = datamodule("data=imagefolder", f"data.path={tmp_path}", "data.num_classes=3", "data.num_workers=0")
    sizes = dm.sizes()
    assert sizes["test"] == 18 and sizes["train"] + sizes["val"] == 18
    _, wrong = datamodule("data=imagefolder", f"data.path={tmp_path}", "data.num_classes=5")
    with pytest.raises(ValueError, match="has 3 class folders but data.num_classes=5; pass data.num_classes=3"):
        wrong.setup()


def test_imagefolder_needs_a_path():
    with pytest.raises(ValueError, match="data=imagefolder needs data.path"):
        validate(compose_config("data=imagefolder"))


MISSING = {  # data set → what its message must tell the user
    "cifar10": ["CIFAR-10", "data.root=", "data.download=true"],
    "flower102": ["Flowers-102", "data.root=", "data.download=true"],
    "fashion_mnist": ["Fashion-MNIST", "apt-get install dataset-fashion-mnist", "data.root="],
    "imagefolder": ["data.path="],
}


@pytest.mark.parametrize("name", sorted(MISSING))
def test_missing_data_offline_is_one_clear_message(name, tmp_path):
    overrides = [
        f"data={name}",
        f"data.root={tmp_path}",
        "data.download=false",
        f"data.debian_dir={tmp_path}" if name == "fashion_mnist" else f"data.path={tmp_path / 'none'}",
    ]
    if name not in ("fashion_mnist", "imagefolder"):
        overrides.pop()
    _, dm = datamodule(*overrides)
    with pytest.raises(FileNotFoundError) as err:
        dm.setup()
    message = str(err.value)
    assert "\n" not in message
    for hint in MISSING[name]:
        assert hint in message


@pytest.mark.parametrize("name", ["cifar10", "flower102", "fashion_mnist"])
def test_failed_download_is_one_clear_message(name, tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr("urllib.request.urlopen", offline)  # torchvision's real download code runs up to here
    _, dm = datamodule(
        f"data={name}",
        f"data.root={tmp_path}",
        "data.download=true",
        *([f"data.debian_dir={tmp_path}"] if name == "fashion_mnist" else []),
    )
    with pytest.raises(FileNotFoundError, match="not found and the download failed") as err:
        dm.setup()
    assert "\n" not in str(err.value)


def test_run_py_prints_the_missing_data_message_without_a_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "run.py",
            "task=train",
            "data=cifar10",
            f"data.root={tmp_path}",
            "data.download=false",
            "nodes=4",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: CIFAR-10") and "data.root=" in result.stderr


def test_loader_workers_follow_the_machine():
    _, digits = datamodule("data=digits")
    assert digits.num_workers == 0  # in memory: worker processes would only add overhead
    _, cifar = datamodule("data=cifar10")
    assert cifar.num_workers == machine_workers() == min(8, max(0, len(os.sched_getaffinity(0)) - 1))
    _, pinned = datamodule("data=cifar10", "data.num_workers=3")
    assert pinned.num_workers == 3


def test_augmented_training_through_a_loader_worker_is_seeded(tmp_path, monkeypatch):
    """Random crops/flips run in a worker process: seed_everything(workers=True) fixes them."""
    from nas.factory import architecture_from_config
    from training.fit import train_architecture

    overrides = [
        *stand_in("cifar10", tmp_path, monkeypatch),
        "data.num_workers=1",
        "train.epochs=1",
        "train.batch_size=16",
        "input_size=32",
    ]
    cfg = validate(compose_config(*overrides))
    arch = architecture_from_config(cfg)
    runs = [train_architecture(arch, cfg) for _ in range(2)]
    assert runs[0]["train_loss"] == runs[1]["train_loss"] and runs[0]["test_acc"] == runs[1]["test_acc"]


# Bad data (issue 19, point 8): one DataError naming the file at load, not a traceback mid-training.

FEWER_CLASSES = {"digits": 5, "cifar10": 5, "fashion_mnist": 5, "flower102": 10}  # below each stand-in's labels


@pytest.mark.parametrize("name", sorted(FEWER_CLASSES))
def test_labels_out_of_range_for_num_classes_fail_at_load(name, tmp_path, monkeypatch):
    classes = FEWER_CLASSES[name]
    overrides = stand_in(name, tmp_path, monkeypatch) if name != "digits" else ["data=digits"]
    _, dm = datamodule(*overrides, f"data.num_classes={classes}")
    with pytest.raises(DataError, match=rf"labels outside 0\.\.{classes - 1} \(data.num_classes={classes}\)") as err:
        dm.setup()
    assert "\n" not in str(err.value)


def test_an_idx_label_file_shorter_than_its_images_fails_instead_of_dropping_them(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    write_fashion(raw, "", count=100)
    write_idx(raw / "train-labels-idx1-ubyte", np.arange(50) % 10)  # 50 images would lose their labels
    _, dm = datamodule("data=fashion_mnist", f"data.root={tmp_path}", f"data.debian_dir={tmp_path / 'none'}")
    with pytest.raises(
        DataError, match="train-images-idx3-ubyte and train-labels-idx1-ubyte: 100 images but 50 labels"
    ):
        dm.setup()


def test_a_cifar_batch_with_fewer_labels_than_images_fails(tmp_path, monkeypatch):
    overrides = stand_in("cifar10", tmp_path, monkeypatch)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    with open(batch, "rb") as f:
        entry = pickle.load(f)
    with open(batch, "wb") as f:
        pickle.dump({**entry, "labels": entry["labels"][:-5]}, f)
    _, dm = datamodule(*overrides)
    with pytest.raises(DataError, match=r"CIFAR-10 training batches .*: 100 images but 95 labels"):
        dm.setup()


def test_a_file_that_is_no_image_in_an_image_folder_fails_at_load(tmp_path):
    write_imagefolder(tmp_path, classes=3, per_class=6)
    (tmp_path / "class1" / "3.png").write_bytes(b"<html>404</html>")
    _, dm = datamodule("data=imagefolder", f"data.path={tmp_path}", "data.num_classes=3")
    with pytest.raises(DataError, match=r"class1/3.png is not a readable image .*; remove or replace it") as err:
        dm.setup()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("workers", [0, 1])
def test_a_truncated_image_names_itself_in_one_line_even_from_a_loader_worker(tmp_path, workers):
    write_imagefolder(tmp_path, classes=3, per_class=6)
    image = tmp_path / "class2" / "4.png"
    image.write_bytes(image.read_bytes()[:120])  # the header reads, the pixels do not
    _, dm = datamodule(
        "data=imagefolder", f"data.path={tmp_path}", "data.num_classes=3", f"data.num_workers={workers}", batch_size=64
    )
    dm.setup()
    with pytest.raises(DataError) as err:
        for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
            list(loader)
    assert str(err.value).startswith(f"{image} does not decode as an image") and "\n" not in str(err.value)


def test_a_fraction_leaving_less_than_a_batch_warns_with_the_counts(caplog):
    _, dm = datamodule("data=digits", "data.fraction=0.001", batch_size=64)
    with caplog.at_level(logging.WARNING, logger="training.datamodule"):
        dm.setup()
    assert (
        "data.fraction=0.001 leaves fewer images than one batch (train.batch_size=64) in: train 2, val 1, test 1"
        in (caplog.text)
    )
    _, full = datamodule("data=digits", batch_size=64)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="training.datamodule"):
        full.setup()
    assert "fewer images than one batch" not in caplog.text
