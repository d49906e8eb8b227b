"""Weights of an architecture: one state_dict file, each deploy worker reads only its part.

The file is `ArchitectureNet.state_dict()` (keys `vertices.<v>.…`), optionally nested
under "state_dict" and prefixed (a Lightning checkpoint: `model.vertices.<v>.…`).
Training (`task=train`, every search trial) saves it as `STATE_DICT_FILE` beside the
architecture file; it is read with `weights_only=True` (no pickled code runs), opened
memory-mapped, so a worker touches only the bytes of the vertices it owns, and each
worker builds only its own `VertexModule`s.
"""

from __future__ import annotations

import pickle
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path

import networkx as nx
import torch

from nas.builder import VertexModule, build_model, vertex_module

MARKER = "vertices."
STATE_DICT_FILE = "weights.pt"  # a trained (or deployed) architecture's state_dict, beside its architecture.json


def save_state_dict(model: torch.nn.Module, path: str | Path) -> Path:
    """`model.state_dict()` as plain contiguous tensors (loadable with `weights_only=True`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, path)
    return path


def save_random_weights(arch: nx.DiGraph, path: str | Path, seed: int = 0) -> Path:
    """Initialise the whole model from `seed` and save its state_dict (the reference weights)."""
    torch.manual_seed(seed)
    return save_state_dict(build_model(arch), path)


def read_state_dict(path: str | Path, mmap: bool = True) -> Mapping[str, torch.Tensor]:
    """The state_dict in `path` (unwrapped from a checkpoint's "state_dict"); one-line
    errors for a missing file, a pickled whole model and anything else that is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError:  # legacy (non-zip) files cannot be memory-mapped
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(
            f"{path} is a pickled whole model (e.g. MLflow's model.pth), not a state_dict; give the "
            f"trial's {STATE_DICT_FILE} instead, or name the trial: trial=<study>:<number>"
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(
            f"{path}: not a torch state_dict file ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not any(_vertex_of(k) for k in state):
        raise ValueError(f"{path}: expected an architecture's state_dict (tensors named '{MARKER}<v>.…')")
    return state


def _vertex_of(key: str) -> tuple[str, str] | None:
    """'model.vertices.12.op.1.weight' → ('12', 'op.1.weight')."""
    at = key.find(MARKER)
    if at < 0 or (at > 0 and key[at - 1] != "."):
        return None
    vertex, _, rest = key[at + len(MARKER) :].partition(".")
    return vertex, rest


def load_vertex_states(path: str | Path, vertices: Iterable[str]) -> dict[str, dict[str, torch.Tensor]]:
    """The state of each wanted vertex, read from a (memory-mapped) state_dict file."""
    state = read_state_dict(path)
    wanted = set(vertices)
    states: dict[str, dict[str, torch.Tensor]] = {v: {} for v in wanted}
    for key, value in state.items():
        found = _vertex_of(key)
        if found and found[0] in wanted:
            states[found[0]][found[1]] = value
    return states


def build_vertex_modules(
    arch: nx.DiGraph, vertices: Iterable[Hashable], weights: str | Path, channels_last: bool = False
) -> dict[Hashable, VertexModule]:
    """Build only `vertices` (graph node ids) and load their weights (state_dict keys are
    the builder's `str(v)`); eval mode (conv weights channels-last when `channels_last`)."""
    vertices = list(vertices)
    states = load_vertex_states(weights, [str(v) for v in vertices])
    modules: dict[Hashable, VertexModule] = {}
    for v in vertices:
        module = vertex_module(arch, v)
        try:
            module.load_state_dict(states[str(v)], strict=True)
        except RuntimeError as err:
            first = str(err).splitlines()[0] if str(err) else "mismatch"
            raise ValueError(f"{weights}: weights do not fit vertex {v} of this architecture ({first})") from None
        modules[v] = module.eval().to(memory_format=torch.channels_last) if channels_last else module.eval()
    return modules
