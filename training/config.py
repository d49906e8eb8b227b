"""Dataclass schemas of the `data` and `train` config groups.

Stored in Hydra's ConfigStore as `schema/data/<name>` and `schema/train/recipe`; every
YAML option extends one, so a misspelt key fails at composition and the range checks in
`__post_init__` run when `app.config.validate` turns the config into objects.
Every data option defines `input_size`, `num_classes` and `in_channels`: the root config
interpolates them so architectures are built for the data they will be trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from nas.checks import require, require_one_of

# Train-time augmentation policies (eval always resizes/crops deterministically).
AUGMENTATIONS = ("none", "crop_flip", "resized_crop_flip")
SCHEDULER_INTERVALS = ("epoch", "step")
# Lightning's precision names: full float32 | bfloat16 autocast (CPU and Ampere+ GPUs) |
# float16 autocast with loss scaling (GPUs)
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")


@dataclass
class DataConfig:
    name: str = "digits"
    root: str = "data"  # where data sets are read from, and downloaded to when online
    input_size: int = 16  # square side the images are resized to
    num_classes: int = 10
    in_channels: int = 1
    fraction: float = 1.0  # share of every split used (quick runs); fixed subset
    val_fraction: float = 0.1  # of the training set, for sets without an official val split
    test_fraction: float = 0.2  # of all images, for sets without an official test split
    split_seed: int = 0  # the split is fixed: independent of the training seed
    augment: str = "none"  # none | crop_flip | resized_crop_flip (train split only)
    mean: list[float] = field(default_factory=lambda: [0.5])  # per channel, or one for all
    std: list[float] = field(default_factory=lambda: [0.5])
    download: bool = True  # try to download a missing set (fails cleanly offline)
    num_workers: int | None = None  # loader processes; None = sized for this machine
    pin_memory: bool | None = None  # page-locked batches for fast host→GPU copies; None = when CUDA is present
    persistent_workers: bool = True  # keep loader processes between epochs (when num_workers > 0)

    def __post_init__(self) -> None:
        name = f"data={self.name}"
        require(self.input_size >= 8, f"{name}: data.input_size must be >= 8, got {self.input_size}")
        require(self.num_classes >= 2, f"{name}: data.num_classes must be >= 2, got {self.num_classes}")
        require(self.in_channels in (1, 3), f"{name}: data.in_channels must be 1 or 3, got {self.in_channels}")
        require(0 < self.fraction <= 1, f"data.fraction must be in (0, 1], got {self.fraction}")
        require(0 < self.val_fraction < 1, f"data.val_fraction must be in (0, 1), got {self.val_fraction}")
        require(0 < self.test_fraction < 1, f"data.test_fraction must be in (0, 1), got {self.test_fraction}")
        require(
            self.val_fraction + self.test_fraction < 1,
            f"data.val_fraction + data.test_fraction must be < 1, got {self.val_fraction + self.test_fraction}",
        )
        require_one_of("data.augment", self.augment, AUGMENTATIONS)
        for key in ("mean", "std"):
            values = list(getattr(self, key))
            require(
                len(values) in (1, self.in_channels),
                f"data.{key} needs 1 or in_channels={self.in_channels} values, got {values}",
            )
        require(all(s > 0 for s in self.std), f"data.std must be > 0, got {list(self.std)}")
        require(
            self.num_workers is None or self.num_workers >= 0,
            f"data.num_workers must be >= 0 or null (auto), got {self.num_workers}",
        )


@dataclass
class FashionMNISTConfig(DataConfig):
    name: str = "fashion_mnist"
    # Debian's `dataset-fashion-mnist` package puts the idx .gz files here.
    debian_dir: str = "/usr/share/datasets/fashion-mnist"


@dataclass
class ImageFolderConfig(DataConfig):
    name: str = "imagefolder"
    # A folder of class sub-folders, or one with train/ [val/] [test/] folders of them.
    path: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(bool(self.path), "data=imagefolder needs data.path=<folder of class sub-folders>")


@dataclass
class TrainConfig:
    """A training recipe (defaults: the quick-start's, fast_cpu); accuracy in %, per parameter in %/M-params."""

    name: str = "fast_cpu"
    epochs: int = 6
    batch_size: int = 64
    eval_batch_size: int = 512
    # `hydra.utils.instantiate` targets with `_partial_: true`: the module completes them
    # with the model's parameters (optimizer) and the optimizer (scheduler).
    # (No default: the schema's mapping would be merged into every recipe's.)
    optimizer: Any = None
    scheduler: Any = None
    scheduler_interval: str = "step"  # epoch | step (then `total_steps` is filled in)
    label_smoothing: float = 0.0
    # Precise BN: re-estimate BatchNorm statistics on this many training batches before
    # every evaluation (0 = use the running averages); see ArchitectureClassifier.
    bn_calibration_batches: int = 50
    gradient_clip_val: float | None = None
    accelerator: str = "cpu"  # exactly reproducible (deterministic kernels), even where a GPU exists; or auto
    devices: Any = "auto"
    precision: str = "32-true"  # 32-true | bf16-mixed | 16-mixed (GPU): Lightning's mixed precision
    # torch.compile the model: on a GPU it fuses the elementwise merges, BN and ReLU; on this
    # CPU a training step measured 0.8x (slower) and the first compile takes 40-80 s
    compile: bool = False
    deterministic: Any = True  # True | False | "warn" (warn where an op has no deterministic kernel)
    # torch intra-op threads (0 = torch's default). One is robust on a shared CPU: 2 threads on a
    # busy 2-core machine measured up to 7x slower (OpenMP spin-waits), 1 never over ~1.6x.
    threads: int = 1
    # Feature maps in channels-last (NHWC) layout: oneDNN's separable convs and max-pools
    # are faster so; 5 Fashion-MNIST epochs took 1.5x less time than NCHW on this CPU
    channels_last: bool = True

    def __post_init__(self) -> None:
        require(self.epochs >= 0, f"train.epochs must be >= 0 (0: only test the given weights), got {self.epochs}")
        require(self.batch_size >= 1, f"train.batch_size must be >= 1, got {self.batch_size}")
        require(self.eval_batch_size >= 1, f"train.eval_batch_size must be >= 1, got {self.eval_batch_size}")
        require(
            isinstance(self.optimizer, dict) and "_target_" in self.optimizer,
            "train.optimizer must be a mapping with _target_ (e.g. torch.optim.SGD) and _partial_: true",
        )
        require(
            bool(self.optimizer.get("_partial_")),
            "train.optimizer needs _partial_: true (the module adds the parameters)",
        )
        require(
            self.scheduler is None or (isinstance(self.scheduler, dict) and "_target_" in self.scheduler),
            "train.scheduler must be null or a mapping with _target_ and _partial_: true",
        )
        require_one_of("train.scheduler_interval", self.scheduler_interval, SCHEDULER_INTERVALS)
        require(0 <= self.label_smoothing < 1, f"train.label_smoothing must be in [0, 1), got {self.label_smoothing}")
        require_one_of("train.deterministic", self.deterministic, (True, False, "warn"))
        require_one_of("train.precision", self.precision, PRECISIONS)
        require(
            self.bn_calibration_batches >= 0,
            f"train.bn_calibration_batches must be >= 0, got {self.bn_calibration_batches}",
        )
        require(self.threads >= 0, f"train.threads must be >= 0, got {self.threads}")


DATA_SCHEMAS = {"data": DataConfig, "fashion_mnist": FashionMNISTConfig, "imagefolder": ImageFolderConfig}


def register_configs(cs: ConfigStore | None = None) -> None:
    cs = cs or ConfigStore.instance()
    for name, schema in DATA_SCHEMAS.items():
        cs.store(group="schema/data", name=name, node=schema)
    cs.store(group="schema/train", name="recipe", node=TrainConfig)
