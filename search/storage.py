"""Optuna storage from a URL or a path.

- `sqlite:///optuna.db` (default): one process.
- `*.journal` path or `journal:///path`: Optuna's JournalStorage on a file, safe for
  several processes on one machine.
- `postgresql://…`, `mysql://…`: RDB storage for clusters.
RDB storages record heartbeats so trials of a killed worker are failed and retried.
"""
from __future__ import annotations

from pathlib import Path

import optuna
from optuna.storages import RetryFailedTrialCallback

RDB_SCHEMES = ("sqlite", "postgresql", "mysql")


def is_journal(url: str) -> bool:
    return url.startswith("journal://") or url.endswith(".journal")


def journal_path(url: str) -> Path:
    """`journal:///abs/path`, `journal://rel/path` or a plain path."""
    return Path(url.removeprefix("journal://"))


def create_storage(url: str, heartbeat_interval: int | None = 30, max_retry: int = 2) -> optuna.storages.BaseStorage:
    """Open (creating if needed) the storage at `url`; one-line ValueError when it cannot."""
    if is_journal(url):
        from optuna.storages.journal import JournalFileBackend

        path = journal_path(url)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in RDB_SCHEMES or "://" not in url:
        raise ValueError(f"search.storage {url!r} is not a storage URL; use sqlite:///optuna.db, "
                         "a path ending in .journal, or postgresql://user:pass@host/db")
    kwargs = {}
    if heartbeat_interval:
        kwargs = {"heartbeat_interval": heartbeat_interval, "grace_period": 2 * heartbeat_interval,
                  "failed_trial_callback": RetryFailedTrialCallback(max_retry=max_retry)}
    try:
        return optuna.storages.RDBStorage(url, **kwargs)
    except Exception as err:  # noqa: BLE001  (driver-specific connection errors)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"cannot open search.storage {url!r}: {first}") from None
