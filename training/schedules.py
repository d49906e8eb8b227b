"""Learning-rate schedules torch does not ship.

The paper's Flower-102 recipe switches both the learning rate and SGD's momentum at
epoch 100; torch's schedulers only move the learning rate, so `Milestones` sets both.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from nas.checks import require


class Milestones(LRScheduler):
    """Piecewise-constant schedule: from step `milestones[i]` on, lr = `lr[i]` (absolute)
    and, when given, momentum = `momentum[i]`; before the first milestone the optimizer's
    own values hold. Stepped once per epoch, milestones are epochs.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        lr: Sequence[float],
        momentum: Sequence[float] | None = None,
        last_epoch: int = -1,
    ) -> None:
        self.milestones, self.lrs = list(milestones), list(lr)
        self.momenta = list(momentum) if momentum is not None else None
        require(
            self.milestones == sorted(self.milestones) and len(self.lrs) == len(self.milestones),
            "Milestones needs increasing milestones and one lr per milestone",
        )
        if self.momenta is not None:
            require(len(self.momenta) == len(self.milestones), "Milestones needs one momentum per milestone")
            require(
                all("momentum" in group for group in optimizer.param_groups),
                "Milestones: momentum given but the optimizer has no momentum",
            )
        self.base_momenta = [group.get("momentum") for group in optimizer.param_groups]
        super().__init__(optimizer, last_epoch)

    def _phase(self) -> int:
        return bisect_right(self.milestones, self.last_epoch)

    def get_lr(self) -> list[float | Tensor]:
        phase = self._phase()
        return list(self.base_lrs) if phase == 0 else [self.lrs[phase - 1]] * len(self.base_lrs)

    def step(self, epoch: int | None = None) -> None:
        super().step(epoch)
        if self.momenta is None:
            return
        phase = self._phase()
        for group, base in zip(self.optimizer.param_groups, self.base_momenta, strict=True):
            group["momentum"] = base if phase == 0 else self.momenta[phase - 1]
