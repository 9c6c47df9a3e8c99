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
``completions/mean_length`` and the rest (keys ``gap/*``). In a multi-process run the rewards are
gathered (groups may span processes) and the per-process partial gaps all-reduced, so the
statistics are those of the global batch (see
:class:`GradientGapCallback` for the grouping rule, the projection mode and the memory cost).
"""
from __future__ import annotations

import math

import torch
from transformers import TrainerCallback
from trl import GRPOTrainer

from .distributed import all_gather_rows, all_reduce_sum, process_group


class GapGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` that keeps the last generated batch (prompt/completion ids and masks) for
    the Gradient-Gap callback, and samples with oneDNN's packed products when
    ``packed_generation`` is set (:mod:`.packed_generation`). Training is unchanged."""

    packed_generation = False

    def use_packed_generation(self, wanted: bool = True) -> bool:
        """Sample with oneDNN's packed products if ``wanted`` and possible here: fp32 weights on
        the CPU, no bf16 autocast, no vLLM, and a TRL that samples in ``_generate_single_turn``
        (TRL >= 1.7). Returns whether it does."""
        from .packed_generation import can_pack

        self.packed_generation = (wanted and not self.use_vllm and not self.args.bf16
                                  and hasattr(GRPOTrainer, "_generate_single_turn")
                                  and can_pack(self.model))
        return self.packed_generation

    def _generate_single_turn(self, prompt_ids, *args, **kwargs):
        if not self.packed_generation:
            return super()._generate_single_turn(prompt_ids, *args, **kwargs)
        from .packed_generation import packed_linears

        with packed_linears(self.model, rows=len(prompt_ids)):   # TRL generates under no_grad
            return super()._generate_single_turn(prompt_ids, *args, **kwargs)

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


def gap_weights(rewards: torch.Tensor, group_size: int, normalise: bool = True) -> tuple[torch.Tensor, int]:
    """Coefficients ``c_i`` such that ``Σ c_i s_i`` is the mean over mixed groups of
    (mean score of correct − mean score of incorrect); and the number of mixed groups. With
    ``normalise=False`` the sum over mixed groups (not the mean): what each process contributes
    before the totals are reduced across processes."""
    if rewards.numel() % group_size:
        raise ValueError(f"rewards of size {rewards.numel()} are invalid: expected whole groups of "
                         f"{group_size} (the global batch a multiple of num_generations)")
    from rlvr_core.paper.gap import group_gap_weights

    c, n_mixed = group_gap_weights(rewards.reshape(-1, group_size).double(), normalise)
    return c.reshape(-1), n_mixed


def _cos(dot: float, sq_a: float, sq_b: float) -> float:
    return dot / math.sqrt(sq_a * sq_b) if sq_a > 0 and sq_b > 0 else math.nan


def global_rewards(local: torch.Tensor, n_batch: int) -> tuple[torch.Tensor, int]:
    """The rewards of the global batch in TRL's order, and where this process's completions start
    in it. TRL (1.16) hands process ``r`` the ``r``-th consecutive slice of the generation batch
    (``process_slice`` in ``GRPOTrainer._generate_and_score_completions``; its rewards are
    gathered in process order), so a group of ``num_generations`` completions may span
    processes: the concatenation in rank order puts every group back together.

    ``n_batch`` is the number of completions of this process's batch (``-1``: none kept). Every
    process learns every other's counts first, so a mismatch anywhere raises ``RuntimeError``
    on every process (one process raising alone would leave the others waiting)."""
    device = local.device
    counts = torch.cat(all_gather_rows(torch.tensor([local.numel(), n_batch], dtype=torch.long,
                                                     device=device))).reshape(-1, 2).tolist()
    bad = [(r, k, m) for r, (k, m) in enumerate(counts) if k != m]
    if bad:
        raise RuntimeError(
            "Gradient-Gap callback: the rewards do not match the batch on "
            + ", ".join(f"process {r} ({k} rewards for {'no kept batch' if m < 0 else f'{m} completions'})"
                        for r, k, m in bad)
            + "; the reward function's last_rewards must be the rewards of this step's completions "
              "(one reward function, called once per generation round)")
    rank = process_group().get_rank() if process_group() is not None else 0
    offset = sum(k for k, _ in counts[:rank])
    return torch.cat(all_gather_rows(local)), offset


class CountSketch:
    """A fixed random projection R: R^P → R^k with one ±1 per column (a sparse JL / count
    sketch): coordinate j of parameter i goes to bucket h_i(j) with sign s_i(j), both drawn from a
    generator seeded by (seed, i), so every process and every step use the same R without storing
    it. E[⟨Rx, Ry⟩] = ⟨x, y⟩; the error of a cosine is O(1/√k). Sketches are accumulated in
    float64 (k numbers), so θ_{k+1} − θ_k survives the difference of two sketches."""

    CHUNK = 1 << 22

    def __init__(self, dim: int, seed: int = 0):
        self.dim, self.seed = int(dim), int(seed)

    def _buckets(self, index: int, n: int, device):
        g = torch.Generator(device=device)
        g.manual_seed(self.seed * 1_000_003 + index)
        for lo in range(0, n, self.CHUNK):
            m = min(self.CHUNK, n - lo)
            h = torch.randint(0, self.dim, (m,), generator=g, device=device)
            s = torch.randint(0, 2, (m,), generator=g, device=device).to(torch.float64) * 2 - 1
            yield lo, lo + m, h, s

    def add(self, out: torch.Tensor, index: int, x: torch.Tensor, scale: float = 1.0):
        """``out += scale · R_index x`` for the ``index``-th parameter's tensor ``x``."""
        flat = x.detach().reshape(-1)
        for lo, hi, h, s in self._buckets(index, flat.numel(), flat.device):
            out.index_add_(0, h, flat[lo:hi].to(torch.float64) * s, alpha=scale)
        return out

    def of(self, tensors, scale: float = 1.0) -> torch.Tensor:
        tensors = list(tensors)
        out = torch.zeros(self.dim, dtype=torch.float64,
                          device=tensors[0].device if tensors else "cpu")
        for i, t in enumerate(tensors):
            if t is not None:
                self.add(out, i, t, scale)
        return out


GAP_MODES = ("full", "projection")


class GradientGapCallback(TrainerCallback):
    """Estimate the Gradient Gap from each step's sampled completions and the alignment of the
    actual update with it. Attach with :func:`attach` (it needs the trainer and the reward
    function that saw the rewards).

    Multi-process (DDP): TRL hands each process ``per_device_train_batch_size`` consecutive
    completions of the global batch, prompt by prompt, so a group may span processes (the usual
    setting on 8 GPUs: ``per_device_train_batch_size`` < ``num_generations``). Every process
    gathers the rewards of the global batch (:func:`global_rewards`), so it knows each group's
    ``n⁺``/``n⁻`` and the global coefficients ``c_i``; it back-propagates only its own completions
    with those coefficients, and the partial gaps are summed across processes
    (``torch.distributed.all_reduce``): every process holds the gap of the global batch. Rewards
    that do not match a process's batch raise ``RuntimeError`` on every process. The update Δθ and
    the DDP-averaged gradient are the same on every process. FSDP/DeepSpeed shard the parameters:
    refused.

    Memory (P = number of trainable parameters):

    * ``mode="full"``: the fp32 start-of-step weights and the fp32 gap (2 × 4P bytes held during the
      step), plus the transient gradient of the gap backward (4P) — 7B: ~84 GiB, impractical;
    * ``mode="projection"``: the gap, the gradient and both weights only as k-dim float64
      sketches (:class:`CountSketch`), the gap gradient sketched parameter by parameter inside the
      backward (hooks), so nothing of size P is held: transient buffers of one parameter chunk
      (≤ 2^22 entries) and the activations of one forward/backward over the local batch. Its
      reported norms and cosines are estimates (error O(1/√k)).
    """

    def __init__(self, reward_fn, group_size: int, temperature: float = 1.0, mode: str = "full",
                 proj_dim: int = 256, proj_seed: int = 0, metric_prefix: str = "gap/"):
        if mode not in GAP_MODES:
            raise ValueError(f"gap_mode={mode!r} is invalid: expected one of {GAP_MODES}")
        self.reward_fn = reward_fn
        self.group_size = int(group_size)
        self.temperature = float(temperature)
        self.mode = mode
        self.metric_prefix = str(metric_prefix)
        self.sketch = CountSketch(proj_dim, proj_seed) if mode == "projection" else None
        self.trainer = None
        self._theta0 = None
        self._stats = None
        self.records: list[dict] = []

    def attach(self, trainer):
        kind = str(getattr(trainer.accelerator, "distributed_type", "")).split(".")[-1]
        if kind in ("FSDP", "DEEPSPEED"):
            raise ValueError(f"gap_callback=True is invalid under {kind}: the parameters are sharded; "
                             "run the callback with DDP (gap_mode: projection for large models) "
                             "or set gap_callback: false")
        self.trainer = trainer
        trainer.add_callback(self)
        return self

    def _params(self, model):
        return [p for p in model.parameters() if p.requires_grad]

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        params = self._params(model)
        if self.sketch is not None:
            self._theta0 = self.sketch.of(params)
        else:
            self._theta0 = [p.detach().float().clone() for p in params]
        self._stats = None

    def _gap_backward(self, model, params, batch, c):
        """The local (unnormalised) gap: a list of fp32 tensors (full) or its sketch."""
        with torch.enable_grad():
            logp = sequence_log_probs(model, batch["prompt_ids"], batch["prompt_mask"],
                                      batch["completion_ids"], batch["completion_mask"],
                                      self.temperature)
            obj = (c.to(logp.dtype).to(logp.device) * logp).sum()
            if self.sketch is None:
                g = torch.autograd.grad(obj, params, allow_unused=True)
                return [gi.float() if gi is not None else torch.zeros_like(p, dtype=torch.float32)
                        for gi, p in zip(g, params)]
            out = torch.zeros(self.sketch.dim, dtype=torch.float64, device=params[0].device)
            handles = []
            for i, p in enumerate(params):
                def hook(grad, i=i):
                    self.sketch.add(out, i, grad)
                    return torch.zeros((), dtype=grad.dtype, device=grad.device).expand_as(grad)
                handles.append(p.register_hook(hook))
            try:
                torch.autograd.grad(obj, params, allow_unused=True)
            finally:
                for h in handles:
                    h.remove()
            return out

    def _coefficients(self, rewards: torch.Tensor, n_batch: int):
        """This process's coefficients ``c_i`` (normalised by the global number of mixed groups),
        the global success rate and mixed-group count, from the global batch's rewards."""
        everyone, offset = global_rewards(rewards, n_batch)
        c, n_mixed = gap_weights(everyone.cpu(), self.group_size, normalise=True)
        local = c[offset:offset + rewards.numel()]
        return local, float(everyone.double().mean()) if everyone.numel() else math.nan, n_mixed

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        batch = getattr(self.trainer, "_gap_batch", None)
        params = self._params(model)
        device = params[0].device
        rewards = torch.tensor(self.reward_fn.last_rewards, dtype=torch.float64, device=device)
        n_batch = batch["completion_ids"].shape[0] if batch is not None else -1
        # every process joins every collective, whatever its own batch holds
        c, success, n_mixed = self._coefficients(rewards, n_batch)
        stats = {"success": success, "mixed_groups": n_mixed}
        grads = [p.grad for p in params]
        was_training = model.training
        if n_mixed:
            own = bool(torch.any(c != 0))        # this process holds completions of a mixed group
            if self.sketch is not None:
                gap = (self._gap_backward(model, params, batch, c) if own
                       else torch.zeros(self.sketch.dim, dtype=torch.float64, device=device))
                gap = all_reduce_sum(gap)
                descent = self.sketch.of(grads, scale=-1.0)
                stats.update(gap=gap, gap_sq=float(gap @ gap), grad_sq=float(descent @ descent),
                             grad_dot=float(descent @ gap))
            else:
                gap = (self._gap_backward(model, params, batch, c) if own
                       else [torch.zeros_like(p, dtype=torch.float32) for p in params])
                for t in gap:
                    all_reduce_sum(t)
                gap_sq = grad_sq = grad_dot = 0.0
                for g, gr in zip(gap, grads):
                    gap_sq += float(g.double().pow(2).sum())
                    if gr is not None:
                        grad_sq += float(gr.double().pow(2).sum())
                        grad_dot -= float((gr.double() * g.double()).sum())
                stats.update(gap=gap, gap_sq=gap_sq, grad_sq=grad_sq, grad_dot=grad_dot)
        model.train(was_training)
        self._stats = stats

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self._theta0 is None or self._stats is None:
            return
        st, params = self._stats, self._params(model)
        gap = st.get("gap")
        if self.sketch is not None:
            delta = self.sketch.of(params) - self._theta0
            upd_sq = float(delta @ delta)
            upd_dot = float(delta @ gap) if gap is not None else math.nan
        else:
            upd_sq, upd_dot = 0.0, 0.0
            for i, (p, t0) in enumerate(zip(params, self._theta0)):
                d = p.detach().double() - t0.double()
                upd_sq += float(d.pow(2).sum())
                if gap is not None:
                    upd_dot += float((d * gap[i].double()).sum())
        rec = {"step": state.global_step, "success": st["success"], "mixed_groups": st["mixed_groups"],
               "update_norm": math.sqrt(upd_sq), "gap_norm": math.nan, "cos_update_gap": math.nan,
               "cos_grad_gap": math.nan, "update_dot_gap": math.nan}
        if gap is not None:
            rec.update(gap_norm=math.sqrt(st["gap_sq"]), cos_update_gap=_cos(upd_dot, upd_sq, st["gap_sq"]),
                       cos_grad_gap=_cos(st["grad_dot"], st["grad_sq"], st["gap_sq"]),
                       update_dot_gap=upd_dot)
        self.records.append(rec)
        metrics = getattr(self.trainer, "_metrics", None)
        if metrics is not None:
            for k, v in rec.items():
                if k != "step":
                    metrics["train"][f"{self.metric_prefix}{k}"].append(v)
        self._theta0 = None
        self._stats = None
