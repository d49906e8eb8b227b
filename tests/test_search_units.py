"""Search building blocks without training: space, samplers, storage, objectives, report."""

import optuna
import pytest

from app.config import validate
from search.objectives import create_objectives, objective_values
from search.report import hypervolume_2d, table_rows, with_paper
from search.samplers import BASELINE_ATTR, BaselineAwareNSGAII
from search.space import grid, sample_architecture, suggest
from search.storage import create_storage
from tests.conftest import compose_config


def test_hypervolume_2d_by_hand():
    assert hypervolume_2d([(1, 3), (2, 2), (3, 1)], (4, 4)) == 6
    assert hypervolume_2d([(1, 3), (2, 2), (3, 1), (3, 3)], (4, 4)) == 6  # dominated point adds nothing
    assert hypervolume_2d([(5, 1)], (4, 4)) == 0


def test_suggest_specs():
    trial = optuna.create_study().ask()
    assert suggest(trial, "a", [1, 2]) in (1, 2)
    assert 3 <= suggest(trial, "b", {"low": 3, "high": 5}) <= 5
    assert isinstance(suggest(trial, "c", {"low": 0.1, "high": 0.2}), float)
    assert suggest(trial, "d", 7) == 7 and suggest(trial, "e", None) is None
    assert set(trial.params) == {"a", "b", "c"}
    with pytest.raises(ValueError, match="needs low and high"):
        suggest(trial, "f", {"low": 1})


def test_sampled_architecture_follows_the_space():
    cfg = validate(
        compose_config(
            "generator=ws",
            "space.nodes={low: 6, high: 9}",
            "space.channels=[8]",
            "space.staging=[greedy]",
            "space.generator_params.ws.k=[2]",
        )
    )
    trial = optuna.create_study().ask()
    arch = sample_architecture(trial, cfg)
    assert 6 <= arch.graph["nodes"] <= 9 and arch.graph["staging"] == "greedy"
    assert arch.graph["generator_params"]["k"] == 2 and arch.graph["staging_params"]["channels"] == 8
    assert trial.params["ws.k"] == 2


def test_unknown_generator_parameter_in_space_is_refused():
    cfg = validate(compose_config("generator=er", "+space.generator_params.er.q=[1]"))
    with pytest.raises(ValueError, match="generator er has no parameter 'q'"):
        sample_architecture(optuna.create_study().ask(), cfg)


def test_grid_enumerates_seeds_for_pure_sampling():
    cfg = validate(compose_config("space=sampling", "search.sampler=grid", "search.n_trials=5"))
    assert grid(cfg) == {"arch_seed": [0, 1, 2, 3, 4]}
    cfg = validate(
        compose_config("space=sampling", "search.sampler=grid", "search.n_trials=2", "search.total_trials=3")
    )
    assert grid(cfg) == {"arch_seed": [0, 1, 2]}  # the study's trials


def test_nsga2_ignores_baselines_in_its_crossover_space():
    study = optuna.create_study(
        directions=["maximize", "minimize"], sampler=BaselineAwareNSGAII(population_size=2, seed=0)
    )
    study.enqueue_trial({}, user_attrs={BASELINE_ATTR: "cifarnet"})
    study.optimize(
        lambda t: (
            [1.0, 1.0] if t.user_attrs.get(BASELINE_ATTR) else [t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)]
        ),
        n_trials=4,
    )
    space = study.sampler.infer_relative_search_space(study, study.trials[-1])
    assert set(space) == {"x", "y"}  # plain NSGA-II would intersect with the baseline's empty space


def test_objectives_read_metrics():
    cfg = validate(compose_config("search.objectives=[accuracy,cs,latency]", "search.accuracy_metric=val_acc"))
    objectives = create_objectives(cfg.search)
    assert [o.direction for o in objectives] == ["maximize", "minimize", "minimize"]
    assert objective_values(objectives, {"val_acc": 90, "cs": 1.5, "deploy_latency_ms": 3}) == [90, 1.5, 3]
    with pytest.raises(ValueError, match="no value for deploy_latency_ms"):
        objective_values(objectives, {"val_acc": 90, "cs": 1.5})


@pytest.mark.parametrize(
    "url,message",
    [
        ("optuna.db", "not a storage URL"),
        ("redis://localhost", "not a storage URL"),
        ("postgresql://nobody@127.0.0.1:1/none", "cannot open search.storage"),
    ],
)
def test_bad_storage_urls_fail_in_one_line(url, message):
    with pytest.raises(ValueError, match=message) as err:
        create_storage(url)
    assert "\n" not in str(err.value)


def test_journal_storage_from_a_path(tmp_path):
    storage = create_storage(str(tmp_path / "s.journal"))
    optuna.create_study(study_name="j", storage=storage).optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(optuna.load_study(study_name="j", storage=create_storage(str(tmp_path / "s.journal"))).trials) == 2


def test_table_rows_put_baselines_first_beside_the_paper():
    records = [
        {"generator": g, "test_acc": a, "acc_per_param": p}
        for g, a, p in [("dp", 80.0, 5.0), ("dp", 82.0, 4.0), ("cifarnet", 79.0, 5.5), ("er", 81.0, 4.5)]
    ]
    table = with_paper(table_rows(records), "cifar10")
    assert list(table["model"]) == ["cifarnet", "dp", "er"]
    dp = table[table["model"] == "dp"].iloc[0]
    assert (dp["trials"], dp["mean_acc"], dp["best_acc"], dp["best_acc_per_param"]) == (2, 81.0, 82.0, 5.0)
    assert dp["paper_best_acc"] == 82.47
