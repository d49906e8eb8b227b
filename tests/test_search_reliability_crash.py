"""A worker SIGKILLed during training: after an immediate restart (the lost trial's heartbeat
still fresh) its trial is failed once the grace period has passed (its MLflow run too),
retried and reported; the study finishes with every trial it asked for, and nothing
completed before the kill is lost."""

from __future__ import annotations

import json

import pytest
from optuna.trial import TrialState

from tests.reliability_support import nested_runs, popen_run_py, run_py, tiny_overrides, trials
from tests.test_search_reliability_workers import training, wait_until

N_TRIALS = 4


@pytest.mark.slow
def test_sigkill_during_training_then_restart(tmp_path):
    storage, tracking = str(tmp_path / "optuna.journal"), f"sqlite:///{tmp_path}/mlflow.db"
    args = tiny_overrides(tmp_path, "search.heartbeat_interval=3", "train.epochs=25")
    process = popen_run_py(*args, f"search.n_trials={N_TRIALS}", f"hydra.run.dir={tmp_path}/run1")

    def two_complete_and_one_training() -> bool:
        import os

        if not os.path.exists(storage):
            return False
        done = [t for t in trials(storage) if t.state == TrialState.COMPLETE]
        return len(done) >= 2 and training(tmp_path, 1)

    wait_until(two_complete_and_one_training, process)
    process.kill()  # SIGKILL: no handler runs, the trial is left RUNNING
    process.communicate()
    before = trials(storage)
    killed = next(t for t in before if t.state == TrialState.RUNNING)
    complete = {t.number: (t.values, t.params) for t in before if t.state == TrialState.COMPLETE}
    parents, runs = nested_runs(tracking)
    assert {r.info.run_id: r.info.status for r in runs}[killed.user_attrs["mlflow_run_id"]] == "RUNNING"

    remaining = N_TRIALS - len(complete)
    restart = run_py(*args, f"search.n_trials={remaining}", f"hydra.run.dir={tmp_path}/run2")
    assert restart.returncode == 0, restart.stderr[-3000:]
    result = json.loads(restart.stdout.strip().splitlines()[-1])

    after = trials(storage)
    assert sum(t.state == TrialState.COMPLETE for t in after) == N_TRIALS
    assert not [t for t in after if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert {t.number: (t.values, t.params) for t in after if t.number in complete} == complete  # nothing lost
    assert after[killed.number].state == TrialState.FAIL
    retry = next(t for t in after if t.system_attrs.get("failed_trial") == killed.number)
    assert retry.state == TrialState.COMPLETE and retry.params == killed.params
    assert result["lost_trials"] == [{"trial": killed.number, "retry": retry.number}]
    assert result["failed"] == 1 and result["running_elsewhere"] == []
    parents, runs = nested_runs(tracking)
    status = {r.info.run_id: r for r in runs}
    lost = status[killed.user_attrs["mlflow_run_id"]]
    assert lost.info.status == "FAILED" and lost.data.tags["fail_reason"].startswith("worker lost: no heartbeat")
    assert sorted(r.info.status for r in runs) == ["FAILED"] + ["FINISHED"] * N_TRIALS
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
