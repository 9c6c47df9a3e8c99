"""Where a run trains (CPU or CUDA GPU, how many processes) and the provenance record of what
produced a new result (commit, dirty flag, versions, CPU, device, starting weights)."""
from __future__ import annotations

import os

from rlvr_core.infra.provenance import provenance
from .config import RunConfig
from .start_model import weights_hash

VERSION_PACKAGES = ("torch", "transformers", "trl", "accelerate", "datasets", "tokenizers")


def world_size() -> int:
    """Number of processes of the launch (torchrun / accelerate set ``WORLD_SIZE``), read without
    initialising a process group (the Trainer does that with the right backend)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def on_cpu(cfg: RunConfig) -> bool:
    """Whether ``cfg`` trains on the CPU: ``use_cpu`` when set, else only when torch sees no CUDA
    GPU (so a notebook opened on a Colab GPU uses it, and a laptop uses its CPU)."""
    if cfg.use_cpu is not None:
        return bool(cfg.use_cpu)
    import torch
    return not torch.cuda.is_available()


def device_info(use_cpu: bool) -> dict:
    """The device a run trains on, for its provenance: ``cpu``, or ``cuda`` with the GPU's name."""
    if use_cpu:
        return {"device": "cpu"}
    import torch
    return {"device": "cuda", "gpu": torch.cuda.get_device_name(0),
            "gpu_count": torch.cuda.device_count(), "cuda": torch.version.cuda}


def run_provenance(where, use_cpu: bool = True) -> dict:
    """What produced a new result: commit, dirty flag, versions, CPU, device, starting weights."""
    return {**provenance(VERSION_PACKAGES), **device_info(use_cpu), "weights": weights_hash(where)}
