"""Per-trial randomness (issue 16, point 1): no two trials of a study draw the same
architecture, whether they come from two processes on one study or from a resumed study,
and a study run again from its config draws exactly the same."""

from __future__ import annotations

import optuna
import pytest

from app.config import validate
from search.samplers import create_sampler
from search.seeds import trial_seed
from search.space import sample_architecture
from search.storage import create_storage
from tests.conftest import compose_config

SPACE = ["space.nodes={low:4,high:9}", "staging.channels=8", "staging.max_channels=16"]


def config(sampler: str, *extra: str):
    return validate(compose_config(f"search.sampler={sampler}", "search.population_size=2", *SPACE, *extra))


def process(journal: str, cfg) -> optuna.Study:
    """One process's view of the shared study: its own storage object and sampler."""
    return optuna.create_study(
        study_name="shared",
        storage=create_storage(journal, heartbeat_interval=None),
        sampler=create_sampler(cfg),
        directions=["maximize", "minimize"],
        load_if_exists=True,
    )


def draw(study: optuna.Study, cfg) -> tuple:
    """Ask one trial, sample its architecture, tell made-up values; the architecture's key."""
    trial = study.ask()
    arch = sample_architecture(trial, cfg)
    study.tell(trial, [float(arch.number_of_nodes()), float(trial.user_attrs["arch_seed"] % 97)])
    return trial.user_attrs["arch_seed"], tuple(sorted(trial.params.items()))


@pytest.mark.parametrize("sampler", ["random", "nsga2", "tpe"])
def test_two_processes_on_one_study_never_draw_the_same_architecture(tmp_path, sampler):
    cfg = config(sampler)
    journal = str(tmp_path / "s.journal")
    first, second = process(journal, cfg), process(journal, cfg)  # same config, same search.seed
    drawn = [draw(study, cfg) for _ in range(3) for study in (first, second)]
    assert len({seed for seed, _ in drawn}) == len(drawn)
    assert len({params for _, params in drawn}) == len(drawn)


@pytest.mark.parametrize("sampler", ["random", "nsga2"])
def test_a_resumed_study_does_not_replay_its_first_trials(tmp_path, sampler):
    cfg = config(sampler)
    journal = str(tmp_path / "s.journal")
    first = process(journal, cfg)
    before = [draw(first, cfg) for _ in range(2)]
    resumed = process(journal, cfg)  # a rerun: a fresh sampler with the same search.seed
    after = [draw(resumed, cfg) for _ in range(2)]
    assert not {p for _, p in before} & {p for _, p in after}
    assert not {s for s, _ in before} & {s for s, _ in after}


def test_the_same_config_draws_the_same_study_again(tmp_path):
    cfg = config("nsga2")
    runs = []
    for folder in ("a", "b"):
        study = process(str(tmp_path / f"{folder}.journal"), cfg)
        runs.append([draw(study, cfg) for _ in range(5)])  # past the first generation: crossover too
    assert runs[0] == runs[1]
    other = process(str(tmp_path / "c.journal"), config("nsga2", "search.seed=1"))
    assert [draw(other, cfg) for _ in range(2)] != runs[0][:2]


def test_the_architecture_seed_is_a_user_attribute_not_a_tuned_parameter(tmp_path):
    cfg = config("nsga2")
    study = process(str(tmp_path / "s.journal"), cfg)
    trial = study.ask()
    arch = sample_architecture(trial, cfg)
    assert "arch_seed" not in trial.params
    assert trial.user_attrs["arch_seed"] == arch.graph["seed"] == trial_seed(0, "shared", 0, "arch")
    listed = config("random", "space.seed=[3,4]")
    trial = process(str(tmp_path / "t.journal"), listed).ask()
    assert (
        sample_architecture(trial, listed).graph["seed"] == trial.params["arch_seed"] == trial.user_attrs["arch_seed"]
    )
