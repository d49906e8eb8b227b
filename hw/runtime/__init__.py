"""Distributed inference of a partitioned architecture on torch.distributed (gloo, TCP).

- `plan`: the static per-rank schedule and messages (each cut tensor once per unit);
- `weights`: one state_dict file, each worker builds and loads only its vertices;
- `executor`: one rank's share of one inference (preallocated irecv, overlapping isend);
- `worker`: the torchrun-compatible process entry (`python -m hw.runtime.worker JOB`);
- `launch`: n workers on loopback (torch's elastic process layer), watched for failures,
  or in the units of an emulated testbed (`hw.testbed`);
- `emulate`: that testbed sized to the `hw` target (CPU caps, link), `deploy.testbed=emulated`;
- `costs`: per-vertex costs that place, order and predict a deployment (the schedule,
  HEFT and the prediction are hw/'s one model: `hw.schedule`, `hw.analyze`);
- `task`: `task=deploy` — measured latency next to the predicted one.

On real edge devices: copy the job file, the architecture file and the weights file to
every device (same paths), then on device r run
    MASTER_ADDR=<rank-0 address> MASTER_PORT=29500 RANK=r WORLD_SIZE=n \\
        GLOO_SOCKET_IFNAME=<interface> python -m hw.runtime.worker job.json
(or `torchrun --nnodes=n --node-rank=r ...`); rank 0 writes the result file.
"""
