"""Schema of the `deploy` config group (`task=deploy`): how the distributed run is made.

The unit count, the link model and how a unit runs its vertices (`hw.inference`: fast
path, memory layout) come from the `hw` group, as for every other task.
"""

from __future__ import annotations

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore

from nas.checks import require, require_one_of

PARTITIONERS = ("metis", "heft", "chunks")
ORDERS = ("schedule", "topological")
COSTS = ("profile", "predictor", "macs")
COMPUTE_POLICIES = ("idle", "normal")
TESTBEDS = ("none", "emulated")


@dataclass
class DeployConfig:
    # metis: partition/'s best (lowest-CS) option | heft: latency-aware list scheduling
    # (hw/schedule.py) | chunks: topological chunks of equal MACs (fallback)
    partitioner: str = "metis"
    order: str = "schedule"  # each worker's vertex order: simulated start order | topological
    # per-vertex costs that place, order and predict: profile (timed here) | predictor (hw/) | macs
    costs: str = "profile"
    weights: str | None = None  # state_dict file of trained weights; None = random from weight_seed
    weight_seed: int = 0
    input_seed: int = 0  # the random input image
    repeats: int = 30  # timed inferences per variant (batch 1), median and p90 reported
    warmup: int = 5
    threads: int = 1  # torch threads per worker
    # idle: the compute thread runs under SCHED_IDLE, so gloo's transport threads preempt
    # it the moment a message moves (see hw/runtime/worker.py) | normal: no change
    compute_policy: str = "idle"
    timeout_s: float = 60.0  # connect / receive / barrier timeout of every worker
    deadline_s: float = 1800.0  # the launcher's bound on the whole run
    port: int = 0  # MASTER_PORT (0: a free one on 127.0.0.1; on the testbed, 29500)
    # none: hw.units processes on loopback | emulated: each in its own network namespace,
    # CPU-capped to the hw target's unit speed, linked at hw.link (hw/testbed; needs root)
    testbed: str = "none"
    testbed_name: str = "cnas"  # prefix of the testbed's namespaces and cgroup (one live run per name)

    def __post_init__(self) -> None:
        for key, choices in (
            ("partitioner", PARTITIONERS),
            ("order", ORDERS),
            ("costs", COSTS),
            ("compute_policy", COMPUTE_POLICIES),
            ("testbed", TESTBEDS),
        ):
            require_one_of(f"deploy.{key}", getattr(self, key), choices)
        require(self.repeats >= 1, f"deploy.repeats must be >= 1, got {self.repeats}")
        require(self.warmup >= 0, f"deploy.warmup must be >= 0, got {self.warmup}")
        require(self.threads >= 1, f"deploy.threads must be >= 1, got {self.threads}")
        require(
            self.timeout_s > 0 and self.deadline_s > 0,
            f"deploy.timeout_s and deploy.deadline_s must be > 0, got {self.timeout_s}, {self.deadline_s}",
        )
        require(0 <= self.port < 65536, f"deploy.port must be in [0, 65535] (0 = pick a free one), got {self.port}")


def register_configs(cs: ConfigStore | None = None) -> None:
    cs = cs or ConfigStore.instance()
    cs.store(group="schema/deploy", name="deploy", node=DeployConfig)
