"""A run that completed no trial is an error (exit 2 with the reason), not an empty success.

The failure-rate guard needs `search.min_trials_for_failure_rate` trials before it can
stop a study, so a short run whose every trial failed used to end with exit 0.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import optuna
from optuna.trial import TrialState

from search.errors import SearchError


def require_completed(study: optuna.Study, since: datetime, search: Any) -> None:
    """Raise `SearchError` when `search.n_trials` > 0 and no trial completed since `since`."""
    ours = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete and t.datetime_complete >= since]
    if search.n_trials == 0 or any(t.state == TrialState.COMPLETE for t in ours):
        return
    failed = [t for t in ours if t.state == TrialState.FAIL]
    if failed:
        reason = failed[-1].user_attrs.get("fail_reason", "unknown")
        raise SearchError(
            f"study {study.study_name}: none of this run's {len(ours)} trials completed "
            f"({len(failed)} failed); last reason: {reason}; fix the set-up, then rerun"
        )
    raise SearchError(
        f"study {study.study_name}: no trial finished (search.timeout={search.timeout}); "
        "raise search.timeout or search.n_trials, then rerun"
    )
