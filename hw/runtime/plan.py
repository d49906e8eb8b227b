"""Static communication plan of a partitioned architecture: who computes, sends, receives what.

Everything a worker needs to run its share is fixed before the first inference: the
vertices it computes (in one global topological order), the tensors it receives (with
their shapes, so buffers are preallocated), and the units each of its outputs goes to.

Rules:
- Units are torch.distributed ranks 0..n-1. The raw image enters at the ROOT rank (0)
  and the logits are gathered there; both are modelled as pseudo-vertices `IMAGE` →
  `input` and `output` → `RESULT` owned by the root, so moving the image to the stem's
  unit and the logits back are ordinary cut tensors.
- `input` (stem) and `output` (head) may be assigned like any vertex; when the
  assignment omits them they go to the root.
- A tensor is sent ONCE to each other unit that has at least one consumer of it (the
  hypergraph's connectivity − 1), never once per consuming vertex.
- All ranks follow one global execution order (topological by default, or a simulated
  schedule's start order); every tensor's message tag is its position in that order,
  so (src, dst, tag) names one message of one inference.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx

from nas.arch import DTYPE_BYTES
from nas.dag import INPUT, OUTPUT, compute_vertices, inputs_of, topological_order
from nas.execute import IMAGE, free_after_last_use

ROOT = 0
RESULT = "<result>"


@dataclass(frozen=True)
class Transfer:
    """One message per inference: tensor `tensor` from rank `src` to rank `dst`."""

    tensor: str
    src: int
    dst: int
    tag: int
    shape: tuple[int, ...]  # without the batch dimension

    @property
    def nbytes(self) -> int:
        count = DTYPE_BYTES
        for dim in self.shape:
            count *= dim
        return count


@dataclass
class Step:
    """One vertex computed locally: read `inputs`, send the output to `sends`, drop `free`."""

    vertex: str
    inputs: list[str]
    sends: list[int]
    tag: int
    free: list[str] = field(default_factory=list)


@dataclass
class RankPlan:
    rank: int
    steps: list[Step]
    recvs: list[Transfer]

    @property
    def vertices(self) -> list[str]:
        """Real vertices this rank computes (pseudo-vertices excluded)."""
        return [s.vertex for s in self.steps if s.vertex not in (IMAGE, RESULT)]


@dataclass
class Plan:
    world_size: int
    assignment: dict[str, int]  # every real vertex (incl. input/output) → rank
    ranks: list[RankPlan]
    transfers: list[Transfer]

    @property
    def messages(self) -> int:
        return len(self.transfers)

    @property
    def bytes(self) -> int:
        """Bytes sent per inference at batch 1."""
        return sum(t.nbytes for t in self.transfers)


def tensor_shape(arch: nx.DiGraph, v) -> tuple[int, ...]:
    """Batch-less shape of vertex v's output: (C, S, S), or (C,) for a flat vector (size 0)."""
    channels, size = arch.nodes[v]["channels"], arch.nodes[v]["size"]
    return (channels, size, size) if size else (channels,)


def image_shape(arch: nx.DiGraph) -> tuple[int, int, int]:
    size = arch.graph["input_size"]
    return (arch.graph.get("in_channels", 3), size, size)


def resolve_assignment(arch: nx.DiGraph, assignment: Mapping, world_size: int) -> dict[str, int]:
    """Validate a vertex → unit map and complete it with the documented input/output rule.

    Keys may be vertex ids or their strings; every compute vertex must be assigned to a
    unit in [0, world_size). Missing `input`/`output` go to the root unit.
    """
    if world_size < 1:
        raise ValueError(f"world size must be >= 1, got {world_size}")
    names = {str(v): v for v in arch.nodes}
    resolved: dict[str, int] = {}
    for key, unit in assignment.items():
        name = str(key)
        if name not in names:
            raise ValueError(f"assignment names vertex {key!r}, which is not in the architecture")
        if isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit < world_size:
            raise ValueError(f"vertex {key!r} is assigned to unit {unit!r}; units are integers 0..{world_size - 1}")
        resolved[name] = unit
    missing = [str(v) for v in compute_vertices(arch) if str(v) not in resolved]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ValueError(f"assignment leaves {len(missing)} compute vertices without a unit: {shown}")
    resolved.setdefault(INPUT, ROOT)
    resolved.setdefault(OUTPUT, ROOT)
    return resolved


