"""One rank's share of one inference: compute own vertices, exchange cut tensors over gloo.

Receives for all incoming tensors are posted up front into preallocated buffers, so a
sender never waits for its peer to reach the matching step; sends are `isend`, so a
worker computes its next vertex while its output is still on the wire. Ranks run their
vertices as subsequences of one global topological order (the plan's), which makes the
exchange deadlock-free: a rank only ever waits for a vertex earlier in that order.
Every wait has a timeout: a peer that died (connection closed) or stalls ends the
inference with an error instead of a hang. On the fast path (`nas.fast`) each run of
vertices between a receive and a send is one frozen graph, traced in the first inference.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from hw.runtime.plan import IMAGE, RESULT, RankPlan, Step
from hw.schedule import Vertex
from nas.execute import run
from nas.fast import TracedPlan


def gloo_message(err: BaseException) -> str:
    """The first line of a gloo error without its source location and boilerplate."""
    text = str(err).split(" This is typically")[0].strip()
    text = re.sub(r"\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", text)
    return text.splitlines()[0] if text else type(err).__name__


class PeerError(RuntimeError):
    """A peer did not deliver a tensor in time or its connection broke."""


def to_wire(tensor: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """What gloo sends: it takes only row-major tensors, so a channels-last map goes as
    its (N, H, W, C) view — the same memory, no copy."""
    if channels_last and tensor.dim() == 4:
        return tensor.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1)
    return tensor.contiguous()


def receive_buffer(shape: tuple[int, ...], channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(what gloo fills, the tensor the vertices read): one memory, see `to_wire`."""
    if channels_last and len(shape) == 4:
        wire = torch.empty((shape[0], shape[2], shape[3], shape[1]))
        return wire, wire.permute(0, 3, 1, 2)
    wire = torch.empty(shape)
    return wire, wire


class RankExecutor:
    """`channels_last`: feature maps in channels-last layout end to end (~2x faster
    separable convs and max-pools on CPU at 224 px); the modules must be converted too.
    `fast_path`: the vertices between a receive and a send run as one traced graph."""

    def __init__(
        self,
        plan: RankPlan,
        modules: Mapping[Vertex, nn.Module],
        batch: int,
        timeout_s: float,
        channels_last: bool = False,
        fast_path: bool = False,
        send: Callable[..., Any] = dist.isend,
    ) -> None:
        self.plan = plan
        self.send = send  # dist.isend's signature, returns a Work (a testbed's delayed sender)
        self.modules = modules
        self.channels_last = channels_last
        self.steps, self.compute = plan.steps, self._compute
        if fast_path:
            incoming = {t.tensor for t in plan.recvs}
            traced = TracedPlan(
                plan.steps,
                modules,
                cut_before=lambda step: any(u in incoming for u in step.inputs),
                cut_after=lambda step: bool(step.sends),
                alone=lambda step: step.vertex in (IMAGE, RESULT),
                fallback=self._compute,
            )
            self.steps, self.compute = traced.steps, traced.compute
        self.timeout = timedelta(seconds=timeout_s)
        received = {t.tensor: receive_buffer((batch, *t.shape), channels_last) for t in plan.recvs}
        self.buffers = {name: wire for name, (wire, _) in received.items()}
        self.views = {name: view for name, (_, view) in received.items()}
        self.sources = {t.tensor: t.src for t in plan.recvs}
        self.pending: dict[Vertex, dist.Work] = {}
        self._sends: list[tuple[dist.Work, torch.Tensor]] = []  # this inference's isends, with their tensors
        self.busy_s = 0.0  # compute time of the last inference
        # last inference, per step: (vertex, wait start, compute start, compute end) in
        # seconds from the start of `run`: where a rank waited and for what (timeline.py)
        self.trace: list[tuple[Vertex, float, float, float]] = []
        self.origin = 0.0  # time.perf_counter() at the start of the last inference
        self.messages_sent = 0
        self.bytes_sent = 0

    def _wait(self, work: dist.Work, what: str) -> None:
        try:
            work.wait(self.timeout)
        except RuntimeError as err:
            raise PeerError(f"rank {self.plan.rank}: {what} failed: {gloo_message(err)}") from None

    def post_receives(self) -> None:
        """Post the next inference's receives (before the start signal, so none is late)."""
        if not self.pending:
            self.pending = {
                t.tensor: dist.irecv(self.buffers[t.tensor], t.src, tag=t.tag)  # type: ignore[misc]  # torch: Work | None (None outside the group)
                for t in self.plan.recvs
            }

    def run(self, image: torch.Tensor | None = None) -> torch.Tensor | None:
        """One inference (`nas.execute.run` with receives before and sends after each step);
        returns the logits on the rank that owns RESULT, else None."""
        self.post_receives()
        self._received, self.pending = self.pending, {}
        self._image, self._sends = image, []
        self.busy_s, self.trace, self.origin = 0.0, [], time.perf_counter()
        result = run(self.steps, self.compute, {}, self._receive, self._send).get(RESULT)
        for work, _tensor in self._sends:
            self._wait(work, "sending")
        return None if result is None else result.clone()

    def _receive(self, step: Step, values: dict[Vertex, torch.Tensor]) -> None:
        self._waited = time.perf_counter()
        for u in step.inputs:
            if u in self._received:
                self._wait(self._received.pop(u), f"receiving tensor {u} from rank {self.sources[u]}")
                values[u] = self.views[u]
        self._start = time.perf_counter()

    def _compute(self, vertex: str, inputs: list[torch.Tensor]) -> torch.Tensor:
        if vertex == IMAGE:
            if self._image is None:
                raise ValueError(f"rank {self.plan.rank} owns the image but got none")
            return (
                self._image.contiguous(memory_format=torch.channels_last)
                if self.channels_last
                else self._image.contiguous()
            )
        return inputs[0] if vertex == RESULT else self.modules[vertex](inputs)

    def _send(self, step: Step, out: torch.Tensor) -> None:
        end = time.perf_counter()
        self.busy_s += end - self._start
        # a segment (fast path): one entry named by its vertices, "a+b+c"; it sends after its last step
        label = "+".join(str(s.vertex) for s in step.steps) if hasattr(step, "steps") else step.vertex
        self.trace.append((label, self._waited - self.origin, self._start - self.origin, end - self.origin))
        step = getattr(step, "last", step)
        if step.sends:
            wire = to_wire(out, self.channels_last)
            for dst in step.sends:
                self._sends.append((self.send(wire, dst, tag=step.tag), wire))
                self.messages_sent += 1
                self.bytes_sent += wire.numel() * wire.element_size()
