"""Checks that run before a search touches its storage: bad input fails in one line.

A wrong space, baseline, sampler or data path would otherwise surface only inside
trials, as a string of FAIL trials written into the study. Here it is a ValueError
(or FileNotFoundError) naming the setting, before `create_storage` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from nas.checks import require
from nas.factory import baseline_architecture
from search.storage import is_sqlite

SPACE_ATTEMPTS = 3  # a valid space may give one unbuildable sample; a wrong one never builds


def check_workers(search: Any) -> None:
    """SQLite cannot be shared by several worker processes (run by SearchConfig's checks)."""
    require(
        search.n_workers == 1 or not is_sqlite(search.storage),
        f"search.storage={search.storage} cannot be shared by search.n_workers={search.n_workers} "
        "processes (SQLite locks); use search.storage=optuna.journal on one machine "
        "or postgresql://user@host/db on a cluster",
    )


def check_space(cfg: Any) -> None:
    """Sample architectures from `space` in a throwaway in-memory study."""
    from nas.limits import check_vertex_count
    from search.space import sample_architecture

    check_vertex_count(cfg.space.nodes, "space.nodes")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=cfg.search.seed))
    errors = []
    for _ in range(SPACE_ATTEMPTS):
        trial = study.ask()
        try:
            sample_architecture(trial, cfg)
            return
        except Exception as err:  # noqa: BLE001  (any failure: reported below in one line)
            errors.append(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
    raise ValueError(f"the search space builds no architecture ({errors[-1]}); check space.* and generator.*")


def check_baselines(cfg: Any) -> None:
    for name in cfg.search.baselines:
        try:
            baseline_architecture(name, cfg)
        except Exception as err:  # noqa: BLE001
            raise ValueError(
                f"search.baselines: {name!r} cannot be built ({err}); "
                "use names of baseline generators, e.g. [cifarnet, fb]"
            ) from None


def check_artifacts_dir(path: str) -> None:
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"search.artifacts_dir={path} cannot be created ({err.strerror or err}); pick a writable folder"
        ) from None


def load_data(cfg: Any) -> Any:
    """The data set, loaded once here (and downloaded if allowed) so a wrong path fails now."""
    from training.datamodules import create_datamodule

    datamodule = create_datamodule(cfg.data, cfg.train.batch_size, cfg.train.eval_batch_size)
    datamodule.setup()
    return datamodule


def preflight(cfg: Any) -> Any:
    """The checks that need more than the config values (the storage URL and the worker
    count were checked when the config was validated); returns the loaded datamodule
    for the trials to share."""
    from search.samplers import create_sampler

    create_sampler(cfg)
    check_space(cfg)
    check_baselines(cfg)
    check_artifacts_dir(cfg.search.artifacts_dir)
    return load_data(cfg)
