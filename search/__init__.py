"""Optuna study, search space, objectives, samplers and MLflow tracking (`task=search`, `report`, `sync`)."""
