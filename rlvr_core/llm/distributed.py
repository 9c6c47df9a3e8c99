"""The few collective operations the callbacks need, and nothing when the run is one process
(so the same code runs under a plain ``python``, ``torchrun`` and ``accelerate launch``)."""
from __future__ import annotations

import torch


def process_group():
    """``torch.distributed`` when a process group of several processes is running, else None."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return dist
    return None


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over the processes of the launch (in place); the tensor itself when single-process."""
    dist = process_group()
    if dist is not None:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_gather_rows(t: torch.Tensor) -> list[torch.Tensor]:
    """Every process's 1-d tensor ``t`` (lengths may differ), in process (rank) order."""
    dist = process_group()
    if dist is None:
        return [t]
    n = torch.tensor([t.numel()], dtype=torch.long, device=t.device)
    sizes = [torch.zeros_like(n) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, n)
    sizes = [int(x) for x in sizes]
    padded = torch.zeros(max(sizes), dtype=t.dtype, device=t.device)
    padded[:t.numel()] = t
    parts = [torch.zeros_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return [part[:k] for part, k in zip(parts, sizes)]
