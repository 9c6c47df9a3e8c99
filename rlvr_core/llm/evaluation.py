"""A fixed evaluation set for GRPO runs, and a Gradient-Gap estimate independent of the update.

:class:`EvalSetCallback` samples ``samples`` completions for each prompt of a fixed set of
problems at chosen optimizer steps (before the first update, in the middle, at the end) and
records the success rate with its binomial standard error. Its completions are drawn afresh,
independently of the training batches, so its success is not the training batch's noisy reward
and its J0 is the starting model's.

With ``gap=True`` it also estimates the Gradient Gap from these completions, twice, on two
disjoint halves of the prompts (ĝ_A, ĝ_B: mean score of correct minus mean score of incorrect
completions, averaged over the mixed groups, :func:`rlvr_core.paper.gap.group_gap_weights`), and after
that step's update compares them with the realised update Δθ: ``cos(Δθ, ĝ_A)``, ``cos(Δθ, ĝ_B)``
and ``cos(ĝ_A, ĝ_B)``. The training callback's ĝ is computed from the same completions that form
the update, so its alignment with Δθ is close to 1 by construction; here the update has never seen
the evaluation completions, and ``cos(ĝ_A, ĝ_B)`` is the alignment two independent estimates of the
same gap reach: the noise ceiling against which ``cos(Δθ, ĝ)`` is read. Memory: three float32
copies of the trainable parameters at a gap step (fine for small models; not meant for 7B).
"""
from __future__ import annotations

import dataclasses
import math

import torch
from transformers import TrainerCallback

from rlvr_core.paper.gap import group_gap_weights
from rlvr_core.infra.arguments import check_int
from .callback import sequence_log_probs
from .config import setting_label
from .models import sample
from .start_model import load_model, resolve_model
from .store import stored_result


def evaluation_prompts(task, tok, num_problems: int, seed: int = 0) -> list[str]:
    """The fixed evaluation prompts of a task, formatted as training formats them: the task's own
    problems (``scratchpad_sum``: all of its training problems) or ``num_problems`` of a
    ``chat_sum`` task's problems drawn with ``seed`` through the tokenizer's chat template."""
    check_int("num_problems", num_problems, minimum=2)
    if hasattr(task, "prompt"):
        return [task.prompt(a, b) for a, b in task.problems()]
    return [tok.apply_chat_template([{"role": "user", "content": task.question(a, b)}],
                                    tokenize=False, add_generation_prompt=True)
            for a, b in task.problems(num_problems, seed=seed)]


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    den = float(a.norm() * b.norm())
    return float(a @ b) / den if den > 0 else math.nan


class EvalSetCallback(TrainerCallback):
    """Success on a fixed evaluation set at ``at_steps`` (and at the end of training), optionally
    with the independent Gradient-Gap estimate (see the module docstring). ``records`` holds one
    dict per evaluation: step, success, se, n, mean_length, clipped; with ``gap`` also the
    cosines, the mixed-group counts and the norms."""

    def __init__(self, task, tok, prompts: list[str], samples: int, max_new_tokens: int, *,
                 temperature: float = 1.0, at_steps=(0,), gap: bool = False, seed: int = 0,
                 batch_size: int = 64):
        self.task, self.tok, self.prompts = task, tok, list(prompts)
        self.samples = check_int("samples", samples, minimum=2)
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.at_steps, self.gap, self.seed, self.batch_size = set(at_steps), gap, seed, batch_size
        self.records: list[dict] = []
        self._pending = None  # (record, theta_before, g_A, g_B) until the step's update is done

    def _params(self, model):
        return [p for p in model.parameters() if p.requires_grad]

    def _sample_all(self, model, step: int):
        prompts = [p for p in self.prompts for _ in range(self.samples)]
        chunks, rewards = [], []
        for i in range(0, len(prompts), self.batch_size):
            part = prompts[i:i + self.batch_size]
            chunk = sample(model, self.tok, part, self.max_new_tokens, self.temperature,
                           seed=self.seed + 100_003 * step + i)
            chunks.append(chunk)
            rewards += [self.task.verify(p, t) for p, t in zip(part, chunk[3])]
        return chunks, torch.tensor(rewards, dtype=torch.float64).reshape(len(self.prompts), -1)

    def _gap(self, model, chunks, rewards, half: int) -> tuple[torch.Tensor, int]:
        """ĝ from the prompts of one half (even or odd index): one backward pass per chunk."""
        keep = torch.zeros(rewards.shape[0], 1, dtype=rewards.dtype)
        keep[half::2] = 1
        # the other half's groups become all-wrong, so they carry no weight and are not counted
        c, n_mixed = group_gap_weights(rewards * keep)
        c = c.reshape(-1).float()
        params = self._params(model)
        total = [torch.zeros_like(p, dtype=torch.float32) for p in params]
        offset = 0
        for enc, completion, mask, _ in chunks:
            w = c[offset:offset + completion.shape[0]]
            offset += completion.shape[0]
            if not torch.any(w != 0):
                continue
            with torch.enable_grad():
                logp = sequence_log_probs(model, enc.input_ids, enc.attention_mask, completion, mask,
                                          self.temperature)
                grads = torch.autograd.grad((w * logp).sum(), params, allow_unused=True)
            for t, g in zip(total, grads):
                if g is not None:
                    t += g.float()
        return torch.cat([t.reshape(-1) for t in total]), n_mixed

    def _evaluate(self, model, step: int):
        was_training = model.training
        model.eval()
        chunks, rewards = self._sample_all(model, step)
        lengths = torch.cat([m.sum(1) for _, _, m, _ in chunks]).double()
        J = float(rewards.mean())
        rec = {"step": step, "success": J, "n": rewards.numel(),
               "se": math.sqrt(max(J * (1 - J), 1e-12) / rewards.numel()),
               "mean_length": float(lengths.mean()),
               "length_quantiles": {str(q): float(lengths.quantile(q / 100)) for q in (50, 90, 99)},
               "clipped": float((lengths >= self.max_new_tokens).double().mean())}
        if self.gap:
            g_a, n_a = self._gap(model, chunks, rewards, 0)
            g_b, n_b = self._gap(model, chunks, rewards, 1)
            rec.update({"gap_mixed_groups": [n_a, n_b], "cos_gA_gB": _cos(g_a, g_b),
                        "gap_norm": float(((g_a + g_b) / 2).norm())})
            theta = torch.cat([p.detach().float().reshape(-1) for p in self._params(model)])
            self._pending = (rec, theta, g_a, g_b)
        model.train(was_training)
        self.records.append(rec)

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step in self.at_steps and not any(r["step"] == state.global_step
                                                          for r in self.records):
            self._evaluate(model, state.global_step)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self._pending is None:
            return
        rec, theta, g_a, g_b = self._pending
        self._pending = None
        delta = torch.cat([p.detach().float().reshape(-1) for p in self._params(model)]) - theta
        rec.update({"cos_update_gA": _cos(delta, g_a), "cos_update_gB": _cos(delta, g_b),
                    "update_norm": float(delta.norm())})

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if not any(r["step"] == state.global_step for r in self.records):
            gap, self.gap = self.gap, False  # no update follows the last evaluation
            self._evaluate(model, state.global_step)
            self.gap = gap


