"""Concurrency analysis (SPEC §2): costs → hypergraph → partitions → metrics.

Public API (what `hw/` and `search/` use):
- `partition.analyze.analyze(arch, units, cfg=None) -> dict`: every option's metrics
  (`options`) and the best one's `cs, comm, comm_norm, imbalance, entropy, eta,
  critical_path, speedup_bound, partitioner, epsilon` and `assignment` (vertex → unit,
  input/output included). `Analyzer(cfg)` reuses partitioners across calls;
  `prepare(arch)` computes the per-architecture part once for several unit counts.
- `partition.task.concurrency_report(arch, cfg, arch_path)`: the analyze task's figures,
  `partition.json` and plots; `partition.task.read_partition(path)` loads an assignment.
- `partition.partitioners.PARTITIONERS`: metis | heuristic | kahypar.
- `partition.survey.survey_task(cfg, out_dir)`: task=survey.
"""
