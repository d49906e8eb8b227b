"""Per-trial randomness derived from the study and the trial number.

A sampler seeded once with `search.seed` draws the same numbers in every process: a
resumed study repeats its first trials and two workers on one study train the same
architecture at once. Trial numbers are unique within a study (the storage assigns
them), so a seed derived from (search.seed, study name, trial number) differs between
trials, workers and resumptions, and a study run again from its config draws the same.
"""

from __future__ import annotations

import hashlib

SEED_BITS = 31  # numpy and torch accept seeds below 2**32; arch seeds use 0..2**31-1


def trial_seed(base: int, study: str, number: int, purpose: str) -> int:
    """A stable seed in 0..2**31-1 for `purpose` ("arch", "sampler") of trial `number`."""
    digest = hashlib.blake2b(f"{base}\x1f{study}\x1f{number}\x1f{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 2**SEED_BITS
