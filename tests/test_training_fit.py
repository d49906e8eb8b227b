"""Training: seeded determinism, learning, divergence, schedules, the train task."""

from __future__ import annotations

import json

import pytest
import torch
from hydra.utils import instantiate

from app.config import validate
from app.tasks import TASKS
from nas.arch import save, total_params
from nas.builder import build_model, count_parameters
from nas.factory import architecture_from_config, create_architecture
from tests.conftest import compose_config
from training.fit import accuracy_per_parameter, train_architecture
from training.module import DivergedError
from training.schedules import Milestones
from training.task import train_task

# Tiny architecture (conftest's TINY) on 40 % of digits at 16×16: about a second per epoch.
QUICK = [
    "data=digits",
    "data.input_size=16",
    "input_size=16",
    "data.fraction=0.4",
    "train.epochs=1",
    "train.eval_batch_size=256",
]


def quick_cfg(*overrides: str):
    return validate(compose_config(*QUICK, *overrides))


def test_two_seeded_one_epoch_runs_give_the_same_accuracy():
    cfg = quick_cfg()
    arch = architecture_from_config(cfg)
    first, second = train_architecture(arch, cfg), train_architecture(arch, cfg)
    for key in ("test_acc", "val_acc", "train_loss"):
        assert first[key] == second[key], key
    other = train_architecture(arch, quick_cfg("seed=1"))
    assert (other["train_loss"], other["test_acc"]) != (first["train_loss"], first["test_acc"])


def test_result_fields_and_accuracy_per_million_parameters():
    cfg = quick_cfg("train.epochs=3", "train.batch_size=16", "data.fraction=0.5")
    result = train_architecture(architecture_from_config(cfg), cfg)
    assert result["epochs"] == 3 and result["train_seconds"] > 0
    assert 0 <= result["test_acc"] <= 100 and 0 <= result["val_acc"] <= 100
    assert result["test_acc"] > 25  # 10 classes: chance is 10 %
    assert result["acc_per_param"] == pytest.approx(result["test_acc"] / (result["params"] / 1e6))
    assert result["params"] == count_parameters(build_model(architecture_from_config(cfg)))


def test_acc_per_param_unit_reproduces_the_papers_resnet50_row():
    # 87.80 % / 3.43 = 25.6 M: ResNet-50 as counted with ImageNet's 1000-class head (with a
    # 102-class head it has 23.7 M, which would give 3.70)
    resnet50 = create_architecture("resnet50", 0, input_size=224, num_classes=1000)
    assert accuracy_per_parameter(87.80, total_params(resnet50)) == pytest.approx(3.43, abs=0.02)


def test_nan_loss_raises_a_clear_error():
    cfg = quick_cfg("train=paper_cifar10", "train.epochs=1", "train.optimizer.lr=1e12")
    with pytest.raises(DivergedError, match="training diverged: .* loss is (nan|inf)"):
        train_architecture(architecture_from_config(cfg), cfg)


