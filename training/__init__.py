"""Training architectures on image data sets with Lightning.

- `training.fit.train_architecture(arch, cfg, ...)`: seeded training + test evaluation
  (what `task=train` and each search trial call);
- `training.module.ArchitectureClassifier`: the LightningModule (logs train_loss,
  val_loss, val_acc, test_acc; accuracy in %);
- `training.datamodule` / `training.datamodules`: the `data` group's registry
  (digits, fashion_mnist, cifar10, flower102, imagefolder);
- `training.schedules`: schedules torch lacks (the paper's lr + momentum switch);
- `training.config`: schemas of the `data` and `train` groups.
"""
