"""task=report: the storage's complete trials → the paper's table, as markdown and CSV."""

from __future__ import annotations

import json

import optuna
import pytest

from search.report import report_task
from search.storage import create_storage
from tests.conftest import compose_config


def test_report_writes_a_markdown_table_beside_the_papers_figures(tmp_path, capsys):
    storage = str(tmp_path / "s.journal")
    study = optuna.create_study(study_name="s", storage=create_storage(storage, heartbeat_interval=None))
    study.set_user_attr("dataset", "cifar10")
    for generator, acc in (("dp", 80.0), ("dp", 82.5), ("mine", 70.125)):
        study.add_trial(
            optuna.create_trial(
                value=acc, user_attrs={"arch_generator": generator, "test_acc": acc, "acc_per_param": acc / 20}
            )
        )
    result = report_task(compose_config(f"search.storage={storage}", "search.study_name=s"), tmp_path / "report")
    markdown = (tmp_path / "report" / "table.md").read_text()
    assert capsys.readouterr().err.startswith(markdown)  # on stderr, for a person: the paper table, then the front
    header, rule, dp, mine = ([c.strip() for c in line.strip("|").split("|")] for line in markdown.splitlines())
    assert header[:4] == ["model", "trials", "mean_acc", "best_acc"] and len(header) == 10
    assert set("".join(rule)) <= set(":-")
    assert dp == ["dp", "2", "81.25", "82.50", "4.06", "4.12", "80.87", "82.47", "4.81", "4.90"]  # paper: DP, CIFAR-10
    assert mine[:2] == ["mine", "1"] and mine[6:] == [""] * 4  # no paper figure: empty cells, not "nan"
    assert result["dataset"] == "cifar10" and [r["model"] for r in result["rows"]] == ["dp", "mine"]


def add_study(storage, name: str, epochs: int, accuracies: list[float], duplicate: bool = False) -> None:
    study = optuna.create_study(study_name=name, storage=create_storage(storage, heartbeat_interval=None))
    study.set_user_attr("dataset", "digits")
    for acc in accuracies:
        attrs = {"arch_generator": "dp", "test_acc": acc, "acc_per_param": acc / 10, "epochs": epochs}
        study.add_trial(optuna.create_trial(value=acc, user_attrs=attrs))
    if duplicate:  # a reused result: its twin's values again
        study.add_trial(
            optuna.create_trial(value=accuracies[0], user_attrs={**attrs, "test_acc": accuracies[0], "duplicate_of": 0})
        )


def test_report_takes_the_configs_one_study_unless_told_to_pool(tmp_path):
    storage = str(tmp_path / "s.journal")
    add_study(storage, "dp-probabilistic-digits-local", 6, [90.0, 94.0], duplicate=True)
    add_study(storage, "dp-1epoch", 1, [30.0])
    one = report_task(compose_config(f"search.storage={storage}"), tmp_path / "one")  # the config's default name
    assert one["studies"] == ["dp-probabilistic-digits-local"]
    [row] = one["rows"]
    assert (row["model"], row["trials"], row["mean_acc"]) == ("dp", 2, 92.0)  # 1-epoch study and duplicate left out
    pooled = report_task(compose_config(f"search.storage={storage}", "search.report_studies=['*']"), tmp_path / "all")
    assert pooled["rows"][0]["trials"] == 3
    with pytest.raises(ValueError, match="no study matching 'nope' in .* \\(studies there: dp-1epoch, dp-prob"):
        report_task(compose_config(f"search.storage={storage}", "search.report_studies=[nope]"), tmp_path / "none")


def test_report_json_has_null_where_the_paper_has_no_figure(tmp_path):
    storage = str(tmp_path / "s.journal")
    add_study(storage, "s", 6, [90.0])
    result = report_task(compose_config(f"search.storage={storage}", "search.study_name=s"), tmp_path / "r")
    text = json.dumps(result, allow_nan=False)  # NaN is not JSON: raises if one is left
    assert json.loads(text)["rows"][0]["paper_mean_acc"] is None  # digits: no paper figure


def test_the_pareto_plot_leaves_matplotlibs_style_alone(tmp_path):
    import matplotlib

    from search.objectives import Objective
    from search.report import plot_pareto

    study = optuna.create_study(directions=["maximize", "minimize"])
    for i, (acc, cs) in enumerate([(80.0, 2.0), (70.0, 1.0), (90.0, 3.0), (60.0, 4.0)]):
        study.add_trial(
            optuna.create_trial(
                values=[acc, cs],
                user_attrs={"baseline": "cifarnet"} if i == 0 else {},
                system_attrs={"constraints:memory": 1.0 if i == 2 else -0.5},
            )
        )
    style = dict(matplotlib.rcParams)
    objectives = [Objective("accuracy", "maximize", "test_acc"), Objective("cs", "minimize", "cs")]
    path = plot_pareto(study, objectives, tmp_path / "front.png")
    assert path.stat().st_size > 10_000 and dict(matplotlib.rcParams) == style  # Optuna's plot sets ggplot


def test_baselines_with_parameters_sort_as_their_generator():
    from search.report import table_rows

    records = [
        {"generator": name, "test_acc": 80.0, "acc_per_param": 1.0}
        for name in ("dp", "fb", "lcp:splits=4", "cifarnet", "lcp:splits=2")
    ]
    assert list(table_rows(records)["model"]) == ["cifarnet", "lcp:splits=2", "lcp:splits=4", "fb", "dp"]
