"""MLflow tracking: one parent run per study, one nested run per trial.

Everything goes through `MlflowClient` so a study can resume its parent run and a
trial's run can be finished or failed from anywhere. If the tracking server cannot be
reached, the tracker warns once and turns into a no-op: trials still complete and keep
their metrics in the Optuna storage, and `task=sync` logs them later.

Runs are named `t<number>-<generator><vertices>` (the number first: the runs table cuts
long names); a trial's width profile and per-unit memory are one table artifact each;
an interrupted run ends KILLED, a failed one FAILED with its `fail_reason` tag.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import socket
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

PARENT_TAG = "cnas.study"
STORAGE_TAG = "cnas.storage"  # the study's storage (search.storage.storage_label): a study is (name, storage)
TRIAL_TAG = "cnas.trial"
RUN_RECORD = "mlflow_run.json"  # a trial's run params + tags, kept with its files for task=sync
INTERRUPTED = "interrupted (Ctrl-C)"  # fail_reason of a trial stopped by Ctrl-C; its run ends KILLED
# Per-vertex-level and per-unit results: one table artifact each (mlflow.log_table), not one metric per entry.
TABLES = {"width_profile": ("depth", "width"), "hw.memory_per_unit_mb": ("unit", "memory_mb")}
# Errors worth retrying: SQLite's writer lock held by another worker, a dropped connection.
TRANSIENT = ("database is locked", "database is busy", "connection reset", "server closed the connection")
RETRIES = 6  # attempts: backoff 0.1, 0.2 … 3.2 s, ~6 s in all
# search.mlflow settings → the environment variables MLflow's HTTP client reads at each request
HTTP_SETTINGS = {
    "request_retries": "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "request_timeout": "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "request_backoff": "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
}


def quoted(value: str) -> str:
    """`value` as a string literal of an MLflow filter, which has no escapes: the quote
    it does not contain (a study named o'brien is `"o'brien"`)."""
    for quote in ("'", '"'):
        if quote not in value:
            return f"{quote}{value}{quote}"
    raise ValueError(f"{value!r} holds both ' and \"; MLflow cannot search for it: rename it (search.study_name)")


def is_transient(err: BaseException) -> bool:
    text = str(err).lower()
    return any(marker in text for marker in TRANSIENT)


def is_unreachable(err: BaseException) -> bool:
    """Connection-type failures (server down, database file gone), as opposed to a call
    MLflow refuses (a bad value): only the first turn the tracker off."""
    if isinstance(err, (OSError, ConnectionError, TimeoutError)):
        return True
    text = f"{type(err).__name__}: {err}".lower()
    return any(
        marker in text
        for marker in (
            "operationalerror",
            "api request",
            "max retries",
            "connection",
            "unable to open database",
            "timed out",
        )
    )


def bound_requests(settings: Any) -> None:
    """Set MLflow's HTTP retries, timeout and backoff from `search.mlflow` (the config is
    the one place for them): a call to a server that is down fails in seconds."""
    for key, variable in HTTP_SETTINGS.items():
        os.environ[variable] = str(getattr(settings, key))


def probe(tracking_uri: str, timeout: float = 3.0) -> None:
    """Fail fast on an http(s) server nobody listens on (MLflow's client retries for minutes)."""
    from urllib.parse import urlparse

    url = urlparse(tracking_uri)
    if url.scheme not in ("http", "https"):
        return
    if not url.hostname:
        raise ValueError(f"no host in {tracking_uri!r}")
    port = url.port or (443 if url.scheme == "https" else 80)
    with socket.create_connection((url.hostname, port), timeout=timeout):
        pass


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out[prefix] = value


def flatten(mapping: dict) -> dict[str, Any]:
    """{"a": {"b": 1}} → {"a.b": 1} (MLflow params are flat)."""
    out: dict[str, Any] = {}
    _flat("", mapping, out)
    return out


def numeric_metrics(metrics: dict) -> dict[str, float]:
    """The finite scalar entries of a (nested) result dict, as MLflow metrics."""
    out = {}
    for key, value in flatten(metrics).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            out[key] = float(value)
    return out


def split_tables(metrics: dict) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(finite scalar metrics, TABLES entries as {key: value}) of a (nested) result dict."""
    scalars: dict[str, float] = {}
    tables: dict[str, dict[str, float]] = {}
    for key, value in numeric_metrics(metrics).items():
        table = next((name for name in TABLES if key.startswith(name + ".")), None)
        if table is None:
            scalars[key] = value
        else:
            tables.setdefault(table, {})[key.removeprefix(table + ".")] = value
    return scalars, tables


def table_frame(name: str, values: dict[str, float]) -> Any:
    import pandas as pd

    key, value = TABLES[name]
    rows = sorted((int(k) if k.isdigit() else k, v) for k, v in values.items())  # depths, unit indices
    return pd.DataFrame({key: [k for k, _ in rows], value: [v for _, v in rows]})


def arch_label(arch: Any, baseline: str | None = None) -> str:
    """`dp12` (generator and vertex count), or the baseline's name."""
    return baseline or f"{arch.graph.get('generator', 'arch')}{arch.graph.get('nodes', arch.number_of_nodes() - 2)}"


def trial_run_name(number: int, label: str | None = None, duplicate_of: int | None = None) -> str:
    """`t003-dp12`, `t005-dp12-dup-t002`: the number first, so the runs table never cuts it."""
    parts = [
        f"t{number:03d}",
        *([label] if label else []),
        *([f"dup-t{duplicate_of:03d}"] if duplicate_of is not None else []),
    ]
    return "-".join(parts)


def run_status(ok: bool, reason: str | None = None) -> str:
    """MLflow status of a finished trial's run: FINISHED, KILLED (Ctrl-C) or FAILED."""
    if ok:
        return "FINISHED"
    return "KILLED" if reason == INTERRUPTED else "FAILED"


@contextlib.contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """Serialise the first use of a local SQLite store between processes: MLflow creates
    and migrates its tables on first use, and two processes doing so at once make one
    fail (`duplicate column name: step`). Servers migrate once, themselves."""
    if not tracking_uri.startswith("sqlite:///"):
        yield
        return
    from filelock import FileLock

    path = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
    key = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    with FileLock(Path(tempfile.gettempdir()) / f"cnas-mlflow-{key}.lock", timeout=300):
        yield


def artifact_location(tracking_uri: str) -> str | None:
    """Artifacts of an embedded SQLite store go beside the database (`mlartifacts/`), not
    into the working directory's `mlruns/`; a tracking server chooses its own."""
    if tracking_uri.startswith("sqlite:///"):
        return (Path(tracking_uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    return None


class Tracker:
    """The study's parent run (found or created; `reopen` marks it RUNNING again, `params`
    are logged when it is created) and the trials' nested runs."""

    def __init__(
        self,
        tracking_uri: str,
        experiment: str,
        study_name: str,
        tags: dict[str, str],
        params: dict[str, Any] | None = None,
        reopen: bool = True,
        http: Any = None,
    ) -> None:
        """`http`: the `search.mlflow` config, whose request settings bound each call (bound_requests)."""
        if http is not None:
            bound_requests(http)
        self.study_name, self.tags, self.params, self.reopen = study_name, dict(tags), dict(params or {}), reopen
        self.available = True
        self.parent_id: str | None = None
        self._client: MlflowClient | None = None
        try:
            import mlflow
            from mlflow.tracking import MlflowClient

            probe(tracking_uri)
            mlflow.set_tracking_uri(tracking_uri)
            self.tracking_uri = tracking_uri
            with store_lock(tracking_uri):
                self._client = MlflowClient(tracking_uri)
                self.experiment_id = self._retrying(self._experiment, experiment)
                self.parent_id = self._retrying(self._parent_run)
        except Exception as err:  # noqa: BLE001  (any failure to reach MLflow)
            self._unavailable(err)

    # -------------------------------------------------------------- plumbing
    @property
    def client(self) -> MlflowClient:
        """The MLflow client: every use is behind a run id or `available`, both set only once it exists."""
        assert self._client is not None, "MLflow client used while MLflow is unavailable"
        return self._client

    def _unavailable(self, err: BaseException) -> None:
        if self.available:
            warnings.warn(
                f"MLflow unavailable ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
                "trials continue and are kept in the Optuna storage; run task=sync later",
                RuntimeWarning,
                stacklevel=3,
            )
        self.available = False

    @staticmethod
    def _retrying(fn: Callable, *args, **kwargs) -> Any:
        """`fn(...)`, retried while the store is briefly locked by another worker."""
        for attempt in range(RETRIES):
            try:
                return fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001
                if attempt == RETRIES - 1 or not is_transient(err):
                    raise
                log.debug("MLflow busy (%s); retrying", err)
                time.sleep(0.1 * 2**attempt)

    def _call(self, fn: Callable, *args, **kwargs) -> Any:
        if not self.available:
            return None
        try:
            return self._retrying(fn, *args, **kwargs)
        except Exception as err:  # noqa: BLE001
            if is_unreachable(err):
                self._unavailable(err)
            else:  # one refused call (a bad value): warn, keep tracking the rest
                warnings.warn(
                    f"MLflow refused {getattr(fn, '__name__', 'a call')} "
                    f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return None

    def _experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found:
            return found.experiment_id
        try:
            # the UI then opens on its training-runs view, not the GenAI overview
            return self.client.create_experiment(
                name,
                artifact_location=artifact_location(self.tracking_uri),
                tags={"mlflow.experimentKind": "custom_model_development"},
            )
        except Exception:  # noqa: BLE001  (another worker created it first)
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def _parents(self) -> list:
        """The parent runs of this study name in this storage (one with the same name in
        another storage is another study); runs from before the storage tag count as ours."""
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{PARENT_TAG}` = {quoted(self.study_name)}",
            order_by=["attributes.start_time ASC"],
            max_results=100,
        )
        storage = self.tags.get(STORAGE_TAG)
        return [r for r in runs if r.data.tags.get(STORAGE_TAG, storage) == storage]

    def _parent_run(self) -> str:
        """The study's one parent run: resumed if it exists, else created.

        Workers started at the same moment may both create one; each then keeps the
        oldest and deletes its own duplicate, so all of them nest under the same run.
        """
        runs = self._parents()
        if runs:
            if self.reopen:
                self.client.update_run(runs[0].info.run_id, status="RUNNING")
            return runs[0].info.run_id
        mine = self.client.create_run(
            self.experiment_id, run_name=self.study_name, tags={PARENT_TAG: self.study_name, **self.tags}
        ).info.run_id
        oldest = min(self._parents(), key=lambda r: (r.info.start_time, r.info.run_id)).info.run_id
        if oldest != mine:
            self.client.delete_run(mine)
        else:
            self.log_params(mine, self.params)
        return oldest

    # -------------------------------------------------------------- trials
    def trial_tags(self, number: int, tags: dict[str, str]) -> dict[str, str]:
        return {
            "mlflow.parentRunId": self.parent_id or "",
            TRIAL_TAG: str(number),
            PARENT_TAG + ".parent": self.study_name,
            **self.tags,
            **tags,
        }

    def start_trial(self, number: int, tags: dict[str, str]) -> str | None:
        def create() -> str:
            run = self.client.create_run(
                self.experiment_id, run_name=trial_run_name(number), tags=self.trial_tags(number, tags)
            )
            return run.info.run_id

        return self._call(create)

    def describe_trial(self, run_id: str | None, name: str, params: dict, tags: dict[str, Any]) -> None:
        """The run's readable name, its params and tags, once the architecture is known."""
        if run_id:
            self._call(self.client.update_run, run_id, name=name)
            self.log_params(run_id, params, tags)

    def log_params(self, run_id: str | None, params: dict, tags: dict[str, Any] | None = None) -> None:
        from mlflow.entities import Param, RunTag

        if run_id:
            items = [Param(k, str(v)[:6000]) for k, v in flatten(params).items()]
            labels = [RunTag(k, str(v)[:5000]) for k, v in (tags or {}).items()]
            for i in range(0, max(len(items), 1), 100):  # MLflow takes 100 params per batch
                self._call(self.client.log_batch, run_id, params=items[i : i + 100], tags=labels if i == 0 else [])

    def log_metrics(self, run_id: str | None, metrics: dict, step: int = 0) -> None:
        from mlflow.entities import Metric

        if run_id:
            now = int(time.time() * 1000)
            items = [Metric(k, v, now, step) for k, v in numeric_metrics(metrics).items()]
            for i in range(0, len(items), 500):
                self._call(self.client.log_batch, run_id, metrics=items[i : i + 500])

    def log_artifacts(self, run_id: str | None, paths: Iterable[Path | str]) -> None:
        for path in paths:
            if run_id and Path(path).exists():
                self._call(self.client.log_artifact, run_id, str(path))

    def log_tables(self, run_id: str | None, tables: dict[str, dict[str, float]]) -> None:
        for name, values in tables.items():
            if run_id and values:
                self._call(self.client.log_table, run_id, table_frame(name, values), f"{name}.json")

    def log_results(
        self,
        run_id: str | None,
        scalars: dict[str, float],
        tables: dict[str, dict[str, float]],
        files: Iterable[Path | str] = (),
        model: Any = None,
        input_example: Any = None,
    ) -> None:
        """A trial's final metrics, tables, files and (optionally) trained model."""
        self.log_metrics(run_id, scalars)
        self.log_tables(run_id, tables)
        self.log_artifacts(run_id, files)
        if model is not None:
            self.log_model(run_id, model, input_example)

    def set_tags(self, run_id: str | None, tags: dict[str, Any]) -> None:
        from mlflow.entities import RunTag

        if run_id and tags:
            self._call(self.client.log_batch, run_id, tags=[RunTag(k, str(v)[:5000]) for k, v in tags.items()])

    def log_model(self, run_id: str | None, model: Any, input_example: Any) -> None:
        """The trained model via `mlflow.pytorch`, with a signature inferred from an example."""
        if not run_id or not self.available:
            return

        def log() -> None:
            import mlflow
            import torch
            from mlflow.models import infer_signature

            model.eval()
            with torch.no_grad():
                output = model(torch.as_tensor(input_example)).numpy()
            signature = infer_signature(input_example, output)
            # Pickled on purpose (pt2 exports of these DAG executors cannot be loaded back);
            # MLflow's warning that loading it runs code stays: architecture.json +
            # weights.pt (a state_dict) is the safe way to reload a trial (search/trials.py).
            # Named requirements: MLflow's inference imports the model in a fresh
            # interpreter, 20-30 s per trial (the quick-start trial trains in ~70 s).
            with mlflow.start_run(run_id=run_id, nested=True):
                mlflow.pytorch.log_model(
                    model,
                    name="model",
                    signature=signature,
                    input_example=input_example,
                    serialization_format="pickle",
                    pip_requirements=mlflow.pytorch.get_default_pip_requirements(),
                )

        self._call(log)

    def end_trial(
        self, run_id: str | None, status: str, reason: str | None = None, end_time: int | None = None
    ) -> None:
        """End the trial's run with `status` (FINISHED, FAILED, KILLED; see run_status)."""
        if not run_id:
            return
        if reason:
            self.set_tags(run_id, {"fail_reason": reason})
        self._call(self.client.set_terminated, run_id, status, end_time=end_time)

    def end_study(self, summary: dict, artifacts: Iterable[Path | str]) -> None:
        """Summary metrics and study files onto the parent run (end it with end_parent)."""
        self.log_metrics(self.parent_id, {k: v for k, v in summary.items() if k != "pareto"})
        self.log_artifacts(self.parent_id, artifacts)

    def end_parent(self, status: str, end_time: int | None = None) -> None:
        """Close the parent run: FINISHED, FAILED (stopped by failures) or KILLED (Ctrl-C).
        Left open, it stays RUNNING while other workers of the study are busy."""
        if self.parent_id:
            self._call(self.client.set_terminated, self.parent_id, status, end_time=end_time)
