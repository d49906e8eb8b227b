"""Optuna storage from a URL or a path.

- `sqlite:///optuna.db` (default): one process (SQLite locks under several writers).
- `*.journal` path or `journal:///path`: Optuna's JournalStorage on a file, safe for
  several processes on one machine (`search.n_workers`).
- `postgresql://…`, `mysql://…`: RDB storage for clusters.
Both the journal and the RDB storages record heartbeats (`search.heartbeat_interval`),
so the trials of a killed worker are failed and retried (search/heartbeat.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from nas.checks import require
from search.heartbeat import HeartbeatJournalStorage, StaleTrialHandler
from search.journal import repair_tail

RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
URL_HINT = "use sqlite:///optuna.db, a path ending in .journal, or postgresql://user:pass@host/db"


def is_journal(url: str) -> bool:
    return url.startswith("journal://") or url.endswith(".journal")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def journal_path(url: str) -> Path:
    """`journal:///abs/path`, `journal://rel/path` or a plain path."""
    return Path(url.removeprefix("journal://"))


def check_url(url: str) -> None:
    """Refuse a malformed storage URL without opening (or creating) anything."""
    require(isinstance(url, str) and bool(url.strip()), f"search.storage is empty; {URL_HINT}")
    if is_journal(url):
        require(
            not journal_path(url).is_dir(),
            f"search.storage {url!r} is a directory; give a file path ending in .journal",
        )
        return
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    require(scheme in RDB_SCHEMES and "://" in url, f"search.storage {url!r} is not a storage URL; {URL_HINT}")


def storage_label(url: str) -> str:
    """Which storage a study lives in, as an MLflow tag: local files as absolute paths (the
    same relative URL from another directory is another file), servers without a password."""
    if is_journal(url):
        return f"journal://{journal_path(url).resolve()}"
    if is_sqlite(url):
        path = url.split(":///", 1)[-1]
        return url if path in ("", ":memory:") else f"sqlite:///{Path(path).resolve()}"
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def storage_exists(url: str) -> bool:
    """False when a local storage file (journal, SQLite) is missing; servers count as present."""
    if is_journal(url):
        return journal_path(url).is_file()
    if is_sqlite(url):
        path = url.split(":///", 1)[-1]
        return path in ("", ":memory:") or Path(path).is_file()
    return True


def open_existing(url: str) -> optuna.storages.BaseStorage:
    """The storage of a read-only task (report, sync): a mistyped path is an error, never a new file."""
    check_url(url)
    if not storage_exists(url):
        raise FileNotFoundError(f"search.storage {url} does not exist; point search.storage at the search's storage")
    return create_storage(url, heartbeat_interval=None)


def create_storage(
    url: str,
    heartbeat_interval: int | None = 30,
    max_retry: int = 2,
    on_stale: Callable[[optuna.Study, Any], None] | None = None,
) -> optuna.storages.BaseStorage:
    """Open (creating if needed) the storage at `url`; one-line ValueError when it cannot.

    `heartbeat_interval` (seconds, None/0 = off): trials beat while they run; one silent
    for twice as long is failed and `on_stale` (default: retry it up to `max_retry` times).
    """
    check_url(url)
    if heartbeat_interval and on_stale is None:
        on_stale = StaleTrialHandler(max_retry=max_retry)
    if is_journal(url):
        from optuna.storages.journal import JournalFileBackend

        path = journal_path(url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            repair_tail(path)
            backend = JournalFileBackend(str(path))
        except OSError as err:
            raise ValueError(
                f"cannot open search.storage {url!r}: {err.strerror or err}; pick a writable .journal path"
            ) from None
        if heartbeat_interval:
            return HeartbeatJournalStorage(backend, heartbeat_interval, stale_trial_callback=on_stale)
        return optuna.storages.JournalStorage(backend)
    kwargs: dict[str, Any] = {}
    if heartbeat_interval:
        kwargs = {
            "heartbeat_interval": heartbeat_interval,
            "grace_period": 2 * heartbeat_interval,
            "heartbeat_stale_trial_callback": on_stale,
        }
    try:
        with warnings.catch_warnings():  # heartbeats: "experimental" since Optuna 2.9, unchanged since
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, **kwargs)
    except Exception as err:  # noqa: BLE001  (driver-specific connection errors)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"cannot open search.storage {url!r}: {first}") from None
