"""What can be checked of `pareto_front.png` without looking: axis labels with units,
a legend entry per kind of trial, every point labelled with its trial number."""

import matplotlib.pyplot as plt
import optuna
import pytest

from search import report
from search.objectives import OBJECTIVES, Objective
from tests.conftest import compose_config


@pytest.fixture
def figures(monkeypatch):
    """The figures `plot_pareto` would close, kept open for inspection."""
    kept, close = [], plt.close
    monkeypatch.setattr(plt, "close", kept.append)
    yield kept
    for fig in kept:
        close(fig)


def study_with(points):
    """(accuracy, cs, baseline or None, memory constraint) per trial."""
    study = optuna.create_study(study_name="tiny", directions=["maximize", "minimize"])
    for acc, cs, baseline, memory in points:
        study.add_trial(
            optuna.create_trial(
                values=[acc, cs],
                user_attrs={"baseline": baseline} if baseline else {},
                system_attrs={"constraints:memory": memory},
            )
        )
    return study


def test_objectives_carry_the_units_the_axes_print():
    search = compose_config().search
    units = {name: OBJECTIVES.create(name, search=search).unit for name in ("accuracy", "cs", "latency")}
    assert units == {"accuracy": "%", "cs": "", "latency": "ms"}
    assert report.axis_label(OBJECTIVES.create("latency", search=search)) == "latency (ms), lower is better"


def test_pareto_plot_labels_units_trials_front_dominated_infeasible_and_baselines(figures, tmp_path):
    # 0: baseline on the front, 1: front, 2: best of all but over memory, 3: dominated by 0 and 1
    study = study_with(
        [(80.0, 2.0, "cifarnet", -0.5), (70.0, 1.0, None, -0.1), (90.0, 0.5, None, 1.0), (60.0, 4.0, None, -0.5)]
    )
    objectives = [Objective("accuracy", "maximize", "test_acc", "%"), Objective("cs", "minimize", "cs")]
    report.plot_pareto(study, objectives, tmp_path / "front.png")
    (fig,) = figures
    ax = fig.axes[0]
    assert ax.get_xlabel() == "cs (unitless), lower is better"
    assert ax.get_ylabel() == "accuracy (%), higher is better"
    legend = {text.get_text() for text in ax.get_legend().get_texts()}
    assert legend == {"Pareto front (non-dominated)", "dominated", "infeasible (memory constraint)", "baseline"}
    by_label = {c.get_label(): c.get_offsets().tolist() for c in ax.collections}
    assert sorted(by_label["Pareto front (non-dominated)"]) == [[1.0, 70.0], [2.0, 80.0]]
    assert by_label["dominated"] == [[4.0, 60.0]] and by_label["infeasible (memory constraint)"] == [[0.5, 90.0]]
    assert by_label["baseline"] == [[2.0, 80.0]]
    annotations = {a.get_text(): a.xy for a in ax.texts}
    assert annotations == {"#0 cifarnet": (2.0, 80.0), "#1": (1.0, 70.0), "#2": (0.5, 90.0), "#3": (4.0, 60.0)}
    assert (tmp_path / "front.png").stat().st_size > 10_000


def test_pareto_plot_without_constraints_or_baselines_has_no_such_legend_entries(figures, tmp_path):
    study = optuna.create_study(directions=["maximize", "minimize"])
    for acc, ms in ((80.0, 3.0), (70.0, 4.0)):
        study.add_trial(optuna.create_trial(values=[acc, ms]))
    objectives = [Objective("accuracy", "maximize", "val_acc", "%"), Objective("latency", "minimize", "x", "ms")]
    report.plot_pareto(study, objectives, tmp_path / "front.png")
    ax = figures[0].axes[0]
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"Pareto front (non-dominated)", "dominated"}
    assert ax.get_xlabel() == "latency (ms), lower is better" and {a.get_text() for a in ax.texts} == {"#0", "#1"}
