"""Schema of the `deploy` config group (`task=deploy`): how the distributed run is made."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from hydra.core.config_store import ConfigStore

PARTITIONERS = ("metis", "heft", "chunks")
ORDERS = ("schedule", "topological")
COSTS = ("profile", "predictor", "macs")
COMPUTE_POLICIES = ("idle", "normal")
MEMORY_FORMATS = ("channels_last", "contiguous")


@dataclass
class DeployConfig:
    workers: int = 2  # worker processes (units) on loopback
    # metis: partition/'s best (lowest-CS) option | heft: latency-aware list scheduling
    # (hw/runtime/schedule.py) | chunks: topological chunks of equal MACs (fallback)
    partitioner: str = "metis"
    order: str = "schedule"  # each worker's vertex order: simulated start order | topological
    costs: str = "profile"  # per-vertex costs for heft/order: profile (timed here) | predictor (hw/) | macs
    link_latency_ms: float = 0.05  # loopback link model used to plan (the run also measures it)
    link_bandwidth_mbps: float = 20000.0
    weights: Optional[str] = None  # state_dict file of trained weights; None = random from weight_seed
    weight_seed: int = 0
    input_seed: int = 0  # the random input image
    repeats: int = 30  # timed inferences per variant (batch 1), median and p90 reported
    warmup: int = 5
    threads: int = 1  # torch threads per worker
    # idle: the compute thread runs under SCHED_IDLE, so gloo's transport threads preempt
    # it the moment a message moves (see hw/runtime/worker.py) | normal: no change
    compute_policy: str = "idle"
    # channels_last: feature maps as NHWC end to end (CPU separable convs and max-pools
    # ~2x faster at 224 px; sent over gloo as an NHWC view, no copy) | contiguous (NCHW)
    memory_format: str = "channels_last"
    timeout_s: float = 60.0  # connect / receive / barrier timeout of every worker
    deadline_s: float = 1800.0  # the launcher's bound on the whole run
    port: int = 0  # MASTER_PORT on 127.0.0.1; 0 = a free one

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"deploy.workers must be >= 1, got {self.workers}")
        if self.partitioner not in PARTITIONERS:
            raise ValueError(f"deploy.partitioner must be one of {PARTITIONERS}, got {self.partitioner!r}")
        if self.order not in ORDERS:
            raise ValueError(f"deploy.order must be one of {ORDERS}, got {self.order!r}")
        if self.costs not in COSTS:
            raise ValueError(f"deploy.costs must be one of {COSTS}, got {self.costs!r}")
        if self.link_latency_ms < 0 or self.link_bandwidth_mbps <= 0:
            raise ValueError(f"deploy.link_latency_ms must be >= 0 and deploy.link_bandwidth_mbps > 0, got {self.link_latency_ms}, {self.link_bandwidth_mbps}")
        if self.repeats < 1:
            raise ValueError(f"deploy.repeats must be >= 1, got {self.repeats}")
        if self.warmup < 0:
            raise ValueError(f"deploy.warmup must be >= 0, got {self.warmup}")
        if self.compute_policy not in COMPUTE_POLICIES:
            raise ValueError(f"deploy.compute_policy must be one of {COMPUTE_POLICIES}, got {self.compute_policy!r}")
        if self.memory_format not in MEMORY_FORMATS:
            raise ValueError(f"deploy.memory_format must be one of {MEMORY_FORMATS}, got {self.memory_format!r}")
        if self.threads < 1:
            raise ValueError(f"deploy.threads must be >= 1, got {self.threads}")
        if self.timeout_s <= 0 or self.deadline_s <= 0:
            raise ValueError(f"deploy.timeout_s and deploy.deadline_s must be > 0, got {self.timeout_s}, {self.deadline_s}")
        if not 0 <= self.port < 65536:
            raise ValueError(f"deploy.port must be in [0, 65535] (0 = pick a free one), got {self.port}")


def register_configs(cs: ConfigStore | None = None) -> None:
    cs = cs or ConfigStore.instance()
    cs.store(group="schema/deploy", name="deploy", node=DeployConfig)