# What defines a run's starting model and how it samples (not its training): the key of J0
START_FIELDS = ("model", "task", "digits", "scratch_len", "num_problems", "warm_start_target",
                "max_completion_length", "temperature", "dataset_path", "dataset_name",
                "dataset_config", "dataset_split", "prompt_style", "model_path")


def starting_success(cfg, *, num_problems: int = 64, samples: int = 4, seed: int = 0,
                     max_completion_length: int | None = None, refresh: bool = False,
                     compute: bool = True, results_dir=None) -> dict | None:
    """J0 of a run's starting model on the fixed evaluation set (no training): success and its
    standard error over ``num_problems`` x ``samples`` completions at the run's
    ``max_completion_length`` (or the one given: how long the replies want to be) and
    temperature, with the reply-length quantiles; stored in ``results/llm/start_success/``."""
    if max_completion_length is not None:
        cfg = dataclasses.replace(cfg, max_completion_length=check_int(
            "max_completion_length", max_completion_length, minimum=1))

    def measure():
        model, tok = load_model(cfg, resolve_model(cfg))
        task = cfg.make_task(chat=getattr(tok, "chat_template", None) is not None)
        cb = EvalSetCallback(task, tok, evaluation_prompts(task, tok, num_problems, seed=1), samples,
                             cfg.max_completion_length, temperature=cfg.temperature, seed=seed)
        cb._evaluate(model, 0)
        return cb.records[0]

    start = {k: v for k, v in cfg.stable_dict().items() if k in START_FIELDS}
    request = {"start": start, "num_problems": num_problems, "samples": samples, "seed": seed}
    return stored_result("start_success", cfg, request, measure, refresh=refresh,
                         allow_compute=compute, results_dir=results_dir)


def evaluation_rows(results: list[dict], last: int = 5) -> list[dict]:
    """One row per evaluation of each run that carries the fixed evaluation set: the run's rate,
    seed and setting, the step, the evaluation set's success with its binomial s.e., and the
    training batches' mean success over the ``last`` steps up to that step (what the threshold
    rule reads) with its s.e. from the spread of those steps (a batch holds few prompts, so its
    completions are not independent)."""
    rows = []
    for r in results:
        rewards = [m.get("reward", math.nan) for m in r["metrics"]]
        for e in r.get("eval", []):
            w = rewards[max(0, e["step"] - last):e["step"]]
            mean = sum(w) / len(w) if w else math.nan
            se = (math.sqrt(sum((x - mean) ** 2 for x in w) / (len(w) - 1) / len(w))
                  if len(w) > 1 else math.nan)
            rows.append({"setting": setting_label(r["config"]),
                         "learning_rate": r["config"]["learning_rate"], "seed": r["config"]["seed"],
                         "step": e["step"], "evaluation success": e["success"], "se": e["se"],
                         "n": e["n"], "training success": mean, "training se": se,
                         "mean length": e["mean_length"], "clipped": e["clipped"]})
    return rows


