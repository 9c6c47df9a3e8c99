"""Offline models: a tiny Qwen2-style transformer built from a config with the character
tokenizer, and its supervised warm start (cached under ``.cache/llm``)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from rlvr_core.infra.provenance import LLM_CACHE_DIR, atomic_directory, content_hash
from rlvr_core.infra.threads import torch_threads
from rlvr_core.infra.arguments import check_int, check_positive, check_probability, check_seed
from .task import ScratchpadSum
from .tokenizer import build_char_tokenizer, load_char_tokenizer, save_char_tokenizer

CACHE_DIR = LLM_CACHE_DIR



def tiny_config(vocab_size: int, *, hidden_size: int = 64, num_layers: int = 2, num_heads: int = 4,
                intermediate_size: int = 256, max_positions: int = 128, eos_token_id: int = 1,
                pad_token_id: int = 0):
    """A Qwen2 config of ~10^5 parameters (width 64, 2 layers by default)."""
    from transformers import Qwen2Config

    check_int("vocab_size", vocab_size, minimum=2)
    check_int("hidden_size", hidden_size, minimum=8)
    check_int("num_layers", num_layers, minimum=1)
    check_int("num_heads", num_heads, minimum=1)
    if hidden_size % num_heads:
        raise ValueError(f"num_heads={num_heads} is invalid: expected a divisor of hidden_size={hidden_size}")
    return Qwen2Config(vocab_size=vocab_size, hidden_size=hidden_size,
                       intermediate_size=intermediate_size, num_hidden_layers=num_layers,
                       num_attention_heads=num_heads, num_key_value_heads=num_heads,
                       max_position_embeddings=max_positions, tie_word_embeddings=True,
                       rope_theta=10000.0, eos_token_id=eos_token_id, pad_token_id=pad_token_id,
                       bos_token_id=None, use_cache=True, attention_dropout=0.0,
                       torch_dtype="float32")


def build_tiny_model(seed: int = 0, **config_kwargs):
    """A freshly initialised tiny model and its character tokenizer (float32)."""
    from transformers import Qwen2ForCausalLM

    tok = build_char_tokenizer()
    cfg = tiny_config(len(tok), eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      **config_kwargs)
    torch.manual_seed(check_seed("seed", seed))
    model = Qwen2ForCausalLM(cfg).float()
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return model, tok


def _encode_batch(task: ScratchpadSum, tok, pairs, rng):
    """Prompt+response token ids (right-padded) and a mask of the response positions."""
    seqs, resp_masks = [], []
    for a, b in pairs:
        p = tok(task.prompt(a, b), add_special_tokens=False).input_ids
        r = tok(task.sample_response(a, b, rng), add_special_tokens=False).input_ids + [tok.eos_token_id]
        seqs.append(p + r)
        resp_masks.append([0] * len(p) + [1] * len(r))
    n = max(map(len, seqs))
    ids = torch.full((len(seqs), n), tok.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    rmask = torch.zeros((len(seqs), n), dtype=torch.float32)
    for i, (s, m) in enumerate(zip(seqs, resp_masks)):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
        rmask[i, :len(s)] = torch.tensor(m, dtype=torch.float32)
    return ids, mask, rmask


@torch.no_grad()
def sample(model, tok, prompts: list[str], max_new_tokens: int, temperature: float = 1.0,
           seed: int = 0):
    """One sampled completion per prompt, as TRL's generation makes them (pure temperature
    sampling): the tokenized prompts, the completion ids and TRL's completion mask (every token up
    to and including the first <eos>), and the decoded texts."""
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    out = model.generate(**enc, do_sample=True, temperature=temperature, top_k=0, top_p=1.0,
                         max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id,
                         eos_token_id=tok.eos_token_id)
    completion = out[:, enc.input_ids.shape[1]:]
    is_eos = completion == tok.eos_token_id
    first_eos = torch.where(is_eos.any(1), is_eos.int().argmax(1), completion.shape[1])
    mask = (torch.arange(completion.shape[1])[None] <= first_eos[:, None]).long()
    texts = tok.batch_decode(completion * mask + tok.pad_token_id * (1 - mask), skip_special_tokens=True)
    return enc, completion, mask, texts


def sample_completions(model, tok, prompts: list[str], max_new_tokens: int,
                       temperature: float = 1.0, seed: int = 0) -> list[str]:
    """Sampled completions (decoded, special tokens dropped), as TRL's generation sees them."""
    return sample(model, tok, prompts, max_new_tokens, temperature, seed)[3]


def success_rate(model, task, tok, *, samples_per_problem: int = 2, temperature: float = 1.0,
                 seed: int = 0, max_new_tokens: int | None = None) -> float:
    """Sampled pass@1 over every problem of the task (temperature 1 unless told)."""
    pairs = list(task.problems()) * samples_per_problem
    prompts = [task.prompt(a, b) for a, b in pairs]
    max_new = max_new_tokens or task.max_response_length + 4
    was_training = model.training
    model.eval()
    comps = sample_completions(model, tok, prompts, max_new, temperature, seed)
    model.train(was_training)
    return float(np.mean([task.verify(p, c) for p, c in zip(prompts, comps)]))


