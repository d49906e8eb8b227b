"""The survey's per-sample figures are those of 8a8d992's survey (before its speed-ups).

tests/data/survey_golden.json holds every row of a small `experiment=paper_survey`
survey (8 samples, trimmed ε; 3 samples, full ε sweep; |V| 40 and 80, 4-10 units, FLOPs
latency stand-in) as computed by that commit's code (tests/data/make_survey_golden.py).
Exact equality: the faster survey must run the same partitions and the same schedules.
"""

import json
from pathlib import Path

import pytest

from tests.data.make_survey_golden import CASES, COLUMNS, golden

GOLDEN = json.loads((Path(__file__).parent / "data" / "survey_golden.json").read_text())


@pytest.mark.parametrize("case", list(CASES))
def test_survey_rows_equal_the_old_surveys(case):
    overrides, samples = CASES[case]
    assert GOLDEN["columns"] == COLUMNS and GOLDEN["source"] == "8a8d992"
    rows = golden(overrides, samples)
    assert len(rows) == len(GOLDEN[case])
    for got, want in zip(rows, GOLDEN[case], strict=True):
        assert dict(zip(COLUMNS, got, strict=True)) == dict(zip(COLUMNS, want, strict=True))
