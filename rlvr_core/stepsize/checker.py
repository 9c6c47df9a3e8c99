"""Is my learning rate safe? The companion's step-size checker.

Two ways to ask, both returning a :class:`StepSizeReport`:

``check_step_size`` — from statistics only (success rate J, response length T, per-token
constants G and L, the algorithm). [derived] For the algorithm's population direction
``w = c(J, T) g`` (``rlvr_core.paper.directions.population_direction``) the companion's bound
(notebook 02, ``theory.companion_constant``)

    eta <= <w, g> / ((2 L_o + G_o^2) ||w||^2) = 1 / (c(J, T) (2 L_o + G_o^2))

guarantees a log-odds gain of at least half the first-order one. The sequence constants come
from the token ones: ``L_o <= T L`` and either ``G_o <= T G`` (worst case, every token's score
aligned) or ``G_o^2 ~ T G^2`` (the martingale second moment of a typical response: token
scores are uncorrelated). ||g|| cancels, so it is not needed.

``probe_step_size`` — from a probe batch on the model itself (any torch model or policy): the
Gradient Gap and the update direction of the batch by two backward passes, the alignment
cos(w, g), and the local curvature of the log-odds along w from the curvature identity with
finite differences of the sequence log-probabilities (three forward passes). [derived] To
second order, logit J(theta + eta w) = logit J + eta a + eta^2 ||w||^2 kappa / 2 with
a = <w, g> and kappa the curvature along the unit direction; the step keeps half the
first-order gain while eta <= a / (||w||^2 max(-kappa, 0)) and stops raising J at twice that.
It is a local, one-step prediction from sampled responses, not a guarantee.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

from rlvr_core.paper.directions import ALGORITHMS, group_advantages, population_direction, response_weights
from rlvr_core.paper.gap import group_gap_weights
from rlvr_core.infra.arguments import check_choice, check_int, check_positive, check_probability

MOMENTS = ("worst_case", "martingale")


@dataclass
class StepSizeReport:
    """What the checker found; ``str(report)`` is the human-readable answer."""

    mode: str
    algorithm: str
    success_rate: float
    eta_safe: float
    eta_no_gain: float
    learning_rate: float | None = None
    details: dict = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.learning_rate is None:
            return "no learning rate given"
        if self.mode == "statistics":  # a sufficient bound: above it the theory does not decide
            if self.learning_rate <= self.eta_safe:
                return "within the theory's bound: progress is guaranteed if the constants hold"
            return ("above the theory's bound: not guaranteed, not predicted to fail either "
                    "(run the range test)")
        if self.learning_rate <= self.eta_safe:
            return "safe: at or below the predicted safe step"
        if self.learning_rate <= self.eta_no_gain:
            return "risky: above the safe step, below the step where J stops rising"
        return "unsafe: above the step where the success rate stops rising"

    def __str__(self) -> str:
        rows = [f"step-size check ({self.mode}, algorithm={self.algorithm})",
                f"  success rate J          {self.success_rate:.4g}"]
        rows += [f"  {k:<23} {v:.4g}" if isinstance(v, float) else f"  {k:<23} {v}"
                 for k, v in self.details.items()]
        if self.mode == "statistics":
            rows.append(f"  theory's guaranteed step {self.eta_safe:.3g}  (a bound, not a recommendation)")
        else:
            rows += [f"  predicted safe step     {self.eta_safe:.3g}",
                     f"  J stops rising beyond   {self.eta_no_gain:.3g}"]
        if self.learning_rate is not None:
            rows.append(f"  learning rate {self.learning_rate:.3g}: {self.verdict}")
        rows.append("  assumptions:")
        rows += [f"   - {a}" for a in self.assumptions]
        if self.mode == "statistics":
            rows += ["  reading: the theorem's sufficient condition from the constants given; on bandits it",
                     "  lies 1-2 orders of magnitude below the measured threshold (notebook 10). For the",
                     "  largest safe rate of your own GRPO run, measure it from the starting model:",
                     "    python -m rlvr_core.llm.range_test --config <run.yaml> --lrs 1e-3:10:25 --exponential"]
        return "\n".join(rows)


def check_step_size(*, success_rate: float, response_length: int, token_grad_norm: float,
                    token_smoothness: float, algorithm: str = "grpo", moment: str = "worst_case",
                    max_length: int | None = None, learning_rate: float | None = None
                    ) -> StepSizeReport:
    """The safe step from statistics (see the module docstring for the derivation)."""
    J = check_probability("success_rate", success_rate)
    T = check_int("response_length", response_length, minimum=1)
    G = check_positive("token_grad_norm", token_grad_norm)
    L = check_positive("token_smoothness", token_smoothness, allow_zero=True)
    check_choice("algorithm", algorithm, ("gap", *ALGORITHMS))
    check_choice("moment", moment, MOMENTS)
    if learning_rate is not None:
        check_positive("learning_rate", learning_rate)
    if algorithm == "dr_grpo" and max_length is None:
        max_length = T
    c = float(population_direction(algorithm, torch.tensor(J, dtype=torch.float64),
                                   torch.ones(1, dtype=torch.float64), length=T,
                                   max_length=max_length)[0])
    G_o_sq = (T * G) ** 2 if moment == "worst_case" else T * G**2
    constant = 2 * T * L + G_o_sq
    eta = 1.0 / (c * constant)
    return StepSizeReport(
        mode="statistics", algorithm=algorithm, success_rate=J, eta_safe=eta, eta_no_gain=2 * eta,
        learning_rate=learning_rate,
        details={"response length T": T, "direction factor c": c, "L_o (<= T L)": T * L,
                 "G_o^2": G_o_sq, "2 L_o + G_o^2": constant},
        assumptions=[
            "exact baseline and fixed length: w = c(J, T) g (population direction)",
            f"G_o^2 = {'(T G)^2, every token score aligned' if moment == 'worst_case' else 'T G^2, uncorrelated token scores (typical response)'}",
            "L_o <= T L from per-token Hessian bounds",
            "plain SGD step theta + eta w: no Adam, no clipping, no KL",
            "above the bound the theorem is silent: collapse is possible, not certain"])


def _flat(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([g.reshape(-1) for g in grads])


@contextmanager
def shifted_parameters(params: Sequence[torch.Tensor], direction: torch.Tensor, t: float):
    """Inside the block the parameters are theta + t * direction (``direction`` flat, in the order
    of ``params``); afterwards they are restored bit for bit, whatever happened inside."""
    saved = [p.detach().clone() for p in params]
    try:
        with torch.no_grad():
            offset = 0
            for p in params:
                n = p.numel()
                p.add_(direction[offset:offset + n].view_as(p).to(p.dtype), alpha=t)
                offset += n
        yield
    finally:
        with torch.no_grad():
            for p, v in zip(params, saved):
                p.copy_(v)


def _conditional_moments(x: torch.Tensor, mask: torch.Tensor):
    """Per-prompt mean and variance of x over the responses selected by mask ([P, G])."""
    n = mask.sum(-1).clamp_min(1)
    mean = (x * mask).sum(-1) / n
    var = (((x - mean.unsqueeze(-1)) ** 2) * mask).sum(-1) / n
    return mean, var


def update_and_gap(log_prob_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor],
                   rewards: torch.Tensor, lengths: torch.Tensor, algorithm: str,
                   max_length: int | None = None):
    """The flat update direction w of ``algorithm`` and the Gradient Gap g of a probe batch
    (two backward passes), and the sequence log-probabilities ``[P, G]`` (float64)."""
    P, G = rewards.shape
    lp = log_prob_fn()
    if lp.shape != rewards.shape:
        raise ValueError(f"log_prob_fn returned shape {tuple(lp.shape)}: expected {tuple(rewards.shape)}")
    coef_w = (group_advantages(rewards, ALGORITHMS[algorithm][0])
              * response_weights(algorithm, lengths, max_length) / (G * P))
    coef_g = group_gap_weights(rewards)[0]
    lp64 = lp.double()
    w = _flat(torch.autograd.grad((coef_w * lp64).sum(), params, retain_graph=True)).double()
    g = _flat(torch.autograd.grad((coef_g * lp64).sum(), params)).double()
    return w, g, lp64


def probe_step_size(log_prob_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor],
                    rewards, lengths=None, *, algorithm: str = "grpo",
                    max_length: int | None = None, learning_rate: float | None = None,
                    eps: float = 1e-3) -> StepSizeReport:
    """The local safe step on a probe batch.

    ``log_prob_fn()`` returns the sequence log-probabilities ``[P, G]`` of fixed sampled
    responses (P prompts, G responses each) under the current ``params`` (the tensors it
    depends on, with ``requires_grad``); ``rewards`` and ``lengths`` are ``[P, G]``.
    """
    check_choice("algorithm", algorithm, ALGORITHMS)
    check_positive("eps", eps)
    if learning_rate is not None:
        check_positive("learning_rate", learning_rate)
    params = list(params)
    if not params:
        raise ValueError("params is empty: expected the tensors log_prob_fn depends on")
    r = torch.as_tensor(rewards, dtype=torch.float64)
    if r.ndim != 2 or r.shape[1] < 2:
        raise ValueError(f"rewards has shape {tuple(r.shape)}: expected [P, G] with G >= 2")
    lengths = torch.ones_like(r) if lengths is None else torch.as_tensor(lengths, dtype=torch.float64)
    mixed = (r.sum(-1) > 0) & (r.sum(-1) < r.shape[1])
    if not mixed.any():
        raise ValueError("rewards is invalid: expected at least one prompt of the probe with both "
                         "a correct and an incorrect response (else the Gradient Gap cannot be "
                         "estimated)")
    w, g, lp64 = update_and_gap(log_prob_fn, params, r, lengths, algorithm, max_length)
    P, G = r.shape
    a, w_norm, g_norm = float(w @ g), float(w.norm()), float(g.norm())
    u = w / max(w_norm, 1e-300)
    lp0 = lp64.detach()
    with torch.no_grad():
        with shifted_parameters(params, u, eps):
            lp_plus = log_prob_fn().double()
        with shifted_parameters(params, u, -eps):
            lp_minus = log_prob_fn().double()
    s = (lp_plus - lp_minus) / (2 * eps)          # <u, grad log pi(o)>
    h = (lp_plus - 2 * lp0 + lp_minus) / eps**2     # u' Hess log pi(o) u
    plus, minus = r.bool() & mixed.unsqueeze(-1), (~r.bool()) & mixed.unsqueeze(-1)
    Eh_p, Vs_p = _conditional_moments(s, plus)
    Eh_m, Vs_m = _conditional_moments(s, minus)
    Hh_p, _ = _conditional_moments(h, plus)
    Hh_m, _ = _conditional_moments(h, minus)
    kappa = float(((Vs_p - Vs_m + Hh_p - Hh_m) * mixed).sum() / mixed.sum())
    if a <= 0:
        eta_safe = eta_zero = 0.0
    elif kappa >= 0:
        eta_safe = eta_zero = math.inf
    else:
        eta_safe = a / (w_norm**2 * -kappa)
        eta_zero = 2 * eta_safe
    return StepSizeReport(
        mode="probe", algorithm=algorithm, success_rate=float(r.mean()), eta_safe=eta_safe,
        eta_no_gain=eta_zero, learning_rate=learning_rate,
        details={"prompts x group": f"{P} x {G} ({int(mixed.sum())} prompts with mixed rewards)",
                 "||g|| (Gradient Gap)": g_norm, "||w|| (update)": w_norm,
                 "cos(w, g)": a / max(w_norm * g_norm, 1e-300), "<w, g>": a,
                 "curvature along w/||w||": kappa, "mean length": float(lengths.mean())},
        assumptions=["local second-order model of logit J around the current parameters",
                     "g, w and the curvature estimated from the probe's sampled responses",
                     "plain SGD step theta + lr * w: no Adam, no clipping, no KL",
                     f"finite differences with eps={eps:g} along w/||w||"])
