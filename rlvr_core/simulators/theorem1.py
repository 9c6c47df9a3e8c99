"""Theorem 1 on many runs (claim P2, notebook 02): the negative control (steps above the bound)
and the aggregate reading for several prompts that share theta.

Negative control. Theorem 1's hypothesis is eta_k <= [Delta mu_k]_+ / C(w_k). Running at
c times that bound, c > 1, the guarantee logit J_k - logit J_0 >= M(k)/2 is no longer implied; the
check "margin >= 0" can then fail, and the multiplier at which it first fails measures how much
slack a constant leaves. :func:`negative_control` runs every instance at every multiplier of an
increasing grid (one batched ``sim.simulate`` call) and reads the first failure with
``thresholds.first_failure``.

Aggregate reading [derived]. With P prompts sharing theta, the per-prompt hypothesis
eta_k <= min_q [Delta mu_q]_+ / C_q forces eta_k = 0 as soon as one prompt has Delta mu_q <= 0, and
a deterministic run then never moves again. The aggregate objective
    f(theta) = (1/P) sum_q logit J_q(theta)
has gradient g_bar = (1/P) sum_q g_q and curvature f'' = (1/P) sum_q f_q'' >= -(1/P) sum_q C_q(w),
so the same Taylor argument gives, for eta <= [<w, g_bar>]_+ / C_bar(w) with
C_bar(w) = (1/P) sum_q C_q(w),
    f(theta + eta w) >= f(theta) + eta [<w, g_bar>]_+ / 2,
i.e. the mean log-odds over prompts gains at least M_bar(K)/2 with M_bar = sum eta_k [<w_k, g_bar>]_+.
For w = g_bar the alignment is ||g_bar||^2 > 0 whenever g_bar != 0, so the rule never freezes.
The per-prompt guarantee is given up; the guarantee is for the mean log-odds.
"""
from __future__ import annotations

import torch

from rlvr_core.paper import theory
from rlvr_core.paper.policies import DTYPE
from rlvr_core.simulators.sim import SimResult, check_batch, gap_stats, simulate
from rlvr_core.infra.threads import few_threads
from rlvr_core.stats.thresholds import Bracket, first_failure
from rlvr_core.infra.arguments import check_choice, check_grid, check_int, check_positive

__all__ = ["AGGREGATE_RULES", "NegativeControl", "aggregate_bound_run", "frozen_fraction",
           "negative_control"]

AGGREGATE_RULES = ("theorem1", "companion", "sharp")


def aggregate_bound_run(features, rewards, theta0, multiplier: float, num_steps: int, *,
                        step_rule: str = "theorem1") -> SimResult:
    """Run w_k = g_bar(theta_k) at eta_k = c [<w, g_bar>]_+ / C_bar(w) (module docstring).

    ``features`` ``[B, P, N, d]``, ``rewards`` ``[B, P, N]``, ``theta0`` ``[B, d]``; ``multiplier``
    c > 0 (Theorem 1's hypothesis is c <= 1). ``step_rule``: ``"theorem1"`` (C_q = 2 (L_q + 8 G_q^2)
    ||w||^2), ``"companion"`` ((2 L_q + G_q^2) ||w||^2) or ``"sharp"`` (R-_q(w)^2 / 4).
    Returns a SimResult with one "prompt" (P = 1): ``log_odds`` is the mean log-odds over the
    prompts, ``alignment`` is <w, g_bar>, ``M`` is M_bar, so ``margin`` is the aggregate margin."""
    check_choice("step_rule", step_rule, AGGREGATE_RULES)
    c = check_positive("multiplier", multiplier)
    K = check_int("num_steps", num_steps, minimum=1)
    phi, r, theta, _ = check_batch(features, rewards, theta0, c)
    B, P, N, d = phi.shape
    if step_rule != "sharp":
        L, G = theory.loglinear_constants(phi)  # [B, P]
        const = (theory.theorem1_constant(L, G) if step_rule == "theorem1"
                 else theory.companion_constant(L, G)).mean(-1)  # [B]
    log_odds = torch.empty(K + 1, B, 1, dtype=DTYPE)
    alignment = torch.empty(K, B, 1, dtype=DTYPE)
    eta_rec = torch.empty(K, B, dtype=DTYPE)
    w_norm = torch.empty(K, B, dtype=DTYPE)
    with few_threads(phi.numel()):
        for k in range(K + 1):
            lo, g, _ = gap_stats(phi, r, theta)
            log_odds[k, :, 0] = lo.mean(-1)
            if k == K:
                break
            w = g.mean(1)
            al = (w * w).sum(-1)  # <w, g_bar> with w = g_bar
            if step_rule == "sharp":
                curv = theory.sharp_curvature_constant(phi, r, w).mean(-1)
                eta = theory.sharp_step(al, curv)
            else:
                eta = theory.step_bound(al, al, const)
            eta = torch.where(al > 0, c * eta, torch.zeros_like(eta))
            alignment[k, :, 0], eta_rec[k], w_norm[k] = al, eta, al.sqrt()
            theta = theta + eta.unsqueeze(-1) * w
    M = theory.cumulative_progress(eta_rec.unsqueeze(-1), alignment)
    return SimResult(log_odds=log_odds, alignment=alignment, M=M, eta=eta_rec, w_norm=w_norm,
                     theta_final=theta)


