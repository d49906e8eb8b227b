"""Dataclass schemas of the `hw` config group (a hardware target and its latency model).

A target is `units` identical units (compute model + memory) joined by identical
links (bandwidth, latency); `task=analyze` partitions on `hw.units` units and
`task=deploy` runs that many workers. `compute.backend` names the device kind in
`hw.backends.BACKENDS`: `local` measures this machine, `scaled` predicts a device we
cannot reach by scaling the local profile with a documented factor. The defaults are
the `local` target (this machine, `conf/hw/local.yaml`); other targets set what differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from hw.schedule import ORDERS
from nas.checks import require, require_one_of


@dataclass
class ProfileConfig:
    """How `task=profile` measures ops (see hw/profile.py and hw/measure.py)."""

    budget_s: float = 480.0  # wall-clock budget of a full profile (acceptance: <= 600 s)
    quick_budget_s: float = 60.0  # budget of the automatic first-use profile
    rounds: int = 40  # interleaved rounds per op (fewer when the budget runs out)
    min_rounds: int = 5
    quantile: float = 0.2  # statistic over rounds: contention only ever adds time
    clock: str = "thread"  # thread (CPU time of the inference thread) | wall
    threads: int = 1  # torch intra-op threads while measuring (and predicted)
    seed: int = 0
    pool_architectures: int = 200  # architectures whose ops seed the shape sample
    calibration_architectures: int = 40  # whole architectures timed to fit executor overheads
    adaptive_iterations: int = 2  # nn-Meter adaptive re-sampling passes
    error_threshold: float = 0.1  # cross-validated relative error that triggers re-sampling
    references: list[str] = field(default_factory=lambda: ["alexnet", "resnet50", "mobilenet_v2"])

    def __post_init__(self) -> None:
        require(self.budget_s > 0 and self.quick_budget_s > 0, "hw.profile budgets must be > 0 seconds")
        require(
            self.rounds >= self.min_rounds >= 1,
            f"need hw.profile.rounds >= min_rounds >= 1, got {self.rounds}, {self.min_rounds}",
        )
        require(0.0 <= self.quantile <= 0.5, f"hw.profile.quantile must be in [0, 0.5], got {self.quantile}")
        require_one_of("hw.profile.clock", self.clock, ("thread", "wall"))
        require(self.threads >= 1, f"hw.profile.threads must be >= 1, got {self.threads}")
        require(
            self.pool_architectures >= 1, f"hw.profile.pool_architectures must be >= 1, got {self.pool_architectures}"
        )
        require(
            self.calibration_architectures >= 4,
            f"hw.profile.calibration_architectures must be >= 4, got {self.calibration_architectures}",
        )
        require(
            self.adaptive_iterations >= 0,
            f"hw.profile.adaptive_iterations must be >= 0, got {self.adaptive_iterations}",
        )
        require(self.error_threshold > 0, f"hw.profile.error_threshold must be > 0, got {self.error_threshold}")


MEMORY_FORMATS = ("channels_last", "contiguous")


@dataclass
class InferenceConfig:
    """How a unit runs a model at inference: what `task=deploy` runs and `task=profile` times.

    One place for both, so the latency predictor is fitted on the very path deploy runs.
    """

    # traced + frozen TorchScript graphs (`nas.fast`): BatchNorm folded into the convs and no
    # per-module Python dispatch; ~1.7-1.9x faster than eager at batch 1, built in ~1 s
    fast_path: bool = True
    # channels_last: feature maps as NHWC end to end (CPU separable convs and max-pools
    # ~2x faster at 224 px; sent over gloo as an NHWC view, no copy) | contiguous (NCHW)
    memory_format: str = "channels_last"

    def __post_init__(self) -> None:
        require_one_of("hw.inference.memory_format", self.memory_format, MEMORY_FORMATS)


@dataclass
class ComputeConfig:
    """Per-unit compute model."""

    backend: str = "local"  # a name in hw.backends.BACKENDS
    # scaled backend: device latency = local prediction × slowdown, where slowdown is
    # reference_latency_ms / (local measured latency of reference_model) when both are
    # set, else the explicit `slowdown`.
    slowdown: float = 1.0
    reference_model: str | None = None  # torchvision model timed by task=profile
    reference_latency_ms: float | None = None  # published latency of it on the device
    source: str = "measured by task=profile (batch 1, 1 intra-op thread, thread CPU time, interleaved rounds)"

    def __post_init__(self) -> None:
        from hw.backends import BACKENDS

        require_one_of("hw.compute.backend", self.backend, BACKENDS.names())
        require(self.slowdown > 0, f"hw.compute.slowdown must be > 0, got {self.slowdown}")
        require(
            (self.reference_model is None) == (self.reference_latency_ms is None),
            "hw.compute.reference_model and reference_latency_ms go together (set both or neither)",
        )
        require(
            self.reference_latency_ms is None or self.reference_latency_ms > 0,
            f"hw.compute.reference_latency_ms must be > 0, got {self.reference_latency_ms}",
        )


@dataclass
class LinkConfig:
    """Every pair of units is joined by one such link."""

    # local: loopback TCP between worker processes, assumed. An idle ping-pong shows
    # ~0.03-0.1 ms (task=deploy reports it as ping_pong_link), but a message landing
    # while both cores compute costs more: benchmarks/bench_distributed.py fits it.
    bandwidth_mbps: float = 10000.0  # megabits per second
    latency_ms: float = 0.05  # one-way latency per message
    contention: bool = False  # True: a unit's outgoing transfers share its link (sent one after another)

    def __post_init__(self) -> None:
        require(self.bandwidth_mbps > 0, f"hw.link.bandwidth_mbps must be > 0, got {self.bandwidth_mbps}")
        require(self.latency_ms >= 0, f"hw.link.latency_ms must be >= 0, got {self.latency_ms}")


@dataclass
class HWConfig:
    name: str = "local"
    units: int = 4  # local: worker processes on this machine
    memory_mb: float = 6144.0  # RAM per unit (local: 24 GiB shared by 4 processes)
    reserved_mb: float = 512.0  # taken by the OS and the framework (local: one Python + PyTorch process, assumed)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    link: LinkConfig = field(default_factory=LinkConfig)
    predictor: str = "artifacts/hw/local"  # directory of the local profile (relative to the cwd)
    on_missing_predictor: str = "flops"  # flops (crude stand-in, flagged) | profile (quick, then saved) | error
    schedule_order: str = "ready"  # ready: a unit runs whichever assigned vertex can start first | topological
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    def __post_init__(self) -> None:
        require(self.units >= 1, f"hw.units must be >= 1, got {self.units}")
        require(
            self.memory_mb > self.reserved_mb >= 0,
            f"hw.memory_mb must exceed hw.reserved_mb >= 0, got {self.memory_mb} and {self.reserved_mb}",
        )
        require_one_of("hw.on_missing_predictor", self.on_missing_predictor, ("profile", "flops", "error"))
        require_one_of("hw.schedule_order", self.schedule_order, ORDERS)


def register_configs(cs: ConfigStore | None = None) -> None:
    cs = cs or ConfigStore.instance()
    cs.store(group="schema/hw", name="hw", node=HWConfig)
