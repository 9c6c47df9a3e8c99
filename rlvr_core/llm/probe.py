"""The step-size checker on a language model: probe the starting model of a GRPO run.

``probe_run`` samples ``num_generations`` completions for a few of the run's prompts from the
run's starting model (the same model, task, temperature and completion length as the run), scores
them with the task's verifier, and hands their sequence log-probabilities to
``rlvr_core.stepsize.checker.probe_step_size`` with the update direction that the run's ``loss_type``
defines. The predicted safe step is a learning rate for plain SGD without clipping (the setting of
the theory runs in notebooks 07-09). Approximations, stated in the report: TRL divides by the
unbiased group std (ours: the population std, a factor sqrt((G-1)/G)), and DAPO/BNPO normalise by
the tokens of the whole batch (ours: per group).
"""
from __future__ import annotations

import torch

from rlvr_core.stepsize.checker import StepSizeReport, probe_step_size, shifted_parameters, update_and_gap
from rlvr_core.stats.thresholds import first_failure
from rlvr_core.infra.arguments import check_grid, check_int, check_seed
from .callback import sequence_log_probs
from .config import RunConfig
from .models import sample
from .start_model import load_model, resolve_model
from .store import stored_result

LOSS_TO_ALGORITHM = {("grpo", "group"): "grpo", ("dr_grpo", "group"): "dr_grpo",
                     ("dapo", "group"): "dapo", ("bnpo", "group"): "dapo",
                     ("grpo", "none"): "grpo_no_std", ("dr_grpo", "none"): "dr_grpo"}


def _prompts(cfg: RunConfig, task, tok, num_prompts: int, offset: int = 0) -> list[str]:
    pairs = task.problems()
    pairs = pairs[offset:offset + num_prompts] if offset + num_prompts <= len(pairs) else pairs[:num_prompts]
    if cfg.task == "scratchpad_sum":
        return [task.prompt(a, b) for a, b in pairs]
    return [tok.apply_chat_template([{"role": "user", "content": task.question(a, b)}],
                                    tokenize=False, add_generation_prompt=True) for a, b in pairs]


def _probe_batch(cfg: RunConfig, num_prompts: int, seed: int, dtype=torch.float64):
    """The run's starting model (in ``dtype``), and G sampled completions for ``num_prompts`` prompts."""
    cfg = cfg.validate()
    check_int("num_prompts", num_prompts, minimum=1)
    check_seed("seed", seed)
    key = (cfg.loss_type, cfg.scale_rewards)
    if key not in LOSS_TO_ALGORITHM:
        raise ValueError(f"loss_type, scale_rewards={key!r} is invalid: expected one of "
                         + ", ".join(map(repr, LOSS_TO_ALGORITHM)))
    model, tok = load_model(cfg, resolve_model(cfg))
    model = model.to(dtype)
    model.eval()
    task = cfg.make_task()
    prompts = _prompts(cfg, task, tok, num_prompts)
    G = cfg.num_generations
    enc, completion, mask, rewards = _sample(cfg, model, tok, task, prompts, G, seed)
    batch = {"prompts": prompts, "enc": enc, "completion": completion, "mask": mask,
             "rewards": rewards, "lengths": mask.sum(1).double().reshape(len(prompts), G).clamp_min(1),
             "params": [p for p in model.parameters() if p.requires_grad],
             "algorithm": LOSS_TO_ALGORITHM[key]}

    def log_probs():
        return sequence_log_probs(model, enc.input_ids, enc.attention_mask, completion, mask,
                                  cfg.temperature).reshape(len(prompts), G)

    return model, tok, task, batch, log_probs