def frozen_fraction(result: SimResult) -> tuple[float, float]:
    """(fraction of runs with eta_0 = 0, fraction with eta_k = 0 at every step)."""
    eta = result.eta
    return float((eta[0] == 0).to(DTYPE).mean()), float((eta == 0).all(0).to(DTYPE).mean())


class NegativeControl:
    """Runs at c x the per-step bound for every c of ``multipliers`` and every instance.

    ``violated`` ``[I, E]``: the run's margin went below ``-tol`` at some step;
    ``fraction`` ``[E]``: fraction of instances violating at each c;
    ``bracket``: first failure of "no instance violates" over the grid (a Bracket of floats);
    ``per_run``: first failure per instance (a Bracket of ``[I]`` tensors);
    ``min_margin`` ``[I, E]``: each run's smallest margin over its steps."""

    def __init__(self, min_margin: torch.Tensor, multipliers: torch.Tensor, tol: float):
        self.multipliers = multipliers
        self.min_margin = min_margin
        self.violated = min_margin < -tol
        self.fraction = self.violated.to(DTYPE).mean(0)
        self.bracket: Bracket = first_failure(~self.violated.any(0), multipliers, name="multipliers")
        self.per_run: Bracket = first_failure(~self.violated, multipliers, name="multipliers")


def negative_control(features, rewards, theta0, multipliers, num_steps: int, *,
                     step_rule: str = "theorem1", direction: str = "gap", tol: float = 1e-9
                     ) -> NegativeControl:
    """Run I instances (``features`` ``[I, P, N, d]``, ``rewards`` ``[I, P, N]``, ``theta0``
    ``[I, d]``) at each multiplier c of the increasing grid ``multipliers`` ``[E]`` with
    ``sim.simulate``'s per-prompt rule ``step_rule``; a run violates when its Theorem 1 margin
    (every prompt, every step) falls below ``-tol``."""
    grid = torch.tensor(check_grid("multipliers", list(multipliers), increasing=True), dtype=DTYPE)
    check_positive("tol", tol)
    phi = torch.as_tensor(features, dtype=DTYPE)
    r = torch.as_tensor(rewards, dtype=DTYPE)
    th = torch.as_tensor(theta0, dtype=DTYPE)
    if phi.ndim != 4 or r.ndim != 3 or th.ndim != 2 or not phi.shape[0] == r.shape[0] == th.shape[0]:
        raise ValueError(f"features {tuple(phi.shape)}, rewards {tuple(r.shape)}, theta0 "
                         f"{tuple(th.shape)}: expected [I, P, N, d], [I, P, N], [I, d]")
    I, E = phi.shape[0], len(grid)
    res = simulate(phi.repeat(E, 1, 1, 1), r.repeat(E, 1, 1), th.repeat(E, 1),
                   grid.repeat_interleave(I), num_steps, step_rule=step_rule, direction=direction)
    min_margin = res.margin.amin(dim=(0, 2)).reshape(E, I).T  # [I, E]
    return NegativeControl(min_margin, grid, tol)
