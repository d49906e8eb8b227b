"""Repair a journal whose last record was cut (full disk, power cut) before writing to it.

Optuna's reader skips an unfinished last line, so the next append would glue a new
record onto it and make every later open fail. `repair_tail` moves the unfinished
bytes to `<name>.journal.tail-<timestamp>` and truncates to the last complete line;
a broken line before the last one is not a cut tail and is refused (one line).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from optuna.storages.journal import JournalFileSymlinkLock

log = logging.getLogger(__name__)


def repair_tail(path: Path) -> Path | None:
    """Make `path` end with a complete record; returns the backup of what was cut, if any.

    Runs under the journal's own lock, so a record another worker is writing is never
    mistaken for a cut one.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return None
    lock = JournalFileSymlinkLock(str(path))
    lock.acquire()
    try:
        return _repair(path)
    finally:
        lock.release()


def _repair(path: Path) -> Path | None:
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    for number, line in enumerate(lines[:-1], start=1):
        if not _complete(line):
            raise ValueError(
                f"search.storage {path} is corrupt at line {number} of {len(lines)} (not a journal "
                f"record); restore it from a backup, or keep the trials before it with "
                f"`head -n {number - 1} {path} > fixed.journal`"
            )
    if _complete(lines[-1]):
        return None
    keep = len(data) - len(lines[-1])
    backup = path.with_name(f"{path.name}.tail-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}")
    backup.write_bytes(lines[-1])
    with open(path, "r+b") as f:
        f.truncate(keep)
        os.fsync(f.fileno())
    log.warning(
        "search.storage %s ended in an unfinished record (%d bytes, e.g. a full disk or a power cut): "
        "moved it to %s and kept the %d complete records",
        path,
        len(lines[-1]),
        backup,
        len(lines) - 1,
    )
    return backup


def _complete(line: bytes) -> bool:
    if not line.endswith(b"\n"):
        return False
    try:
        json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return False
    return True
