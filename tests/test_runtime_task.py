"""task=deploy end to end on 2 loopback workers, and its config checks."""

import json
from pathlib import Path

import pytest

from app.config import validate
from tests.conftest import compose_config


def test_deploy_reports_measured_and_predicted_latency(tmp_path):
    from hw.runtime.task import deploy_task

    cfg = validate(
        compose_config(
            "task=deploy",
            "hw.units=2",
            "deploy.repeats=3",
            "deploy.warmup=1",
            "deploy.partitioner=heft",
            "hw.link.latency_ms=0.07",
        )
    )
    result = deploy_task(cfg, tmp_path)
    json.dumps(result)  # plain data
    # hw.units workers (the hw=local default is 4), hw.link's model
    assert (
        result["workers"] == 2 and len(result["vertices_per_unit"]) == 2 and sum(result["vertices_per_unit"]) == 8 + 2
    )
    assert result["compute_policy"] == "idle"  # reported by the worker itself
    assert result["max_abs_diff"] <= 1e-5  # distributed logits == one-worker logits
    for key in ("measured", "measured_single"):
        assert 0 < result[key]["min_ms"] <= result[key]["median_ms"] <= result[key]["p90_ms"]
    assert "planned" not in result  # one prediction: hw/'s list scheduler on the hw target
    predicted = result["predicted"]
    assert predicted["predicted_distributed_ms"] > 0 and predicted["predicted_speedup"] > 0
    assert predicted["target"] == "local" and predicted["link"]["latency_ms"] == pytest.approx(0.07)
    assert predicted["transfers"] == result["messages"]  # the schedule counts the messages the workers sent
    assert result["ping_pong_link"]["latency_ms"] >= 0  # measured, not a model
    timeline = result["timeline"]  # the last timed inference, per rank
    trace = json.loads((tmp_path / "timeline.json").read_text())["traceEvents"]
    # on the fast path (the default) a run of vertices between a receive and a send is one step, "a+b+c"
    computed = {v for e in trace if e.get("cat") == "compute" for v in e["name"].split("+")}
    assert {str(v) for v in range(8)} | {"input", "output"} <= computed
    assert (tmp_path / "timeline.png").stat().st_size > 1000
    assert [r["rank"] for r in timeline["ranks"]] == [0, 1]
    assert all(r["steps"] >= 1 for r in timeline["ranks"])
    for r in timeline["ranks"]:
        assert 0 <= r["compute_ms"] <= r["finish_ms"] <= result["measured"]["p90_ms"] * 5
    saved = json.loads((tmp_path / "assignment.json").read_text())
    assert set(saved["assignment"].values()) <= {0, 1} and len(saved["order"]) == 10


@pytest.mark.parametrize(
    "override, message",
    [
        ("hw.units=0", "hw.units must be >= 1"),
        ("deploy.workers=2", "deploy.workers"),  # gone: the unit count is hw.units
        ("deploy.partitioner=random", "deploy.partitioner must be one of"),
        ("deploy.timeout_s=0", "deploy.timeout_s"),
        ("deploy.order=reverse", "deploy.order must be one of"),
        ("deploy.compute_policy=fifo", "deploy.compute_policy must be one of"),
    ],
)
def test_bad_deploy_settings_fail_with_a_clear_message(override, message):
    with pytest.raises(Exception, match=message):
        validate(compose_config("task=deploy", override))


def test_missing_weights_file_is_a_user_error(tmp_path):
    from hw.runtime.task import deploy_task

    cfg = validate(compose_config("task=deploy", f"deploy.weights={tmp_path}/none.pt"))
    with pytest.raises(FileNotFoundError, match="deploy.weights: file not found"):
        deploy_task(cfg, tmp_path)


def test_idle_compute_policy_applies_to_the_calling_thread_only():
    import os
    import threading

    from hw.runtime.worker import compute_policy, yield_to_transport

    seen = {}

    def compute_thread():
        yield_to_transport({"compute_policy": "idle"})
        seen["thread"] = compute_policy()

    worker = threading.Thread(target=compute_thread)
    worker.start()
    worker.join()
    assert seen["thread"] == "idle" and compute_policy() == "normal"
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_timeline_aligns_ranks_on_one_clock_and_counts_waits(tmp_path):
    from hw.runtime.timeline import chrome_trace, save_timeline, summarize

    # rank 1 started 1 ms after rank 0; it waited 2 ms (its clock) for vertex b
    traces = [[("a", 0.0, 0.0, 0.002)], [("b", 0.0, 0.002, 0.003), ("c", 0.003, 0.003, 0.004)]]
    rows = summarize(traces)
    assert rows[1]["wait_ms"] == pytest.approx(2.0) and rows[1]["compute_ms"] == pytest.approx(2.0)
    assert rows[0]["wait_ms"] == 0 and rows[1]["finish_ms"] == pytest.approx(4.0)
    paths = save_timeline(traces, tmp_path / "t", origins=[10.0, 10.001])
    events = json.loads(Path(paths["json"]).read_text())["traceEvents"]
    b = next(e for e in events if e["name"] == "b")
    assert b["ts"] == pytest.approx(3000.0) and b["tid"] == 1  # 1 ms skew + 2 ms own clock, in µs
    assert [e["name"] for e in chrome_trace(traces)["traceEvents"] if e.get("cat") == "wait"] == ["wait → b"]
