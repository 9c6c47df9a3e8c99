"""A run configuration as TRL's ``GRPOConfig`` fields, every one that matters set explicitly
(TRL's defaults changed across versions: loss_type, learning_rate, beta, scale_rewards ...)."""
from __future__ import annotations

from .config import RunConfig
from .device import on_cpu


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


def resolve_report_to(report_to):
    """``report_to`` as the user gave it (a name or a list of names: ``"wandb"``, ``["wandb",
    "tensorboard"]``, ...), except ``tensorboard`` without its package: dropped, said once
    (``none`` when nothing is left). No tracker is disabled behind the user's back."""
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    if "tensorboard" in names:
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None and importlib.util.find_spec("tensorboardX") is None:
            import warnings
            warnings.warn("report_to='tensorboard' needs the tensorboard package (pip install "
                          "tensorboard==2.21.0, in requirements.txt): logging to the JSONL file only",
                          stacklevel=2)
            names = [n for n in names if n != "tensorboard"]
            if not names:
                return "none"
            return names if not isinstance(report_to, str) else names[0]
    return report_to
