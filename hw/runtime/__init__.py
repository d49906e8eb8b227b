"""Distributed inference of a partitioned architecture on torch.distributed (gloo, TCP).

- `plan`: the static per-rank schedule and messages (each cut tensor once per unit);
- `weights`: one state_dict file, each worker builds and loads only its vertices;
- `executor`: one rank's share of one inference (preallocated irecv, overlapping isend);
- `worker`: the torchrun-compatible process entry (`python -m hw.runtime.worker JOB`);
- `launch`: n workers on loopback, watched for failures;
- `task`: `task=deploy` — measured latency next to the predicted one.
"""
