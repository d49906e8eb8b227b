"""A trained trial's files, by name: `trial=<study>:<number>`, `trial=<number>` (of
`search.study_name`'s study) or `trial=<MLflow run id>`.

Every trained search trial keeps its architecture (`ARCH_FILE`, node-link JSON) and its
state_dict (`hw.runtime.weights.STATE_DICT_FILE`) in its artifacts folder and logs both
to its MLflow run. `resolve_trial` finds them there; where the folder is gone (another
machine, a cleaned checkout) it downloads them from MLflow's artifact store back into
`search.artifacts_dir/<study>/trial-<number>`. task=analyze, train and deploy then use
them as their `arch` / weights.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nas.checks import require

ARCH_FILE = "architecture.json"
RUN_ID = re.compile(r"[0-9a-f]{32}")
SHAPE_KEYS = ("input_size", "in_channels", "num_classes")


@dataclass(frozen=True)
class FoundTrial:
    arch_path: Path
    weights_path: Path | None  # None: the trial saved no state_dict (trained before they were kept)
    study: str
    number: int
    run_id: str | None

    @property
    def label(self) -> str:
        return f"{self.study}:{self.number}"

    def to_json(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "number": self.number,
            "mlflow_run_id": self.run_id,
            "arch_path": str(self.arch_path),
            "weights": None if self.weights_path is None else str(self.weights_path),
        }


def resolve_trial(spec: str, cfg: Any, weights: bool = True) -> FoundTrial:
    """The files of the trial `spec` names; `weights`: its state_dict is required.

    Raises ValueError (one line) for an unknown study, trial or run, a trial that did not
    complete, files found nowhere, or a trial built for other data than `cfg.data`.
    """
    from hw.runtime.weights import STATE_DICT_FILE  # not at the top: it loads torch, which task=analyze never needs

    spec = str(spec).strip()
    run_id: str | None
    folder: Path | None = None
    if RUN_ID.fullmatch(spec):
        study, number, run_id = _from_mlflow_run(spec, cfg)
    else:
        study, number = _parse(spec, cfg)
        study, number, run_id, folder = _from_optuna(study, number, cfg)
    found = _files(study, number, run_id, folder, cfg)
    require(
        not weights or found.weights_path is not None,
        f"trial={spec}: trial {found.label} has no {STATE_DICT_FILE} (trained before state_dicts were saved); "
        f"retrain its architecture: task=train arch={found.arch_path}",
    )
    _check_shapes(found, cfg)
    return found


def _parse(spec: str, cfg: Any) -> tuple[str, int]:
    study, _, number = spec.rpartition(":")
    require(
        number.isdigit(),
        f"trial={spec}: expected <study>:<number>, <number> (of search.study_name's study) "
        "or an MLflow run id (32 hex digits)",
    )
    study = study or cfg.search.study_name
    require(bool(study), f"trial={spec}: name its study, trial=<study>:{number}, or set search.study_name")
    return study, int(number)


def _from_optuna(study_name: str, number: int, cfg: Any) -> tuple[str, int, str | None, Path | None]:
    """(study, number, MLflow run id, artifacts folder) of a complete trial; a duplicate's twin."""
    import optuna
    from optuna.trial import TrialState

    from search.storage import create_storage, storage_exists

    url = cfg.search.storage
    require(storage_exists(url), f"trial={study_name}:{number}: no study storage at search.storage={url}")
    try:
        study = optuna.load_study(study_name=study_name, storage=create_storage(url, heartbeat_interval=None))
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(create_storage(url, heartbeat_interval=None))]
        raise ValueError(
            f"trial={study_name}:{number}: no study {study_name!r} in {url} (studies: {', '.join(names) or 'none'})"
        ) from None
    trials = study.get_trials(deepcopy=False)
    require(
        0 <= number < len(trials), f"trial={study_name}:{number}: study {study_name} has trials 0..{len(trials) - 1}"
    )
    trial = trials[number]
    reason = trial.user_attrs.get("fail_reason")
    require(
        trial.state == TrialState.COMPLETE,
        f"trial={study_name}:{number} is {trial.state.name}"
        f"{f' ({reason})' if reason else ''}: only complete trials have trained weights",
    )
    twin = trial.user_attrs.get("duplicate_of")
    if twin is not None:  # a re-proposed architecture: its files are the twin's
        return _from_optuna(study_name, int(twin), cfg)
    folder = trial.user_attrs.get("artifacts")
    return study_name, number, trial.user_attrs.get("mlflow_run_id"), Path(folder) if folder else None


