"""Hardware targets and latency prediction (SPEC §3).

- `config`: the `hw` config group schema (units, compute, memory, link, profile settings);
- `target`: a target's units and links; `backends`: device kinds (`local` measured,
  `scaled` remote devices) in a registry, each profiling and/or predicting a unit;
- `measure` / `profile` / `sampling`: robust timing, `task=profile` (ops timed inside
  sampled architectures, adaptive re-sampling, executor-overhead calibration);
- `predictor`: one regressor per op kind of `nas.ops` (its nn-Meter features) + overheads, saved as JSON + allow-listed skops;
- `schedule`: list-scheduling of the DAG on a target's units (distributed latency);
- `memory`: weights + peak activations per unit, and the Optuna constraint value;
- `analyze`: the latency report `task=analyze` adds; `task`: `task=profile`;
- `runtime/`: real distributed execution (`task=deploy`).
"""
