"""Edge'23 Table IV ordering: DP smallest; probabilistic smaller than greedy."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from table_iv import parameter_table  # noqa: E402


def test_table_iv_ordering_on_200_samples():
    table = parameter_table(samples=200)
    for policy in ("greedy", "probabilistic"):
        dp = table[policy, "dp"][0]
        assert all(dp < table[policy, g][0] for g in ("er", "ba", "ws")), table
    for generator in ("er", "ba", "ws", "dp"):
        assert table["probabilistic", generator][0] < table["greedy", generator][0], table
