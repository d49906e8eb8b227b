"""The default DAG orientation keeps random architectures short and wide (issue 13)."""

import sys
from pathlib import Path

import pytest

from app.config import compose, validate
from nas.config import GeneratorConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from orientation_paths import median_figures  # noqa: E402

NODES, SEEDS = 40, 15


@pytest.mark.parametrize("generator", ["er", "ba", "dp"])
def test_default_orientation_gives_paths_below_half_the_vertices(generator):
    longest = median_figures(generator, NODES, SEEDS, GeneratorConfig.orientation)[0]
    assert longest < NODES / 2, (generator, GeneratorConfig.orientation, longest)


def test_dfs_orientation_makes_er_a_near_chain():
    """The property above is not automatic: ER under dfs (the old default) fails it."""
    assert median_figures("er", NODES, SEEDS, "dfs")[0] >= NODES / 2


@pytest.mark.parametrize("generator", ["er", "ba", "ws", "dp", "fb"])
def test_every_generator_option_uses_the_default_orientation(generator):
    assert validate(compose(f"generator={generator}")).generator.orientation == GeneratorConfig.orientation == "index"
