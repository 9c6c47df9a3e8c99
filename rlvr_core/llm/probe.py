"""The step-size checker on a language model: probe the starting model of a GRPO run.

``probe_run`` samples ``num_generations`` completions for a few of the run's prompts from the
run's starting model (the same model, task, temperature and completion length as the run), scores
them with the task's verifier, and hands their sequence log-probabilities to
``rlvr_core.checker.probe_step_size`` with the update direction that the run's ``loss_type``
defines. The predicted safe step is a learning rate for plain SGD without clipping (the setting of
the theory runs in notebook 07). Approximations, stated in the report: TRL divides by the
unbiased group std (ours: the population std, a factor sqrt((G-1)/G)), and DAPO/BNPO normalise by
the tokens of the whole batch (ours: per group).
"""
from __future__ import annotations

import torch

from ..checker import StepSizeReport, probe_step_size
from ..validation import check_int, check_seed
from .callback import sequence_log_probs
from .runner import RunConfig

LOSS_TO_ALGORITHM = {("grpo", "group"): "grpo", ("dr_grpo", "group"): "dr_grpo",
                     ("dapo", "group"): "dapo", ("bnpo", "group"): "dapo",
                     ("grpo", "none"): "grpo_no_std", ("dr_grpo", "none"): "dr_grpo"}


def _prompts(cfg: RunConfig, task, tok, num_prompts: int) -> list[str]:
    pairs = task.problems()[:num_prompts]
    if cfg.task == "scratchpad_sum":
        return [task.prompt(a, b) for a, b in pairs]
    return [tok.apply_chat_template([{"role": "user", "content": task.question(a, b)}],
                                    tokenize=False, add_generation_prompt=True) for a, b in pairs]


def probe_run(cfg: RunConfig, *, num_prompts: int = 8, seed: int = 0,
              learning_rate: float | None = None) -> StepSizeReport:
    """The checker's prediction for ``cfg`` at its starting model (see the module docstring)."""
    from .runner import _load, resolve_model

    cfg = cfg.validate()
    check_int("num_prompts", num_prompts, minimum=1)
    check_seed("seed", seed)
    key = (cfg.loss_type, cfg.scale_rewards)
    if key not in LOSS_TO_ALGORITHM:
        raise ValueError(f"loss_type, scale_rewards={key!r} is invalid: expected one of "
                         + ", ".join(map(repr, LOSS_TO_ALGORITHM)))
    model, tok = _load(cfg, resolve_model(cfg))
    task = cfg._task()
    prompts = _prompts(cfg, task, tok, num_prompts)
    G = cfg.num_generations
    enc = tok([p for p in prompts for _ in range(G)], return_tensors="pt", padding=True,
              add_special_tokens=False)
    torch.manual_seed(seed)
    model.eval()
    with torch.no_grad():
        out = model.generate(**enc, do_sample=True, temperature=cfg.temperature, top_k=0, top_p=1.0,
                             max_new_tokens=cfg.max_completion_length,
                             pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    completion = out[:, enc.input_ids.shape[1]:]
    is_eos = completion == tok.eos_token_id
    # as TRL: every token up to and including the first <eos>
    first_eos = torch.where(is_eos.any(1), is_eos.int().argmax(1), completion.shape[1])
    mask = (torch.arange(completion.shape[1])[None] <= first_eos[:, None]).long()
    mask[:, :] = mask * (torch.arange(completion.shape[1])[None] < completion.shape[1])
    texts = tok.batch_decode(completion * mask + tok.pad_token_id * (1 - mask), skip_special_tokens=True)
    rewards = torch.tensor([task.verify(prompts[i // G], t) for i, t in enumerate(texts)],
                           dtype=torch.float64).reshape(len(prompts), G)
    lengths = mask.sum(1).double().reshape(len(prompts), G).clamp_min(1)
    params = [p for p in model.parameters() if p.requires_grad]

    def log_probs():
        return sequence_log_probs(model, enc.input_ids, enc.attention_mask, completion, mask,
                                  cfg.temperature).reshape(len(prompts), G)

    report = probe_step_size(log_probs, params, rewards, lengths, algorithm=LOSS_TO_ALGORITHM[key],
                             max_length=cfg.max_completion_length, learning_rate=learning_rate)
    report.details["model"] = cfg.model
    report.details["loss_type"] = cfg.loss_type
    report.assumptions.append("TRL's unbiased group std and batch-level token normalisation are "
                              "approximated per group")
    return report
