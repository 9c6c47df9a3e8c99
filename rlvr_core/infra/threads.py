"""How many intra-op threads torch uses: the project's one thread policy.

* Bandit and token engines (small batched tensors) run on one thread: intra-op threading only adds
  overhead there, and much more on a loaded machine (``few_threads``).
* The tiny model's warm start always trains on one thread, so its weights do not depend on the
  machine's core count (float reductions split over threads add in another order).
* GRPO training uses ``RLVR_TORCH_THREADS`` threads (default 1): on a shared 2-core machine two
  threads per process were measured ~25x slower than one (0.11 s vs 3.1 s per warm-start step)
  because of oversubscription (``training_threads``).
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import torch

SMALL_BATCH = 1 << 18  # below this many tensor entries the engines run on one thread


@contextmanager
def torch_threads(n: int):
    """Run a block with ``n`` intra-op threads; the previous count is restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def few_threads(numel: int = 0):
    """One thread for a batch of fewer than ``SMALL_BATCH`` entries (the default 0 always means
    one thread); larger batches keep the current setting."""
    if numel < SMALL_BATCH:
        with torch_threads(1):
            yield
    else:
        yield


def training_threads() -> int:
    """Set the process's thread count for training from ``RLVR_TORCH_THREADS`` (default 1)."""
    n = int(os.environ.get("RLVR_TORCH_THREADS", "1"))
    if n >= 1 and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return torch.get_num_threads()