WARM_START_THREADS = 1



def warm_start_final_samples(num_problems: int) -> int:
    """Number of completions behind a warm start's ``success_rate_final``."""
    return max(4, 512 // num_problems) * num_problems


def warm_start_tiny(scratch_len: int = 4, *, digits: int = 1, num_problems: int = 16,
                    target: float = 0.3,
                    seed: int = 0, lr: float = 3e-3, batch_size: int = 128,
                    max_steps: int = 3000, check_every: int = 10, optim: str = "adamw",
                    cache_dir=None,
                    refresh: bool = False, verbose: bool = False) -> Path:
    """Supervised warm start of the tiny model on ``ScratchpadSum(scratch_len, digits)``, stopped
    at the first check whose sampled success rate reaches ``target`` (so it lands in 20–60% for
    ``target`` = 0.3). Saved under ``.cache/llm/tiny-warm-<key>/`` (model, tokenizer,
    ``warm_start.json``) and reused; returns the folder. Trained with one intra-op thread
    whatever the process uses, so the weights (and the GRPO runs keyed on this configuration)
    do not depend on the thread count."""
    check_int("scratch_len", scratch_len, minimum=0, maximum=256)
    check_probability("target", target)
    check_seed("seed", seed)
    check_positive("lr", lr)
    check_int("batch_size", batch_size, minimum=1)
    check_int("max_steps", max_steps, minimum=1)
    check_int("check_every", check_every, minimum=1)
    if optim not in ("adamw", "sgd"):
        raise ValueError(f"optim={optim!r} is invalid: expected 'adamw' or 'sgd'")
    params = {"optim": optim, "scratch_len": scratch_len, "digits": digits,
              "num_problems": num_problems, "target": target, "seed": seed,
              "lr": lr, "batch_size": batch_size, "max_steps": max_steps,
              "check_every": check_every, "model": "tiny-qwen2-w64-l2", "format": 1}
    folder = Path(cache_dir or CACHE_DIR) / f"tiny-warm-{content_hash(params, n=12)}"
    if (folder / "warm_start.json").exists() and not refresh:
        return folder
    with torch_threads(WARM_START_THREADS):
        info, model, tok = _train_warm_start(params, scratch_len, digits, num_problems, target, seed,
                                             lr, batch_size, max_steps, check_every, optim, verbose)
    with atomic_directory(folder) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        save_char_tokenizer(tok, tmp)
        (tmp / "warm_start.json").write_text(json.dumps(info, indent=1))
    return folder


def _train_warm_start(params, scratch_len, digits, num_problems, target, seed, lr, batch_size,
                      max_steps, check_every, optim, verbose):
    task = ScratchpadSum(scratch_len, digits, num_problems)
    model, tok = build_tiny_model(seed)
    rng = np.random.default_rng(seed)
    pairs = task.problems()
    opt = (torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0) if optim == "adamw"
           else torch.optim.SGD(model.parameters(), lr=lr))
    t0 = time.perf_counter()
    history, reached = [], None
    model.train()
    for step in range(1, max_steps + 1):
        batch = [pairs[i] for i in rng.integers(len(pairs), size=batch_size)]
        ids, mask, rmask = _encode_batch(task, tok, batch, rng)
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
        logp = torch.log_softmax(logits.float(), -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        m = rmask[:, 1:]
        loss = -(logp * m).sum() / m.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % check_every == 0:
            rate = success_rate(model, task, tok, samples_per_problem=max(1, 128 // len(pairs)),
                                seed=seed + step)
            history.append((step, float(loss.detach()), rate))
            if verbose:
                print(f"warm start step {step}: loss {float(loss):.3f}, success {rate:.2f}")
            if rate >= target:
                reached = step
                break
    n_final = warm_start_final_samples(len(pairs))
    final = success_rate(model, task, tok, samples_per_problem=n_final // len(pairs),
                         seed=seed + 10**6)
    info = {"params": params, "task": task.name, "steps": step, "reached_target": reached is not None,
            "success_rate_check": history[-1][2] if history else None,
            "success_rate_final": final, "final_samples": n_final,
            "torch_threads": torch.get_num_threads(), "seconds": time.perf_counter() - t0,
            "num_parameters": sum(p.numel() for p in model.parameters()),
            "history": history}
    return info, model, tok


def load_local_model(path):
    """Model and tokenizer from a local folder (never the hub; ``trust_remote_code`` off)."""
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

    path = Path(path)
    if not (path / "config.json").exists():
        raise ValueError(f"model_path={str(path)!r} is invalid: expected a local model folder "
                         "with config.json (run the warm start or the SmolLM2 conversion first)")
    model = AutoModelForCausalLM.from_pretrained(str(path), trust_remote_code=False, use_safetensors=True,
                                                 local_files_only=True, dtype=torch.float32)
    if (path / "warm_start.json").exists():
        tok = load_char_tokenizer(path)
    else:
        tok = PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)
    return model, tok
