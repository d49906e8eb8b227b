"""Study summaries, the Pareto front plot, and the paper's Tables V/VI (`task=report`)."""

from __future__ import annotations

import fnmatch
import json
import sys
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pandas as pd  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from search.objectives import Objective  # noqa: E402
from search.samplers import BASELINE_ATTR, DUPLICATE_ATTR  # noqa: E402

# Edge'23 Tables V (CIFAR-10) and VI (Flower-102): mean acc, best acc, mean acc/param, best acc/param.
PAPER_TABLES = {
    "cifar10": {
        "cifarnet": (80.70, 80.70, 5.38, 5.38),
        "er": (81.33, 81.81, 4.94, 5.03),
        "ba": (80.29, 81.66, 4.81, 4.92),
        "ws": (79.89, 81.45, 4.75, 4.84),
        "dp": (80.87, 82.47, 4.81, 4.90),
    },
    "flower102": {
        "resnet50": (87.80, 87.80, 3.43, 3.43),
        "er": (84.88, 86.20, 2.11, 2.43),
        "ba": (82.91, 84.62, 2.41, 2.91),
        "ws": (81.46, 86.57, 3.17, 3.10),
        "dp": (84.66, 86.69, 3.19, 3.28),
    },
}
# Table rows: baselines first, in this order (by generator: `lcp:splits=4` is an `lcp`), then the rest.
BASELINE_ORDER = ("cifarnet", "resnet50", "vgg11", "lcp", "fb")


def model_rank(model: str) -> int:
    """A table row's place: its generator's in BASELINE_ORDER, after them the sampled ones."""
    name = model.partition(":")[0]
    return BASELINE_ORDER.index(name) if name in BASELINE_ORDER else len(BASELINE_ORDER)


def unique_view(study: optuna.Study) -> optuna.Study:
    """An in-memory copy of the study without its duplicate trials (which repeat their
    twin's values), for the Pareto front and its plot."""
    view = optuna.create_study(study_name=study.study_name, directions=study.directions)
    view.add_trials([t for t in study.get_trials(deepcopy=False) if DUPLICATE_ATTR not in t.user_attrs])
    return view


def study_summary(study: optuna.Study, objectives: list[Objective]) -> dict:
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    pareto = unique_view(study).best_trials if complete else []
    summary = {
        "trials": len(trials),
        "complete": len(complete),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
        "duplicates": sum(DUPLICATE_ATTR in t.user_attrs for t in complete),  # reused a twin's results
        "infeasible": sum(any(c > 0 for c in t.constraints.values()) for t in complete),  # off the front
        "objectives": [o.name for o in objectives],
        "pareto": [
            {"number": t.number, "values": t.values, "params": t.params, "baseline": t.user_attrs.get(BASELINE_ATTR)}
            for t in pareto
        ],
    }
    for i, o in enumerate(objectives):
        values = [t.values[i] for t in complete]
        if values:
            summary[f"best_{o.name}"] = max(values) if o.direction == "maximize" else min(values)
    return summary


def axis_label(objective: Objective) -> str:
    """'accuracy (%), higher is better': the unit and the direction an axis reader needs."""
    better = "higher" if objective.direction == "maximize" else "lower"
    return f"{objective.name} ({objective.unit or 'unitless'}), {better} is better"


