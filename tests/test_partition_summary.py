"""The human summary printed on stderr before a task's JSON line."""

from partition.summary import human_bytes, print_summary, summary_lines


def test_analyze_result_summary_is_aligned_and_human():
    result = {
        "vertices": 40,
        "edges": 59,
        "params": 528460,
        "macs": 9220352,
        "generator": "dp",
        "eta": 1.2,
        "cs": 2.96,
        "comm": 57344,
        "comm_norm": 7.0,
        "imbalance": 1.17,
        "units": 4,
        "partitioner": "metis",
        "epsilon": 1.2,
        "predicted_latency_ms": 3.582,
        "predicted_distributed_ms": 1.9,
        "predicted_speedup": 1.885,
        "hw": {"units_used": 3, "target": "local"},
        "options": [{"cs": 9.0}],
    }
    lines = summary_lines(result)
    assert [line.split()[0] for line in lines] == ["architecture", "units", "η", "CS", "Λ", "imbalance", "predicted"]
    assert len({line.index(line.split()[1]) for line in lines}) == 1  # values in one column
    assert lines[0].endswith("dp, 40 vertices, 59 edges, 528k params, 9.22M MACs")
    assert "56.0 KiB, Λ′ 7.00" in lines[4] and "3 used" in lines[1]
    assert lines[-1].endswith("3.582 ms on 1 unit, 1.9 ms distributed, speed-up 1.89×")


def test_deploy_result_nested_keys_and_unknown_results(capsys):
    deploy = {
        "workers": 2,
        "partition": {"cs": 1.5, "comm": 2048, "partitioner": "heft"},
        "measured": {"median_ms": 4.0},
        "measured_single": {"median_ms": 6.0},
        "measured_speedup": 1.5,
    }
    assert summary_lines(deploy) == [
        "units     2, partitioner heft",
        "CS        1.500",
        "Λ         2.0 KiB",
        "measured  6 ms on 1 unit, 4 ms distributed, speed-up 1.50×",
    ]
    assert summary_lines({"architectures": 10, "wall_s": 3.0}) == []
    print_summary({"wall_s": 3.0})
    print_summary({"cs": 2.0})
    out = capsys.readouterr()
    assert out.out == "" and out.err == "CS  2.000\n"
    assert [human_bytes(n) for n in (0, 1023, 1024, 1536 * 1024, 3 * 2**30)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 MiB",
        "3.0 GiB",
    ]
