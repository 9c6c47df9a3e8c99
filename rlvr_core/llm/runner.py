"""GRPO on TRL's ``GRPOTrainer``: one validated run configuration (:mod:`.config`) -> one
``GRPOConfig`` with every field that matters set explicitly (:mod:`.grpo_config`) -> per-step
metrics (TRL's and the Gradient-Gap callback's) -> a small JSON result with provenance (run config,
the GRPOConfig fields, package versions, commit, dirty flag, CPU info, hash of the starting weights),
kept in the result store (:mod:`.store`). Files written before the dirty flag, CPU info and weights
hash were recorded simply lack those keys.

``callback``, ``evaluation`` and ``threads`` import TRL or torch, so :func:`run_grpo` imports them
when it runs: reading stored results stays light.
"""
from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

from .config import RunConfig
from .device import on_cpu, run_provenance, world_size
from .grpo_config import grpo_config_fields
from .precision import cpu_bf16_support
from .start_model import load_model, resolve_model
from .store import read_or_compute, result_path
from .task import VerifierReward
from .trl_patch import score_completions_only


def run_grpo(cfg: RunConfig, *, output_dir: str | None = None, progress: bool = True,
             callbacks=()) -> dict:
    """Train one GRPO run and return ``{"config", "grpo_config", "provenance", "metrics",
    "warm_start"}`` (metrics: one dict per optimizer step); ``progress`` shows a step bar;
    ``callbacks``: extra ``TrainerCallback`` objects (e.g. the learning-rate range test)."""
    num_processes = world_size()
    cfg.validate(num_processes)
    from trl import GRPOConfig

    from .callback import GapGRPOTrainer, GradientGapCallback
    from .run_callbacks import FinalModelCallback, MetricsJsonlCallback, StepProgressCallback
    from rlvr_core.infra.memory import keep_freed_memory
    from rlvr_core.infra.threads import training_threads
    from .evaluation import EvalSetCallback, MathEvalCallback, evaluation_prompts

    kept_memory = False
    if on_cpu(cfg):
        training_threads()
        kept_memory = keep_freed_memory()   # no page faults re-paid every step
    lm_head_positions = "completion" if score_completions_only() else "all"
    where = resolve_model(cfg)
    model, tok = load_model(cfg, where)
    precision = {"weights": "float32", "autocast": "bfloat16" if cfg.bf16 else None}
    if cfg.bf16 and on_cpu(cfg):
        precision["cpu_bf16"] = cpu_bf16_support()
    task = cfg.make_task(chat=getattr(tok, "chat_template", None) is not None)
    reward = VerifierReward(task)
    tmp = output_dir or cfg.output_dir or tempfile.mkdtemp(prefix="grpo-")
    fields = grpo_config_fields(cfg, tmp)
    args = GRPOConfig(**fields)
    trainer = GapGRPOTrainer(model=model, reward_funcs=[reward], args=args,
                             train_dataset=task.dataset(cfg.dataset_size, cfg.seed),
                             processing_class=tok)
    num_processes = trainer.accelerator.num_processes
    packed = trainer.use_packed_generation(cfg.packed_generation)
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if progress:
        trainer.add_callback(StepProgressCallback(f"{cfg.model} {cfg.loss_type} lr={cfg.learning_rate:g}"))
    if cfg.gap_callback:
        GradientGapCallback(reward, cfg.num_generations, cfg.temperature, mode=cfg.gap_mode,
                            proj_dim=cfg.gap_proj_dim, proj_seed=cfg.seed).attach(trainer)
    evaluation = None
    at_steps = ((0,) if cfg.eval_start else ()) + (cfg.max_steps // 2,)
    if cfg.eval_problems and cfg.task == "math":
        # held out: GSM8K's test split (hub) or a local file (MATH-500), pass@1 and pass@k
        heldout = cfg.make_eval_task(chat=task.chat)
        evaluation = MathEvalCallback(heldout, tok, cfg.eval_problems, cfg.eval_samples, cfg.pass_k(),
                                      cfg.max_completion_length, temperature=cfg.temperature,
                                      at_steps=at_steps, seed=cfg.seed)
        trainer.add_callback(evaluation)
    elif cfg.eval_problems:
        # the evaluation problems are drawn with a seed of their own: the same set for every run
        evaluation = EvalSetCallback(task, tok, evaluation_prompts(task, tok, cfg.eval_problems, seed=1),
                                     cfg.eval_samples, cfg.max_completion_length,
                                     temperature=cfg.temperature,
                                     at_steps=at_steps, gap=cfg.eval_gap, seed=cfg.seed)
        trainer.add_callback(evaluation)
    for cb in callbacks:
        trainer.add_callback(cb)
    final = None
    if cfg.output_dir and cfg.save_final_model:
        # the trained model in HF format in output_dir (checkpoints stay in output_dir/checkpoint-N)
        final = FinalModelCallback(cfg.output_dir, tok)
        trainer.add_callback(final)
    # after the gap callback, so each JSONL line holds the step's gap/* metrics too
    trainer.add_callback(MetricsJsonlCallback(cfg.metrics_jsonl or Path(tmp) / "metrics.jsonl"))
    resume = cfg.resume_from_checkpoint
    if resume == "auto":
        resume = last_complete_checkpoint(tmp)
    elif resume is True:
        resume = last_complete_checkpoint(tmp)
        if resume is None:
            raise ValueError(f"resume_from_checkpoint=True is invalid: no checkpoint in {tmp}")
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume or None)
    seconds = time.perf_counter() - t0
    metrics = [_clean(h) for h in trainer.state.log_history if "reward" in h]
    warm = None
    if (Path(str(where)) / "warm_start.json").exists():
        warm = json.loads((Path(where) / "warm_start.json").read_text())
        warm.pop("history", None)
    fields = {k: v for k, v in fields.items() if k != "output_dir"}
    return {"config": cfg.to_dict(), "key": cfg.key(), "grpo_config": fields,
            "metrics": metrics, "warm_start": warm,
            **({"eval": evaluation.records} if evaluation is not None else {}),
            "provenance": {**run_provenance(where, on_cpu(cfg)),
                           "num_processes": num_processes,
                           "resumed_from": resume or None,
                           "final_model": final.path if final is not None else None,
                           "is_main_process": trainer.accelerator.is_main_process,
                           "seconds": seconds,
                           "seconds_per_step": seconds / max(1, len(metrics)),
                           "lm_head_positions": lm_head_positions,
                           "precision": precision,
                           "kept_freed_memory": kept_memory,
                           "generation_kernel": "onednn-packed" if packed else "default",
                           "torch_threads": __import__("torch").get_num_threads()}}


def _clean(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        elif isinstance(v, float):
            v = float(f"{v:.6g}")
        out[k] = v
    return out


def last_complete_checkpoint(output_dir) -> str | None:
    """The highest ``checkpoint-N`` folder of ``output_dir`` whose ``trainer_state.json`` (written
    last) exists: a run killed while saving leaves an incomplete folder, which is skipped."""
    folder = Path(output_dir)
    found = []
    for d in folder.glob("checkpoint-*") if folder.is_dir() else []:
        tail = d.name.split("-", 1)[1]
        if tail.isdigit() and (d / "trainer_state.json").exists():
            found.append((int(tail), d))
    return str(max(found)[1]) if found else None


def run_or_load(cfg: RunConfig, *, refresh: bool = False, results_dir=None,
                progress: bool = True) -> dict:
    """The cached result of ``cfg`` from ``results/llm/<model>/<key>.json``, or train and store it
    (atomically, so an interrupted sweep resumes where it stopped). The key is the configuration
    alone: a code change does not retrain; ``refresh=True`` does."""
    cfg.validate()
    return read_or_compute(result_path(cfg, results_dir), lambda: run_grpo(cfg, progress=progress),
                           refresh=refresh)
