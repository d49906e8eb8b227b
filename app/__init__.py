"""The application: the root config and one module per task (`python run.py task=<name>`).

Each task module is a thin `(cfg) -> dict` over its package's task function, which it
imports only when the task runs (so `task=analyze` loads neither Optuna nor Lightning).
Importing `app` registers every task, the way timm's `models/__init__.py` imports every
model file; a new task is one module here plus its line below.
"""

from app import analyze, deploy, profile, report, search, survey, sync, train  # noqa: F401  (register the tasks)
from app.config import CONF_DIR, Config, compose, register_configs, validate  # noqa: F401  (the app's API)
from app.tasks import TASKS, USER_ERRORS, output_dir, register_task  # noqa: F401
