"""Optuna study, objectives, MLflow tracking and the task functions run.py dispatches to."""
