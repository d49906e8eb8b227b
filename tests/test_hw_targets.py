"""Hardware targets (Hydra group `hw`), device backends, and the analyze/profile tasks."""

from pathlib import Path

import pytest

from app.config import validate
from app.tasks import TASKS
from hw.analyze import latency_report
from hw.backends import BACKENDS, ScaledBackend, create_backend, flops_predictor
from hw.target import target_from_config
from tests.conftest import compose_config

TARGETS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "conf" / "hw").glob("*.yaml"))


def test_every_issue_target_exists():
    assert {"local", "rpi3b_wifi", "aws_t2micro", "jetson_nano", "rpi4"} <= set(TARGETS)


@pytest.mark.parametrize("name", TARGETS)
def test_targets_compose_and_validate(name):
    cfg = validate(compose_config(f"hw={name}"))
    assert isinstance(cfg.hw.units, int) and cfg.hw.units >= 1
    assert cfg.hw.compute.backend in BACKENDS
    assert cfg.hw.compute.source, "every target documents where its numbers come from"
    target = target_from_config(cfg.hw)
    assert target.memory_bytes > 0 and target.link.transfer_s(1e6) > target.link.latency_s


def test_lcp_wifi_numbers():
    target = target_from_config(validate(compose_config("hw=rpi3b_wifi")).hw)
    # 1 MB over 62.24 Mbps plus 8.83 ms
    assert target.link.transfer_s(1e6) == pytest.approx(8.83e-3 + 8e6 / 62.24e6)


def test_units_override():
    assert validate(compose_config("hw=aws_t2micro", "hw.units=3")).hw.units == 3


def test_local_target_is_the_schema_default():
    """conf/hw/local.yaml repeats nothing: the schema's defaults are this machine, as users got it before."""
    local = validate(compose_config("hw=local")).hw
    assert (local.units, local.memory_mb, local.reserved_mb) == (4, 6144.0, 512.0)
    assert (local.link.bandwidth_mbps, local.link.latency_ms, local.link.contention) == (10000.0, 0.05, False)


@pytest.mark.parametrize(
    "override,match",
    [
        ("hw.units=0", "hw.units must be >= 1"),
        ("hw.link.bandwidth_mbps=0", "bandwidth_mbps must be > 0"),
        ("hw.compute.backend=fpga", "hw.compute.backend must be one of"),
        ("hw.compute.reference_model=alexnet", "go together"),
        ("hw.reserved_mb=7000", "must exceed"),
        ("hw.profile.quantile=0.9", "quantile"),
    ],
)
def test_bad_values_name_the_valid_range(override, match):
    with pytest.raises(ValueError, match=match):
        validate(compose_config(override))


def test_scaled_backend_uses_the_reference_model():
    hw = validate(compose_config("hw=rpi3b_wifi")).hw
    local = flops_predictor()
    local.metadata["references_ms"] = {"alexnet": 28.01}
    backend = create_backend(hw, local)
    assert isinstance(backend, ScaledBackend)
    assert backend.slowdown == pytest.approx(100.0)  # 2801 ms on the Pi / 28.01 ms here
    with pytest.raises(NotImplementedError, match="cannot be measured from here"):
        backend.profile()


def test_missing_profile_fallbacks(tmp_path):
    hw = validate(compose_config(f"hw.predictor={tmp_path / 'none'}")).hw
    assert create_backend(hw).describe()["fallback"] == "flops"
    strict = validate(compose_config(f"hw.predictor={tmp_path / 'none'}", "hw.on_missing_predictor=error")).hw
    with pytest.raises(FileNotFoundError, match="task=profile"):
        create_backend(strict).predict(None)


def test_report_on_one_unit_has_no_speedup():
    from nas.factory import create_architecture

    cfg = validate(compose_config("hw=local"))
    arch = create_architecture("dp", 10, seed=0, staging="uniform", staging_params={"channels": 8}, input_size=16)
    backend = create_backend(cfg.hw, flops_predictor())
    report = latency_report(
        arch, {v: 0 for v in arch}, target_from_config(cfg.hw), backend.vertex_latencies(arch), backend.predict(arch)
    ).to_json()
    assert report["predicted_speedup"] == pytest.approx(1.0)
    assert report["predicted_distributed_ms"] == pytest.approx(report["predicted_latency_ms"])
    assert report["communication_bytes"] == 0 and report["memory_constraint"] < 0


@pytest.mark.parametrize("generator", ["dp", "fb"])
def test_analyze_task_reports_predicted_latency(generator, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the task writes its files into the working directory
    overrides = [f"generator={generator}", "hw=rpi3b_wifi", "analysis.plots=false"]
    if generator == "fb":
        overrides += ["nodes=15", "generator.channels=4", "generator.head_channels=16"]
    result = TASKS.get("analyze")(validate(compose_config(*overrides)))
    assert result["predicted_distributed_ms"] > 0
    assert result["predicted_speedup"] == pytest.approx(
        result["predicted_latency_ms"] / result["predicted_distributed_ms"], rel=1e-3
    )
    assert result["hw"]["target"] == "rpi3b_wifi" and result["hw"]["units"] == 8
    assert result["hw"]["latency_model"]["fallback"] == "flops"  # no profile in tmp_path


def test_profile_task_is_registered_and_refuses_remote_devices():
    assert "profile" in TASKS
    with pytest.raises(NotImplementedError):
        TASKS.get("profile")(validate(compose_config("hw=jetson_nano")))
