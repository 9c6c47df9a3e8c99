"""The starting model of a run: the local folder that holds it (built or converted on demand),
loading it, and the hash of its weights (recorded in each new result's provenance).

``models`` and ``smollm2`` import torch and transformers, so they are imported where they are used:
reading a run configuration or a stored result stays light.
"""
from __future__ import annotations

from pathlib import Path

from ..provenance import content_hash, file_hash
from .config import RunConfig

# Hash the starting weights only where it is cheap next to a run (SmolLM2 fp32: 0.5 GiB).
WEIGHTS_HASH_MAX_BYTES = 2 << 30


def resolve_model(cfg: RunConfig) -> Path | str:
    """The local folder holding the run's starting model (built/converted on demand)."""
    if cfg.model == "tiny":
        from .models import warm_start_tiny
        return warm_start_tiny(cfg.scratch_len, digits=cfg.digits, num_problems=cfg.num_problems,
                               target=cfg.warm_start_target, seed=cfg.warm_start_seed)
    if cfg.model == "smollm2":
        from .smollm2 import convert_smollm2
        return convert_smollm2()
    return cfg.model_path


def load_model(cfg: RunConfig, where):
    """(model, tokenizer) of the run's starting model at ``where`` (a folder, or a hub id with
    ``allow_hub``); float32 weights."""
    from .models import load_local_model

    if cfg.model == "path" and not Path(where).exists():   # hub id, only with allow_hub
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        # float32 weights always: with bf16=True the Trainer autocasts the forward pass to bf16
        # while the optimizer updates these fp32 master weights (small steps are not rounded away)
        model = AutoModelForCausalLM.from_pretrained(where, trust_remote_code=False, use_safetensors=True,
                                                     dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(where, trust_remote_code=False)
        return model, tok
    return load_local_model(where)


def weights_hash(where) -> str | None:
    """Hash of the ``*.safetensors`` files of a local model folder; None for a hub id or weights
    above ``WEIGHTS_HASH_MAX_BYTES`` (hashing them would cost more than it tells)."""
    folder = Path(str(where))
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    if not files or sum(f.stat().st_size for f in files) > WEIGHTS_HASH_MAX_BYTES:
        return None
    return content_hash({f.name: file_hash(f) for f in files})