def _sample(cfg, model, tok, task, prompts, G, seed):
    """G completions per prompt (token ids, TRL's completion mask) and their verified rewards."""
    enc, completion, mask, texts = sample(model, tok, [p for p in prompts for _ in range(G)],
                                          cfg.max_completion_length, cfg.temperature, seed)
    rewards = torch.tensor([task.verify(prompts[i // G], t) for i, t in enumerate(texts)],
                           dtype=torch.float64).reshape(len(prompts), G)
    return enc, completion, mask, rewards


def probe_run(cfg: RunConfig, *, num_prompts: int = 16, seed: int = 0,
              learning_rate: float | None = None) -> StepSizeReport:
    """The checker's prediction for ``cfg`` at its starting model (see the module docstring)."""
    # finite differences of log-probs need float64 (float32 rounding is ~1e-7 of log pi)
    model, tok, task, b, log_probs = _probe_batch(cfg, num_prompts, seed, torch.float64)
    report = probe_step_size(log_probs, b["params"], b["rewards"], b["lengths"], algorithm=b["algorithm"],
                             max_length=cfg.max_completion_length, learning_rate=learning_rate)
    report.details["model"] = cfg.model
    report.details["loss_type"] = cfg.loss_type
    report.assumptions.append("TRL's unbiased group std and batch-level token normalisation are "
                              "approximated per group")
    return report


def one_step_line_search(cfg: RunConfig, learning_rates, *, num_prompts: int = 16, eval_samples: int = 32,
                         seed: int = 0) -> dict:
    """Success rate after ONE SGD step theta + lr * w from the run's starting model, for every
    learning rate: w is the update of a probe batch (the run's loss_type), and J is re-estimated
    with ``eval_samples`` fresh completions per prompt — on held-out problems when the task has
    enough of them — with the same sampling seed at every lr (common random numbers). Returns ``lrs``, ``J`` (after the step), ``J0`` and ``se`` (the
    binomial standard error of one estimate)."""
    lrs = check_grid("learning_rates", learning_rates, increasing=True)
    check_int("eval_samples", eval_samples, minimum=2)
    # no finite differences here: float32, the run's own precision (and half the memory)
    model, tok, task, b, log_probs = _probe_batch(cfg, num_prompts, seed, torch.float32)
    w, _, _ = update_and_gap(log_probs, b["params"], b["rewards"], b["lengths"], b["algorithm"],
                             cfg.max_completion_length)

    # Evaluate on other problems of the task when it has enough (SmolLM2's 100 sums), else on the
    # same ones (the tiny task's 16 training problems are its whole training distribution).
    eval_prompts = _prompts(cfg, task, tok, num_prompts, offset=num_prompts)

    def success() -> float:
        return float(_sample(cfg, model, tok, task, eval_prompts, eval_samples, seed + 1)[3].mean())

    J0, J = success(), []
    for lr in lrs:
        with shifted_parameters(b["params"], w, lr):
            J.append(success())
    n = num_prompts * eval_samples
    return {"lrs": lrs, "J": J, "J0": J0, "se": (max(J0 * (1 - J0), 1 / n) / n) ** 0.5,
            "probe_success": float(b["rewards"].mean())}


def threshold_from_line_search(search: dict):
    """From a line search: a rate passes while its one-step success stays within two standard
    errors of J0. The first-failure ``thresholds.Bracket``; ``.as_tuple()`` gives (geometric
    mean, largest passing rate, first dropping rate)."""
    ok = [j >= search["J0"] - 2 * search["se"] for j in search["J"]]
    return first_failure(ok, search["lrs"], name="lrs")


def line_search_cached(cfg: RunConfig, learning_rates, *, num_prompts: int = 16, eval_samples: int = 32,
                       seed: int = 0, refresh: bool = False, compute: bool = True,
                       results_dir=None) -> dict | None:
    """``one_step_line_search`` stored with its provenance in
    ``results/llm/line_search/<model>-<key>.json`` (atomically) and reused; ``None`` when nothing
    is stored and ``compute`` is False. The key is the request alone (as for runs): a code change
    does not recompute it, ``refresh=True`` does."""
    request = {"config": cfg.stable_dict(), "learning_rates": list(map(float, learning_rates)),
               "num_prompts": num_prompts, "eval_samples": eval_samples, "seed": seed}
    return stored_result("line_search", cfg, request, lambda: one_step_line_search(
        cfg, learning_rates, num_prompts=num_prompts, eval_samples=eval_samples, seed=seed),
        refresh=refresh, allow_compute=compute, results_dir=results_dir)