def test_a_trials_epochs_reach_its_run_at_step_epoch_from_zero():
    """The search's callback (search.callbacks.EpochMetrics): train_* and val_* of epoch e at step e."""
    from search.callbacks import EpochMetrics

    class Tracker:
        logged: list[tuple] = []

        def log_metrics(self, run_id, metrics, step=0):
            self.logged.append((run_id, step, metrics))

    cfg = quick_cfg("train.epochs=2")
    epochs = EpochMetrics(Tracker(), "run-1")
    result = train_architecture(architecture_from_config(cfg), cfg, callbacks=[epochs])
    assert [(run_id, step) for run_id, step, _ in Tracker.logged] == [("run-1", 0), ("run-1", 1)]
    keys = {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert all(set(metrics) == keys for _, _, metrics in Tracker.logged) and epochs.logged == keys
    last = Tracker.logged[-1][2]
    assert (last["val_acc"], last["train_loss"]) == pytest.approx((result["val_acc"], result["train_loss"]))
    assert Tracker.logged[0][2] != last


@pytest.mark.parametrize("batches", [0, 3])
def test_batchnorm_statistics_are_recalibrated_before_evaluation(batches):
    import lightning.pytorch as pl

    class Capture(pl.Callback):
        def on_test_end(self, trainer, pl_module):
            self.model, self.steps = pl_module.model, trainer.global_step

    capture = Capture()
    cfg = quick_cfg("train.epochs=2", "train.batch_size=64", f"train.bn_calibration_batches={batches}")
    train_architecture(architecture_from_config(cfg), cfg, callbacks=[capture])
    layers = [m for m in capture.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert layers and all(m.momentum == 0.1 for m in layers)
    # running averages over all training steps, or exact statistics of the last `batches`
    assert {int(m.num_batches_tracked) for m in layers} == {batches or capture.steps}
    assert capture.steps > 3


def test_architecture_for_other_data_is_refused():
    cfg = quick_cfg()
    arch = create_architecture(
        "dp", 8, 0, input_size=16, num_classes=7, in_channels=1, staging_params={"channels": 8, "max_channels": 32}
    )
    with pytest.raises(ValueError, match="num_classes=7 but data=digits has 10"):
        train_architecture(arch, cfg)


def test_flower102_recipe_switches_lr_and_momentum_at_epoch_100():
    cfg = validate(compose_config("train=paper_flower102"))
    assert cfg.train.epochs == 300
    optimizer = instantiate(cfg.train.optimizer)([torch.nn.Parameter(torch.zeros(1))])
    scheduler = instantiate(cfg.train.scheduler)(optimizer)
    group = optimizer.param_groups[0]
    for epoch in range(1, 101):
        assert (group["lr"], group["momentum"]) == (1e-3, 0.9), epoch
        optimizer.step()
        scheduler.step()
    assert (group["lr"], group["momentum"]) == (5e-4, 0.95)
    scheduler.step()
    assert (group["lr"], group["momentum"]) == (5e-4, 0.95)


def test_milestones_rejects_momentum_for_optimizers_without_it():
    adam = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(ValueError, match="no momentum"):
        Milestones(adam, [1], [0.1], momentum=[0.9])


def test_train_task_trains_a_sampled_or_a_saved_architecture(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside Hydra the task writes into the working directory
    cfg = quick_cfg()
    result = TASKS.get("train")(cfg)  # the registered wrapper, as run.py calls it
    assert {"test_acc", "params", "acc_per_param", "epochs", "train_seconds"} <= set(result)
    json.dumps(result)
    arch = create_architecture("cifarnet", 0, input_size=16, num_classes=10, in_channels=1)
    path = save(arch, tmp_path / "cifarnet.json")
    saved = train_task(quick_cfg(f"arch={path}"), tmp_path / "run")
    assert saved["generator"] == "cifarnet" and (tmp_path / "run" / "architecture.json").is_file()
    assert saved["params"] == total_params(architecture_from_config(quick_cfg(f"arch={path}")))


def test_channels_last_training_computes_the_same_function():
    from training.module import ArchitectureClassifier

    arch = create_architecture("dp", 10, 0, input_size=16, num_classes=10)
    torch.manual_seed(0)
    plain = build_model(arch).eval()
    torch.manual_seed(0)
    module = ArchitectureClassifier(build_model(arch).eval(), optimizer=torch.optim.SGD, channels_last=True)
    convs = [m for m in module.model.modules() if isinstance(m, torch.nn.Conv2d) and m.weight.dim() == 4]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(module(x), plain(x), rtol=1e-4, atol=1e-5)


def test_gpu_training_options_compose():
    from training.datamodules import create_datamodule

    cfg = quick_cfg(
        "train.precision=bf16-mixed",
        "train.compile=true",
        "data.num_workers=1",
        "data.pin_memory=true",
        "data.persistent_workers=false",
    )
    assert (cfg.train.precision, cfg.train.compile) == ("bf16-mixed", True)
    loader = create_datamodule(cfg.data, cfg.train.batch_size, cfg.train.eval_batch_size).train_dataloader()
    assert (loader.num_workers, loader.pin_memory, loader.persistent_workers) == (1, True, False)
    with pytest.raises(ValueError, match="train.precision"):
        quick_cfg("train.precision=fp8")


def test_bf16_mixed_precision_trains_a_tiny_step_on_cpu():
    cfg = quick_cfg("train.precision=bf16-mixed", "data.fraction=0.1", "train.bn_calibration_batches=1")
    result = train_architecture(architecture_from_config(cfg), cfg)
    assert result["epochs"] == 1 and torch.isfinite(torch.tensor(result["train_loss"]))
    assert 0 <= result["test_acc"] <= 100


def test_compiled_training_trains_the_same_model(monkeypatch):
    """`train.compile`: torch.compile captures the whole training forward (the plan loop, the fused
    merges and blocks); the "aot_eager" backend runs the captured graphs without inductor's C++
    compile (minutes on this CPU), so the capture, not the kernels, is what this checks."""
    compile_module, compiled = torch.nn.Module.compile, []

    def aot_eager(self, **kwargs):
        compiled.append(type(self).__name__)
        compile_module(self, backend="aot_eager")

    monkeypatch.setattr(torch.nn.Module, "compile", aot_eager)
    quick = ("data.fraction=0.1", "train.bn_calibration_batches=1")
    cfg = quick_cfg("train.compile=true", *quick)
    got = train_architecture(architecture_from_config(cfg), cfg)
    plain = train_architecture(architecture_from_config(cfg), quick_cfg(*quick))
    assert compiled == ["ArchitectureNet"]
    assert got["train_loss"] == pytest.approx(plain["train_loss"], rel=1e-4)
    assert got["test_acc"] == pytest.approx(plain["test_acc"], abs=1.0)
