"""Distributed output == single-process output for the same weights (gloo on loopback)."""

import random

import pytest
import torch

from hw.runtime.launch import launch_local
from hw.runtime.plan import build_plan, single_unit, topological_chunks
from hw.runtime.task import deployment_assignment
from hw.runtime.weights import build_vertex_modules, save_random_weights
from hw.target import Target
from nas.arch import save
from nas.builder import build_model
from nas.factory import BASELINES
from nas.generators import GENERATORS
from tests.test_runtime_plan import tiny

CI_GENERATORS = ["er", "ba", "ws", "dp", "fb", "lcp", "cifarnet"]


def random_assignment(arch, units, seed):
    rng = random.Random(seed)
    return {v: rng.randrange(units) for v in arch.nodes}


def reference_output(arch, weights, seed=0, batch=1):
    model = build_model(arch).eval()
    model.load_state_dict(torch.load(weights, weights_only=True))
    image = torch.randn(
        (batch, arch.graph.get("in_channels", 3), arch.graph["input_size"], arch.graph["input_size"]),
        generator=torch.Generator().manual_seed(seed),
    )
    with torch.inference_mode():
        return model(image)


def make_jobs(tmp_path, generators, units, size=16, batch=1, memory_format="contiguous", fast_path=False):
    """One job per generator with several assignments: METIS, chunks, arbitrary, all-on-root."""
    jobs, refs = [], {}
    for i, generator in enumerate(generators):
        arch = tiny(generator, seed=i, size=size)
        arch_path = save(arch, tmp_path / f"{generator}.json")
        weights = save_random_weights(arch, tmp_path / f"{generator}.pt", seed=i)
        variants = {
            "chunks": topological_chunks(arch, units),
            "random": random_assignment(arch, units, i),
            "single": single_unit(arch),
        }
        if units > 1:
            variants["metis"] = deployment_assignment(arch, Target("test", units, 1e9), "metis")[0]
        jobs.append(
            {
                "name": generator,
                "arch": str(arch_path),
                "weights": str(weights),
                "batch": batch,
                "input_seed": i,
                "repeats": 2,
                "warmup": 0,
                "variants": variants,  # 2: buffers reused
                "memory_format": memory_format,
                "fast_path": fast_path,
            }
        )
        refs[generator] = (arch, reference_output(arch, weights, seed=i, batch=batch), variants)
    return jobs, refs


def check(report, refs, units, batch=1, atol=1e-6):
    for generator, (arch, expected, variants) in refs.items():
        job = report["jobs"][generator]
        for name, assignment in variants.items():
            out = job["outputs"][name]
            assert out.shape == expected.shape
            assert torch.allclose(out, expected, rtol=1e-5, atol=atol), (generator, name)
            plan = build_plan(arch, assignment, units)
            assert job["messages"][name] == job["planned_messages"][name] == plan.messages
            assert job["bytes"][name] == plan.bytes * batch


@pytest.mark.parametrize(
    "memory_format, fast_path", [("contiguous", False), ("channels_last", False), ("channels_last", True)]
)
def test_two_workers_match_one_process_for_every_generator(tmp_path, memory_format, fast_path):
    jobs, refs = make_jobs(tmp_path, CI_GENERATORS, units=2, batch=2, memory_format=memory_format, fast_path=fast_path)
    report = launch_local({"jobs": jobs, "timeout_s": 60, "threads": 1}, 2, workdir=tmp_path / "run", deadline_s=300)
    # channels-last (and BatchNorm folded into the convs on the fast path) runs other
    # kernels than the NCHW eager reference: equal up to float rounding
    check(report, refs, 2, batch=2, atol=1e-6 if memory_format == "contiguous" else 1e-5)
    assert any(report["jobs"][g]["messages"]["metis"] > 0 for g in CI_GENERATORS)  # really distributed


def test_each_worker_builds_only_its_own_vertices(tmp_path):
    arch = tiny("dp")
    weights = save_random_weights(arch, tmp_path / "w.pt")
    plan = build_plan(arch, random_assignment(arch, 2, 0), 2)
    full = build_model(arch).state_dict()
    for rank in plan.ranks:
        modules = build_vertex_modules(arch, rank.vertices, weights)
        assert sorted(modules, key=str) == sorted(rank.vertices, key=str)
        for name, module in modules.items():
            for key, value in module.state_dict().items():
                assert torch.equal(value, torch.load(weights, weights_only=True)[f"vertices.{name}.{key}"])
    assert len(full) == sum(
        len(m.state_dict()) for r in plan.ranks for m in build_vertex_modules(arch, r.vertices, weights).values()
    )


def test_trained_checkpoint_layout_is_accepted(tmp_path):
    """A Lightning-style checkpoint ({"state_dict": {"model.vertices.…"}}) loads the same weights."""
    arch = tiny("ws")
    weights = save_random_weights(arch, tmp_path / "w.pt", seed=3)
    state = torch.load(weights, weights_only=True)
    torch.save({"epoch": 1, "state_dict": {f"model.{k}": v for k, v in state.items()}}, tmp_path / "ckpt.pt")
    names = list(arch.nodes)
    plain = build_vertex_modules(arch, names, weights)
    nested = build_vertex_modules(arch, names, tmp_path / "ckpt.pt")
    for name in names:
        for (k1, v1), (k2, v2) in zip(plain[name].state_dict().items(), nested[name].state_dict().items(), strict=True):
            assert k1 == k2 and torch.equal(v1, v2)


def test_weights_of_another_architecture_are_rejected(tmp_path):
    weights = save_random_weights(tiny("dp", seed=1), tmp_path / "w.pt")
    other = tiny("cifarnet")
    with pytest.raises(ValueError, match="do not fit vertex"):
        build_vertex_modules(other, other.nodes, weights)


ALL_GENERATORS = sorted(set(GENERATORS.names()) | set(BASELINES.names()))


@pytest.mark.slow
@pytest.mark.parametrize("fast_path", [False, True])
@pytest.mark.parametrize("memory_format", ["contiguous", "channels_last"])
@pytest.mark.parametrize("units", [1, 2, 3, 4])
def test_one_to_four_workers_match_one_process_for_every_generator(tmp_path, units, memory_format, fast_path):
    jobs, refs = make_jobs(tmp_path, ALL_GENERATORS, units=units, memory_format=memory_format, fast_path=fast_path)
    report = launch_local(
        {"jobs": jobs, "timeout_s": 60, "threads": 1}, units, workdir=tmp_path / "run", deadline_s=600
    )
    check(report, refs, units, atol=1e-6 if memory_format == "contiguous" else 1e-5)


@pytest.mark.slow
def test_workers_run_under_torchrun(tmp_path):
    """The same worker command runs unchanged under torchrun (what edge devices would use)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from hw.runtime.launch import free_port

    jobs, refs = make_jobs(tmp_path, ["dp", "lcp"], units=2)
    spec = {"jobs": jobs, "timeout_s": 60, "threads": 1, "result": str(tmp_path / "result.pt")}
    (tmp_path / "job.json").write_text(json.dumps(spec))
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo"}
    subprocess.run(
        [
            str(torchrun),
            "--nnodes=1",
            "--nproc-per-node=2",
            "--master-addr=127.0.0.1",
            f"--master-port={free_port()}",
            "-m",
            "hw.runtime.worker",
            str(tmp_path / "job.json"),
        ],
        check=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        timeout=300,
        capture_output=True,
    )
    check(torch.load(tmp_path / "result.pt", weights_only=True), refs, 2)
