"""The Gradient-Gap ``TrainerCallback`` and the small ``GRPOTrainer`` subclass that lets it see the
step's sampled completions.

At every optimizer step, on the completions TRL sampled for that step, the callback estimates

* the batch success rate (mean verifier reward);
* the **Gradient Gap** of each prompt's group, ``ĝ_q = mean score over correct − mean score over
  incorrect`` (score = ∇θ log π(o|q), summed over the response's tokens), averaged over the groups
  that hold both kinds (a group that is all-correct or all-wrong has no estimate and gives GRPO no
  signal). Scores are linear in log π, so ĝ is one backward pass of
  ``Σ_i c_i log π(o_i|q_i)`` with ``c_i = 1/n⁺_q`` (correct) or ``−1/n⁻_q`` (incorrect);
* the **alignment** of the realised parameter update ``Δθ = θ_{k+1} − θ_k`` with ĝ
  (cosine, and ``⟨Δθ, ĝ⟩``), and of TRL's descent direction ``−∇loss`` with ĝ (with SGD the two
  coincide; with AdamW they differ);
* the norms ``‖ĝ‖``, ``‖Δθ‖``.

It appends these to the trainer's own metric store, so TRL logs them beside ``reward``,
``completions/mean_length`` and the rest (keys ``gap/*``). In a multi-process run each process
estimates ĝ on its own part of the batch (the gradient it compares with is the all-reduced one).
"""
from __future__ import annotations

import math

import torch
from transformers import TrainerCallback
from trl import GRPOTrainer


class GapGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` that keeps the last generated batch (prompt/completion ids and masks) for
    the Gradient-Gap callback. Training is unchanged."""

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        self._gap_batch = {k: out[k] for k in ("prompt_ids", "prompt_mask", "completion_ids",
                                               "completion_mask")}
        return out


def sequence_log_probs(model, prompt_ids, prompt_mask, completion_ids, completion_mask,
                       temperature: float = 1.0):
    """log π(o|q) of each completion (sum over its unmasked tokens), differentiable, computed the
    way TRL does (logits / temperature, no position ids)."""
    input_ids = torch.cat([prompt_ids, completion_ids], 1)
    attn = torch.cat([prompt_mask, completion_mask], 1)
    logits = model(input_ids=input_ids, attention_mask=attn).logits
    logits = logits[:, prompt_ids.shape[1] - 1:-1]
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32)) / temperature
    logp = torch.log_softmax(logits, -1).gather(-1, completion_ids[..., None]).squeeze(-1)
    return (logp * completion_mask).sum(-1)


def gap_weights(rewards: torch.Tensor, group_size: int) -> tuple[torch.Tensor, int]:
    """Coefficients ``c_i`` such that ``Σ c_i s_i`` is the mean over mixed groups of
    (mean score of correct − mean score of incorrect); and the number of mixed groups."""
    r = rewards.reshape(-1, group_size).double()
    correct = (r > 0.5).double()
    n_plus = correct.sum(1, keepdim=True)
    n_minus = group_size - n_plus
    mixed = (n_plus > 0) & (n_minus > 0)
    c = torch.where(correct > 0, 1.0 / n_plus.clamp(min=1), -1.0 / n_minus.clamp(min=1))
    c = c * mixed
    n_mixed = int(mixed.sum())
    if n_mixed:
        c = c / n_mixed
    return c.reshape(-1), n_mixed


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1).double() for t in tensors])


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    na, nb = float(a.norm()), float(b.norm())
    return float(a @ b) / (na * nb) if na > 0 and nb > 0 else math.nan


class GradientGapCallback(TrainerCallback):
    """Estimate the Gradient Gap from each step's sampled completions and the alignment of the
    actual update with it. Attach with :func:`attach` (it needs the trainer and the reward
    function that saw the rewards)."""

    def __init__(self, reward_fn, group_size: int, temperature: float = 1.0):
        self.reward_fn = reward_fn
        self.group_size = int(group_size)
        self.temperature = float(temperature)
        self.trainer = None
        self._theta0 = None
        self._gap = None
        self._descent = None
        self.records: list[dict] = []

    def attach(self, trainer):
        self.trainer = trainer
        trainer.add_callback(self)
        return self

    def _params(self, model):
        return [p for p in model.parameters() if p.requires_grad]

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        self._theta0 = _flat(self._params(model))
        self._gap = None

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        batch = getattr(self.trainer, "_gap_batch", None)
        rewards = torch.tensor(self.reward_fn.last_rewards, dtype=torch.float64)
        params = self._params(model)
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        self._descent = -_flat(grads)
        self._rewards = rewards
        self._n_mixed = 0
        if batch is None or rewards.numel() != batch["completion_ids"].shape[0]:
            return
        c, n_mixed = gap_weights(rewards, self.group_size)
        self._n_mixed = n_mixed
        self._lengths = batch["completion_mask"].sum(1).double()
        if n_mixed == 0:
            return
        was_training = model.training
        with torch.enable_grad():
            logp = sequence_log_probs(model, batch["prompt_ids"], batch["prompt_mask"],
                                      batch["completion_ids"], batch["completion_mask"],
                                      self.temperature)
            obj = (c.to(logp.dtype).to(logp.device) * logp).sum()
            g = torch.autograd.grad(obj, params, allow_unused=True)
        model.train(was_training)
        self._gap = _flat([gi if gi is not None else torch.zeros_like(p) for gi, p in zip(g, params)])

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self._theta0 is None:
            return
        delta = _flat(self._params(model)) - self._theta0
        rec = {"step": state.global_step, "success": float(self._rewards.mean()),
               "mixed_groups": self._n_mixed, "update_norm": float(delta.norm()),
               "gap_norm": math.nan, "cos_update_gap": math.nan, "cos_grad_gap": math.nan,
               "update_dot_gap": math.nan}
        if self._gap is not None:
            rec.update(gap_norm=float(self._gap.norm()), cos_update_gap=_cos(delta, self._gap),
                       cos_grad_gap=_cos(self._descent, self._gap),
                       update_dot_gap=float(delta @ self._gap))
        self.records.append(rec)
        metrics = getattr(self.trainer, "_metrics", None)
        if metrics is not None:
            for k, v in rec.items():
                if k != "step":
                    metrics["train"][f"gap/{k}"].append(v)
        self._theta0 = None


class MetricsJsonlCallback(TrainerCallback):
    """Append each step's logged metrics to a JSONL file as they happen (main process only,
    flushed and fsynced), so a killed run keeps its history. Each line carries ``step`` and
    ``launch`` (an id of the process launch that wrote it). On a resumed run the lines of steps
    after the checkpoint (logged by the killed launch, then lost with it) are dropped at the
    start, so the file never holds a step twice."""

    def __init__(self, path):
        from pathlib import Path

        self.path = Path(path)
        self.launch = None

    def on_train_begin(self, args, state, control, **kwargs):
        import json
        import os
        import time

        if not state.is_world_process_zero:
            return
        self.launch = f"{os.getpid()}-{time.time_ns()}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            keep = []
            for line in self.path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:          # a line cut by the kill
                    continue
                if rec.get("step", 0) <= state.global_step:
                    keep.append(line)
            tmp = self.path.with_suffix(".jsonl.tmp")
            tmp.write_text("".join(k + "\n" for k in keep))
            os.replace(tmp, self.path)

    def on_log(self, args, state, control, logs=None, **kwargs):
        import json
        import os

        if not state.is_world_process_zero or not logs or "reward" not in logs:
            return
        rec = {"step": state.global_step, "launch": self.launch}
        for k, v in logs.items():
            rec[k] = v if not isinstance(v, float) or math.isfinite(v) else None
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())


class StepProgressCallback(TrainerCallback):
    """A tqdm bar over optimizer steps showing the batch success rate, on the main process only.

    TRL's own ``ProgressCallback`` also prints every log dict; this one shows only the bar, which
    disappears when the run ends (a SmolLM2 run is ~25 min on 2 cores, and silent otherwise)."""

    def __init__(self, desc: str):
        self.desc, self.bar = desc, None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=state.max_steps, desc=self.desc, leave=False)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is not None and logs and "reward" in logs:
            self.bar.set_postfix(success=f"{logs['reward']:.2f}", refresh=False)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