def alignment_rows(results: list[dict]) -> list[dict]:
    """One row per gap evaluation of each run: the run's rate and seed, the step, the evaluation
    set's success, the training callback's same-batch cos(Δθ, ĝ) for that update, the
    independent cosines and the split-half ceiling cos(ĝ_A, ĝ_B)."""
    rows = []
    for r in results:
        for e in r.get("eval", []):
            if "cos_update_gA" not in e:
                continue
            m = r["metrics"][e["step"]] if e["step"] < len(r["metrics"]) else {}
            rows.append({"learning_rate": r["config"]["learning_rate"], "seed": r["config"]["seed"],
                         "step": e["step"], "success": e["success"], "se": e["se"],
                         "cos same batch": m.get("gap/cos_update_gap", math.nan),
                         "cos(update, g_A)": e["cos_update_gA"], "cos(update, g_B)": e["cos_update_gB"],
                         "cos(g_A, g_B)": e["cos_gA_gB"]})
    return rows


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate from ``n`` samples of which ``c`` are correct:
    ``1 - C(n-c, k) / C(n, k)``, the probability that k of the n samples drawn without
    replacement hold at least one correct one (computed as a product, no large binomials)."""
    check_int("n", n, minimum=1)
    check_int("c", c, minimum=0, maximum=n)
    check_int("k", k, minimum=1, maximum=n)
    if n - c < k:
        return 1.0
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


class MathEvalCallback(TrainerCallback):
    """Held-out evaluation of task 'math' (GSM8K's test split, or a local file such as MATH-500):
    ``samples`` completions for each of the first ``num_problems`` held-out problems, checked with
    ``math-verify``, reported as pass@1 (with its s.e. over problems) and pass@k for each ``ks``
    (:func:`pass_at_k`). With several processes each samples its share of the problems and the
    correct counts are gathered. Sampling runs in a forked RNG, so the training trajectory is the
    same with and without the evaluation. ``records``: one dict per evaluation."""

    def __init__(self, dataset, tok, num_problems: int, samples: int, ks, max_new_tokens: int, *,
                 temperature: float = 1.0, at_steps=(0,), seed: int = 0, batch_size: int = 8):
        data = dataset.dataset()
        data = data.select(range(min(check_int("num_problems", num_problems, minimum=1), len(data))))
        self.prompts = [p if isinstance(p, str) else
                        tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
                        for p in data["prompt"]]
        self.gold = list(data["gold"])
        self.dataset, self.tok = dataset, tok
        self.samples = check_int("samples", samples, minimum=1)
        self.ks = [check_int("k", k, minimum=1, maximum=self.samples) for k in ks]
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.at_steps, self.seed, self.batch_size = set(at_steps), seed, batch_size
        self.records: list[dict] = []

    def correct_counts(self, model, step: int) -> list[int]:
        """Correct samples per held-out problem, every process's share gathered."""
        from .distributed import all_gather_rows, process_group

        dist = process_group()
        rank, world = (dist.get_rank(), dist.get_world_size()) if dist is not None else (0, 1)
        mine = list(range(rank, len(self.prompts), world))
        device = next(model.parameters()).device
        counts = []
        was_training = model.training
        model.eval()
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(self.seed + 100_003 * step + rank)
            for lo in range(0, len(mine), self.batch_size):
                idx = mine[lo:lo + self.batch_size]
                side, self.tok.padding_side = self.tok.padding_side, "left"   # generation pads left
                try:
                    enc = self.tok([self.prompts[i] for i in idx], return_tensors="pt", padding=True,
                                   add_special_tokens=False).to(device)
                finally:
                    self.tok.padding_side = side
                out = model.generate(**enc, do_sample=True, temperature=self.temperature, top_k=0,
                                     top_p=1.0, max_new_tokens=self.max_new_tokens,
                                     num_return_sequences=self.samples,
                                     pad_token_id=self.tok.pad_token_id)
                texts = self.tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
                for j, i in enumerate(idx):
                    replies = texts[j * self.samples:(j + 1) * self.samples]
                    counts.append(int(sum(self.dataset.verify_gold(t, self.gold[i]) for t in replies)))
        model.train(was_training)
        gathered = all_gather_rows(torch.tensor(counts, dtype=torch.long, device=device))
        return [int(x) for part in gathered for x in part.tolist()]

    def _evaluate(self, model, step: int):
        counts = self.correct_counts(model, step)
        n = self.samples
        p1 = [c / n for c in counts]
        mean = sum(p1) / len(p1)
        se = (math.sqrt(sum((x - mean) ** 2 for x in p1) / (len(p1) - 1) / len(p1))
              if len(p1) > 1 else math.nan)
        rec = {"step": step, "problems": len(counts), "samples": n, "success": mean, "se": se,
               **{f"pass@{k}": sum(pass_at_k(n, c, k) for c in counts) / len(counts) for k in self.ks}}
        self.records.append(rec)

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step in self.at_steps and not any(r["step"] == state.global_step
                                                          for r in self.records):
            self._evaluate(model, state.global_step)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if not any(r["step"] == state.global_step for r in self.records):
            self._evaluate(model, state.global_step)
