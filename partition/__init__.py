"""Concurrency analysis (docs/method.md §2): costs → hypergraph → partitions → metrics.

Public API (what `hw/` and `search/` use), dataclasses keyed by the architecture's own
vertex ids (`to_json` str()s them, for files and the task's JSON line only):
- `partition.analyze.analyze(arch, units, cfg=None) -> Analysis`: every option's metrics
  (`options`) and the best one's (`cs, comm, imbalance, …`, `assignment`: vertex → unit,
  input/output included), plus `eta, critical_path, speedup_bound`. `Analyzer(cfg)`
  reuses partitioners across calls; `prepare(arch)` does the per-architecture part once.
- `partition.task.concurrency_report(arch, cfg, arch_path) -> ConcurrencyReport`: the
  `Analysis` on `hw.units` units, `partition.json` and plots, for task=analyze.
- `partition.partitioners.PARTITIONERS`: metis | heuristic | kahypar.
- `partition.survey.survey_task(cfg, out_dir, latency)`: task=survey (`latency`: the hardware model, `hw.analyze.TargetLatency`).
"""