def plot_pareto(study: optuna.Study, objectives: list[Objective], path: Path) -> Path:
    """Optuna's Pareto-front plot of objective 2 (x: CS, latency…) against objective 1
    (y: accuracy): the front (over all objectives) apart from dominated and infeasible
    trials, each point labelled with its trial number, baselines starred and named."""
    from optuna.visualization.matplotlib import plot_pareto_front

    study = unique_view(study)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    with matplotlib.rc_context(), warnings.catch_warnings():  # Optuna sets its ggplot style globally
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if len(objectives) >= 2 and complete:
            ax = plot_pareto_front(
                study,
                targets=lambda t: (t.values[1], t.values[0]),
                target_names=[axis_label(o) for o in objectives[1::-1]],
            )
            violated = sorted({name for t in complete for name, c in t.constraints.items() if c > 0})
            labels = {
                "Best Trial": "Pareto front (non-dominated)",
                "Trial": "dominated",
                "Feasible Trial": "dominated",
                "Infeasible Trial": f"infeasible ({', '.join(violated)} constraint)",
            }
            for points in ax.collections:  # Optuna's three scatters, by its labels
                if points.get_label() == "Infeasible Trial":
                    points.set_facecolor("none")  # Optuna's light grey vanishes on the grey ggplot background
                    points.set_edgecolor("0.35")
                points.set_label(
                    labels.get(str(points.get_label()), points.get_label())
                )  # matplotlib types labels as object
            baselines = [t for t in complete if t.user_attrs.get(BASELINE_ATTR)]
            if baselines:
                ax.scatter(
                    [t.values[1] for t in baselines],
                    [t.values[0] for t in baselines],
                    marker="*",
                    s=300,
                    facecolors="none",
                    edgecolors="black",
                    zorder=3,
                    label="baseline",
                )  # its class shows inside
            for t in complete:
                name = t.user_attrs.get(BASELINE_ATTR)
                ax.annotate(
                    f"#{t.number}" + (f" {name}" if name else ""),
                    (t.values[1], t.values[0]),
                    textcoords="offset points",
                    xytext=(5, 4),
                    fontsize=8,
                )
            ax.legend(fontsize=8)
            more = f", front over all {len(objectives)} objectives" if len(objectives) > 2 else ""
            ax.set_title(f"{study.study_name}: {len(complete)} trials (#: trial number){more}", fontsize=10)
        else:
            ax = plt.subplots()[1]
            ax.text(
                0.5,
                0.5,
                "no complete trials" if not complete else "one objective: no front",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
            ax.set_title(study.study_name)
        fig = ax.get_figure(root=True)
        assert fig is not None  # ax was drawn on a figure above
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return path


def write_study_files(study: optuna.Study, objectives: list[Objective], summary: dict, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = out_dir / "trials.csv"
    attrs = ("number", "state", "values", "params", "user_attrs", "duration")
    study.trials_dataframe(attrs=attrs).to_csv(csv, index=False)
    summary_path = out_dir / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=1, default=str))
    return [plot_pareto(study, objectives, out_dir / "pareto_front.png"), csv, summary_path]


# ------------------------------------------------------------------ Tables V/VI


def table_rows(records: list[dict]) -> pd.DataFrame:
    """records (generator, test_acc, acc_per_param) → the paper's per-generator table."""
    frame = pd.DataFrame(records)
    if frame.empty:
        return pd.DataFrame(
            columns=["model", "trials", "mean_acc", "best_acc", "mean_acc_per_param", "best_acc_per_param"]
        )
    grouped = (
        frame.groupby("generator")
        .agg(
            trials=("test_acc", "size"),
            mean_acc=("test_acc", "mean"),
            best_acc=("test_acc", "max"),
            mean_acc_per_param=("acc_per_param", "mean"),
            best_acc_per_param=("acc_per_param", "max"),
        )
        .reset_index()
        .rename(columns={"generator": "model"})
    )
    grouped["order"] = grouped["model"].map(model_rank)
    return grouped.sort_values(["order", "model"]).drop(columns="order").reset_index(drop=True)


def with_paper(table: pd.DataFrame, dataset: str) -> pd.DataFrame:
    paper = PAPER_TABLES.get(dataset, {})
    columns = ("paper_mean_acc", "paper_best_acc", "paper_mean_acc_per_param", "paper_best_acc_per_param")
    for i, column in enumerate(columns):
        table[column] = table["model"].map(lambda m, i=i: paper.get(m, (np.nan,) * 4)[i])
    return table


