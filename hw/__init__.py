"""Hardware targets and latency prediction (docs/method.md §3).

- `config`: the `hw` config group schema (units, compute, memory, link, profile settings);
- `target`: a target's units, memory and link (`Link`: seconds, bytes/s); `backends`: device kinds (`local` measured,
  `scaled` remote devices) in a registry, each profiling and/or predicting a unit;
- `ops`: an architecture as the modules the builder executes, with nn-Meter features;
- `measure` / `profile` / `sampling`: robust timing, `task=profile` (ops timed inside
  sampled architectures, adaptive re-sampling, executor-overhead calibration);
- `predictor`: one regressor per op kind of `nas.ops` (its nn-Meter features) + overheads, saved as JSON + allow-listed skops;
- `schedule`: THE list scheduler (distributed latency, HEFT placement, the start order
  the deployed workers follow) and its one input/output rule;
- `memory`: weights + peak activations per unit, and the Optuna constraint value;
- `analyze`: the latency report (`LatencyReport`) of task=analyze, the search and
  task=deploy; `task`: `task=profile`;
- `runtime/`: real distributed execution (`task=deploy`).
"""
