"""Policy-gradient updates whose direction is NOT a positive multiple of the Gradient Gap in
population: PPO-clip with several epochs on one batch, a KL penalty toward the start policy,
and stale batches (with or without an importance correction), on the answer-last circle model
(``answer_last``), many runs at once (the loop is over iterations and epochs only).

One update from theta_k with a batch drawn from theta_b (b = k - s, s the staleness):

    theta <- theta_k;  repeat ``epochs`` times:
        theta <- theta + eta * ( grad L_clip(theta) - beta * grad KL(pi_theta || pi_start) )

with the token-level surrogate of GRPO/PPO (tokens are i.i.d. draws of one softmax, so a
response's tokens enter through their counts n_iv):

    L_clip(theta) = sum_i c_i sum_v n_iv min(rho_v, clip(rho_v, 1 - eps, 1 + eps))-with-sign(c_i),
    rho_v = pi_theta(v) / pi_b(v),

where c_i is the base algorithm's per-response factor (advantage x length weight / G, so that
with rho = 1 the gradient is ``directions.sampled_direction``). The gradient of one token term is
c_i rho_v (phi_v - E_theta phi), zero where the clip is active (c_i > 0 and rho_v > 1 + eps, or
c_i < 0 and rho_v < 1 - eps). Without importance correction (``importance=False``, one epoch)
rho is 1: the score of the old tokens under the current policy. The effective direction of the
update is w_k = (theta_{k+1} - theta_k) / eta.

[derived] Identities (tests): one epoch with eps = inf and s = 0 is the base direction; s = 0
is the fresh sampler's run; beta = 0 adds nothing; at theta = pi_start the KL gradient is 0.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np
import torch

from rlvr_core.infra.arguments import check_choice, check_int, check_seed
from rlvr_core.infra.threads import few_threads
from rlvr_core.paper.directions import ALGORITHMS, group_advantages, response_weights
from rlvr_core.paper.policies import DTYPE
from rlvr_core.paper.token_policies import check_features, lengths_tensor, model_gap, model_success
from rlvr_core.simulators.answer_last import LENGTH_MODES, sample_answer_last_counts


@dataclass(frozen=True)
class Variant:
    """One update rule: the base algorithm's advantages and length weights, then ``epochs``
    gradient steps on one batch with PPO's clip ``clip`` (eps; ``math.inf`` = no clip), a KL
    penalty ``beta`` toward the start policy, a batch ``stale`` steps old, with or without the
    per-token importance ratio (``importance``; PPO with ``epochs > 1`` always uses the ratio)."""
    base: str = "grpo"
    epochs: int = 1
    clip: float = math.inf
    beta: float = 0.0
    stale: int = 0
    importance: bool = False

    def __post_init__(self):
        check_choice("base", self.base, ALGORITHMS)
        check_int("epochs", self.epochs, minimum=1)
        check_int("stale", self.stale, minimum=0)
        if not (self.clip > 0):
            raise ValueError(f"clip={self.clip!r} is invalid: expected eps > 0 (math.inf: no clip)")
        if not (self.beta >= 0 and math.isfinite(self.beta)):
            raise ValueError(f"beta={self.beta!r} is invalid: expected a finite number >= 0")

    @property
    def uses_ratio(self) -> bool:
        return self.importance or self.epochs > 1 or math.isfinite(self.clip)

    def params(self) -> dict:
        d = asdict(self)
        d["clip"] = "inf" if math.isinf(self.clip) else self.clip
        return d


def coefficients(base: str, rewards, lengths, max_lengths) -> torch.Tensor:
    """Per-response factors c_i ``[R, G]`` with w = sum_i c_i s_i the base algorithm's sampled
    direction (``answer_last.run_direction``: Dr. GRPO = REINFORCE / L_max per run)."""
    check_choice("base", base, ALGORITHMS)
    rewards = torch.as_tensor(rewards, dtype=DTYPE)
    G = rewards.shape[-1]
    if base == "dr_grpo":
        adv = group_advantages(rewards, False)
        return adv / torch.as_tensor(max_lengths, dtype=DTYPE).unsqueeze(-1) / G
    adv = group_advantages(rewards, ALGORITHMS[base][0])
    return adv * response_weights(base, lengths) / G


def surrogate_gradient(phi, theta, counts, coef, p_old=None, clip: float = math.inf) -> torch.Tensor:
    """Gradient at ``theta`` ``[R, d]`` of the token-level clipped surrogate of a batch
    (``counts [R, G, V]``, ``coef [R, G]``) drawn from ``p_old [R, V]`` (None: rho = 1)."""
    p = torch.softmax(theta @ phi.T, dim=-1)  # [R, V]
    mean_phi = p @ phi
    if p_old is None:
        a = torch.einsum("rg,rgv->rv", coef, counts)
        rho = torch.ones_like(p)
    else:
        rho = p / p_old
        keep_pos = (rho <= 1 + clip).to(DTYPE)  # tokens of responses with c_i > 0
        keep_neg = (rho >= 1 - clip).to(DTYPE)  # tokens of responses with c_i < 0
        a = (torch.einsum("rg,rgv->rv", coef.clamp_min(0), counts) * keep_pos
             + torch.einsum("rg,rgv->rv", coef.clamp_max(0), counts) * keep_neg)
    ar = a * rho
    return ar @ phi - ar.sum(-1, keepdim=True) * mean_phi


def kl_gradient(phi, theta, theta_ref) -> torch.Tensor:
    """Gradient in theta of the per-token KL(pi_theta || pi_ref) of the softmax: phi^T p (u - KL),
    u = log p - log p_ref. ``theta``, ``theta_ref``: ``[R, d]`` (or broadcastable)."""
    logp = torch.log_softmax(theta @ phi.T, dim=-1)
    u = logp - torch.log_softmax(theta_ref @ phi.T, dim=-1)
    p = logp.exp()
    return (p * (u - (p * u).sum(-1, keepdim=True))) @ phi


def variant_update(phi, variant: Variant, theta, theta_start, batch, eta, max_lengths) -> torch.Tensor:
    """The effective direction (theta_after - theta) / eta of one update from ``theta`` [R, d]
    with ``batch`` = (rewards, counts, lengths, p_b) drawn from the sampling policy p_b."""
    rewards, counts, lengths, p_b = batch
    coef = coefficients(variant.base, rewards, lengths, max_lengths)
    p_old = p_b if variant.uses_ratio else None
    eta = torch.as_tensor(eta, dtype=DTYPE).reshape(-1, 1)
    cur = theta
    for _ in range(variant.epochs):
        if p_old is None:  # no ratio: the old tokens' scores under the current policy
            step = surrogate_gradient(phi, cur, counts, coef)
        else:
            step = surrogate_gradient(phi, cur, counts, coef, p_old, variant.clip)
        if variant.beta > 0:
            step = step - variant.beta * kl_gradient(phi, cur, theta_start)
        cur = cur + eta * step
    return (cur - theta) / eta


def simulate_variant(features, theta0, lengths, etas, variant: Variant, *, group_size: int = 8,
                     steps: int = 300, seed: int = 0, correct: int = 0,
                     length_mode: str = "uniform") -> dict:
    """Sampled runs theta_{k+1} = theta_k + eta w_k of ``variant`` for R runs at once (``theta0``
    ``[d]`` or ``[R, d]``, ``lengths`` ``[R]`` (max lengths under ``"uniform"``), ``etas`` ``[R]``).
    The first ``stale`` updates use batches drawn at theta_0 (drawn before the loop). With
    stale = 0 the random stream is that of ``answer_last.simulate_answer_last``.

    Returns ``J [R, steps + 1]`` and, per step, ``inner`` = <w_k, g_k>, ``norm2`` = |w_k|^2,
    ``gnorm2`` = |g_k|^2 ``[R, steps]``, and the vectors ``w``, ``g`` ``[R, steps, d]``."""
    phi = check_features(features)
    if not isinstance(variant, Variant):
        raise ValueError(f"variant={variant!r} is invalid: expected an off_policy.Variant")
    check_choice("length_mode", length_mode, LENGTH_MODES)
    K = check_int("steps", steps, minimum=1)
    rng = np.random.default_rng(check_seed("seed", seed))
    eta = torch.as_tensor(etas, dtype=DTYPE)
    if eta.ndim != 1 or torch.any(~torch.isfinite(eta)) or torch.any(eta <= 0):
        raise ValueError("etas is invalid: expected a 1-D tensor of finite step sizes > 0")
    R = eta.shape[0]
    theta = torch.as_tensor(theta0, dtype=DTYPE).expand(R, phi.shape[1]).clone()
    theta_start = theta.clone()
    T = lengths_tensor(lengths).expand(R).clone()
    out = {"J": torch.empty(R, K + 1, dtype=DTYPE), "inner": torch.empty(R, K, dtype=DTYPE),
           "norm2": torch.empty(R, K, dtype=DTYPE), "gnorm2": torch.empty(R, K, dtype=DTYPE),
           "w": torch.empty(R, K, phi.shape[1], dtype=DTYPE),
           "g": torch.empty(R, K, phi.shape[1], dtype=DTYPE)}
    with few_threads():
        queue = deque(sample_answer_last_counts(phi, theta, T, group_size, rng, correct, length_mode)
                      for _ in range(variant.stale))
        for k in range(K + 1):
            out["J"][:, k] = model_success(phi, theta, 1, "answer_last", correct)
            if k == K:
                break
            queue.append(sample_answer_last_counts(phi, theta, T, group_size, rng, correct,
                                                   length_mode))
            w = variant_update(phi, variant, theta, theta_start, queue.popleft(), eta, T)
            g = model_gap(phi, theta, 1, "answer_last", correct)
            out["inner"][:, k] = (w * g).sum(-1)
            out["norm2"][:, k] = w.pow(2).sum(-1)
            out["gnorm2"][:, k] = g.pow(2).sum(-1)
            out["w"][:, k], out["g"][:, k] = w, g
            theta = theta + eta.unsqueeze(-1) * w
    return out