def execution_order(arch: nx.DiGraph, order: Sequence | None = None) -> list[str]:
    """Validate a global vertex order (default: topological); every rank follows it."""
    if order is None:
        return [str(v) for v in topological_order(arch)]
    order = [str(v) for v in order]
    names = {str(v): v for v in arch.nodes}
    if sorted(order) != sorted(names):
        raise ValueError("execution order must list every vertex of the architecture exactly once")
    position = {v: i for i, v in enumerate(order)}
    for u, v in arch.edges:
        if position[str(u)] > position[str(v)]:
            raise ValueError(f"execution order runs vertex {v} before its input {u}")
    return order


def build_plan(arch: nx.DiGraph, assignment: Mapping, world_size: int, order: Sequence | None = None) -> Plan:
    """The per-rank steps and messages of one inference (see the module rules).

    `order` is the global order every rank runs its own vertices in (a topological
    order, e.g. a simulated schedule's start order); a shared order keeps the exchange
    deadlock-free.
    """
    unit = resolve_assignment(arch, assignment, world_size)
    unit[IMAGE] = unit[RESULT] = ROOT
    order = [IMAGE, *execution_order(arch, order), RESULT]
    tag = {v: i for i, v in enumerate(order)}
    inputs = {str(v): [str(u) for u in inputs_of(arch, v)] for v in arch.nodes}
    inputs[INPUT] = [IMAGE]
    inputs[RESULT] = [OUTPUT]
    inputs[IMAGE] = []
    consumers: dict[str, list[str]] = {v: [] for v in order}
    for v in order:
        for u in inputs[v]:
            consumers[u].append(v)
    shape = {str(v): tensor_shape(arch, v) for v in arch.nodes}
    shape[IMAGE] = image_shape(arch)

    transfers: list[Transfer] = []
    steps: list[list[Step]] = [[] for _ in range(world_size)]
    recvs: list[list[Transfer]] = [[] for _ in range(world_size)]
    for v in order:
        src = unit[v]
        destinations = sorted({unit[w] for w in consumers[v]} - {src})
        for dst in destinations:
            t = Transfer(v, src, dst, tag[v], shape[v])
            transfers.append(t)
            recvs[dst].append(t)
        steps[src].append(Step(v, inputs[v], destinations, tag[v]))
    for rank_steps in steps:
        free_after_last_use(rank_steps)
    ranks = [RankPlan(r, steps[r], recvs[r]) for r in range(world_size)]
    del unit[IMAGE], unit[RESULT]
    return Plan(world_size, unit, ranks, transfers)


def topological_chunks(arch: nx.DiGraph, units: int) -> dict[str, int]:
    """Fallback partition: the topological order cut into `units` runs of about equal MACs.

    Contiguous chunks never send a tensor backwards, but a chain model gets no overlap
    at all; this is the baseline a real partitioner (METIS) should beat.
    """
    vertices = compute_vertices(arch)
    weights = [arch.nodes[v]["macs"] + 1 for v in vertices]
    total = float(sum(weights))
    assignment: dict[str, int] = {}
    done = 0.0
    for v, w in zip(vertices, weights):
        assignment[str(v)] = min(units - 1, int((done + w / 2) / total * units))
        done += w
    return assignment


def single_unit(arch: nx.DiGraph) -> dict[str, int]:
    """Everything on the root: the one-unit reference."""
    return {str(v): ROOT for v in arch.nodes}