def _client(cfg: Any) -> Any:
    from mlflow.tracking import MlflowClient

    from search.tracking import probe

    uri = cfg.search.mlflow.tracking_uri
    try:
        probe(uri)
    except OSError as err:
        raise ValueError(f"MLflow at search.mlflow.tracking_uri={uri} cannot be reached ({err})") from None
    return MlflowClient(uri)


def _from_mlflow_run(run_id: str, cfg: Any) -> tuple[str, int, str]:
    from mlflow.exceptions import MlflowException

    from search.tracking import PARENT_TAG, TRIAL_TAG

    try:
        run = _client(cfg).get_run(run_id)
    except MlflowException:
        raise ValueError(f"trial={run_id}: no MLflow run with this id at {cfg.search.mlflow.tracking_uri}") from None
    tags = run.data.tags
    require(
        TRIAL_TAG in tags and PARENT_TAG + ".parent" in tags,
        f"trial={run_id}: MLflow run {run_id} is not a search trial (no {TRIAL_TAG} tag)",
    )
    require(
        run.info.status == "FINISHED",
        f"trial={run_id}: MLflow run {run_id} is {run.info.status}: only finished trials have trained weights",
    )
    return tags[PARENT_TAG + ".parent"], int(tags[TRIAL_TAG]), run_id


def _files(study: str, number: int, run_id: str | None, folder: Path | None, cfg: Any) -> FoundTrial:
    """The trial's files from its artifacts folder, else downloaded from its MLflow run."""
    folder = folder if folder is not None and (folder / ARCH_FILE).is_file() else None
    if folder is None:
        folder = Path(cfg.search.artifacts_dir) / study / f"trial-{number}"
        if not (folder / ARCH_FILE).is_file():
            if run_id is None:
                raise ValueError(f"trial={study}:{number}: no files in {folder} and no MLflow run to fetch them from")
            _download(run_id, folder, cfg)
    from hw.runtime.weights import STATE_DICT_FILE

    weights = folder / STATE_DICT_FILE
    return FoundTrial(folder / ARCH_FILE, weights if weights.is_file() else None, study, number, run_id)


def _download(run_id: str, folder: Path, cfg: Any) -> None:
    from mlflow.exceptions import MlflowException

    from hw.runtime.weights import STATE_DICT_FILE

    client = _client(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        present = {Path(f.path).name for f in client.list_artifacts(run_id)}
        require(ARCH_FILE in present, f"MLflow run {run_id} has no {ARCH_FILE} artifact")
        for name in (ARCH_FILE, STATE_DICT_FILE):
            if name in present:
                client.download_artifacts(run_id, name, str(folder))
    except MlflowException as err:
        raise ValueError(f"cannot fetch the files of MLflow run {run_id}: {str(err).splitlines()[0]}") from None


def _check_shapes(found: FoundTrial, cfg: Any) -> None:
    """The trial's weights only fit the data shape it was built for."""
    built = json.loads(found.arch_path.read_text()).get("graph", {})
    wrong = [
        f"{key}={built[key]} (config: {getattr(cfg, key)})"
        for key in SHAPE_KEYS
        if key in built and built[key] != getattr(cfg, key)
    ]
    require(
        not wrong,
        f"trial {found.label} was built for {', '.join(wrong)}; run it with the data it was "
        "searched on (its data=, or its experiment=)",
    )


def with_trial(cfg: Any, weights: bool = True) -> tuple[Any, FoundTrial | None]:
    """`cfg` with `arch` set to the `trial`'s architecture file (unchanged without `trial`)."""
    if not cfg.trial:
        return cfg, None
    from dataclasses import replace

    found = resolve_trial(cfg.trial, cfg, weights=weights)
    return replace(cfg, arch=str(found.arch_path), trial=None), found