def select_studies(available: list[str], patterns: list[str], where: str) -> list[str]:
    """The studies matching `patterns` (names or globs); a one-line error if one matches none."""
    chosen = []
    for pattern in patterns:
        matched = [name for name in available if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            raise ValueError(
                f"no study matching {pattern!r} in {where} (studies there: "
                f"{', '.join(sorted(available)) or 'none'}); set search.study_name or search.report_studies"
            )
        chosen += [name for name in matched if name not in chosen]
    return chosen


def records_from_storage(storage: Any, patterns: list[str], where: str = "the storage") -> tuple[list[dict], set[str]]:
    names = select_studies([s.study_name for s in optuna.get_all_study_summaries(storage)], patterns, where)
    records, datasets = [], set()
    for name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if "test_acc" in t.user_attrs and DUPLICATE_ATTR not in t.user_attrs:  # a duplicate is its twin again
                records.append(
                    {
                        "generator": t.user_attrs.get(BASELINE_ATTR)
                        or t.user_attrs.get("arch_generator")
                        or name.split("-")[0],
                        "test_acc": t.user_attrs["test_acc"],
                        "acc_per_param": t.user_attrs.get("acc_per_param", np.nan),
                    }
                )
        dataset = study.user_attrs.get("dataset")
        if dataset:
            datasets.add(dataset)
    return records, datasets


def records_from_mlflow(tracking_uri: str, experiment: str, patterns: list[str]) -> tuple[list[dict], set[str]]:
    from mlflow.tracking import MlflowClient

    from search.tracking import PARENT_TAG

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise ValueError(f"no MLflow experiment named {experiment!r} at {tracking_uri}")
    runs = client.search_runs([found.experiment_id], filter_string="attributes.status = 'FINISHED'", max_results=50000)
    studies = sorted({r.data.tags[f"{PARENT_TAG}.parent"] for r in runs if f"{PARENT_TAG}.parent" in r.data.tags})
    names = set(select_studies(studies, patterns, f"MLflow experiment {experiment!r}"))
    records, datasets = [], set()
    for run in runs:
        tags = run.data.tags
        if (
            "test_acc" in run.data.metrics
            and "mlflow.parentRunId" in tags
            and tags.get(f"{PARENT_TAG}.parent") in names
            and DUPLICATE_ATTR not in tags
        ):
            records.append(
                {
                    "generator": run.data.tags.get("baseline") or run.data.tags.get("arch_generator"),
                    "test_acc": run.data.metrics["test_acc"],
                    "acc_per_param": run.data.metrics.get("acc_per_param", np.nan),
                }
            )
            datasets.add(run.data.tags.get("dataset", ""))
    return records, datasets


def without_nan(table: pd.DataFrame) -> pd.DataFrame:
    """NaN (no figure) → None: an empty markdown cell, `null` in JSON (NaN is not JSON)."""
    return table.astype(object).where(table.notna(), None)


def to_markdown(table: pd.DataFrame) -> str:
    """GitHub-style table, two decimals, an empty cell where there is no figure (NaN)."""
    return without_nan(table).to_markdown(index=False, floatfmt=".2f", missingval="")


def report_task(cfg: Any, out_dir: Path) -> dict:
    """Table V/VI of one study (the one this config names), or of `search.report_studies` pooled."""
    from search.identity import study_name
    from search.storage import open_existing

    patterns = list(cfg.search.report_studies) or [study_name(cfg)]
    if cfg.search.report_from == "mlflow":
        records, datasets = records_from_mlflow(cfg.search.mlflow.tracking_uri, cfg.search.mlflow.experiment, patterns)
    else:
        storage = open_existing(cfg.search.storage)
        records, datasets = records_from_storage(storage, patterns, cfg.search.storage)
    if not records:
        raise ValueError("no completed trials with a test accuracy to report; run task=search first")
    dataset = next(iter(datasets)) if len(datasets) == 1 else cfg.data.name
    table = with_paper(table_rows(records), dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(table)
    (out_dir / "table.md").write_text(markdown + "\n")
    table.to_csv(out_dir / "table.csv", index=False)
    print(markdown, file=sys.stderr)  # for a person; stdout keeps only the JSON line
    result = {
        "dataset": dataset,
        "studies": patterns,
        "rows": without_nan(table).to_dict(orient="records"),
        "markdown": str(out_dir / "table.md"),
        "csv": str(out_dir / "table.csv"),
    }
    study = None
    if cfg.search.report_from == "optuna" and not cfg.search.report_studies:
        study = optuna.load_study(study_name=patterns[0], storage=storage)
    if study is not None and len(study.directions) > 1:  # one multi-objective study: its front and baselines
        from search.front import front_table, headline

        front = front_table(study, cfg, out_dir, measure=cfg.search.report_measure)
        (out_dir / "front.md").write_text(to_markdown(front) + "\n")
        print(to_markdown(front), file=sys.stderr)
        result["front"] = without_nan(front).to_dict(orient="records")
        if cfg.search.report_measure and (front["baseline"] != "").any():
            found = headline(front)
            print(found.text(), file=sys.stderr)
            result["headline"] = {**asdict(found), "speedup": found.speedup}
    return result


def hypervolume_2d(points: list[tuple[float, float]], reference: tuple[float, float]) -> float:
    """Area dominated by `points` (both coordinates minimised) up to `reference`."""
    inside = sorted((x, y) for x, y in points if x < reference[0] and y < reference[1])
    volume, best_y = 0.0, reference[1]
    for x, y in inside:  # sweep by x: each point below the staircase adds a horizontal slab
        if y < best_y:
            volume += (reference[0] - x) * (best_y - y)
            best_y = y
    return volume
