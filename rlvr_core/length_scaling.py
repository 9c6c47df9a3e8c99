"""Reads for the length-scaling and success-rate notebooks (04, 05).

- ``bootstrap_loglog_slope``: the log-log slope of a first-failure threshold against an axis
  (response length, failure rate), with a percentile bootstrap CI over seeds: the seeds are
  resampled, every bracket is recomputed with ``thresholds.bracket_from_seeds`` and the line is
  refitted. The threshold rule is the one of ``thresholds`` (first failure, majority of seeds).
- ``conditional_score_moments``: the conditional second moments of the score along a direction
  on an enumerable policy, the quantities of the curvature identity of logit J.
- ``tail_slope``: the slope of the last part of a mean curve with a bootstrap CI over runs.
"""
from __future__ import annotations

import numpy as np
import torch

from rlvr_core.stats.thresholds import bracket_from_seeds
from rlvr_core.infra.arguments import check_int, check_probability, check_seed

DTYPE = torch.float64

__all__ = ["bootstrap_loglog_slope", "conditional_score_moments", "tail_slope",
           "loglog_fit"]


def loglog_fit(x, y) -> torch.Tensor:
    """Least-squares slope of log y on log x along the last axis, batched over leading axes;
    NaN where any point is not finite and positive."""
    x = torch.as_tensor(x, dtype=DTYPE)
    y = torch.as_tensor(y, dtype=DTYPE)
    lx = x.log()
    ly = y.log()
    ok = torch.isfinite(ly).all(-1) & (y > 0).all(-1)
    lxc = lx - lx.mean()
    slope = ((ly - ly.mean(-1, keepdim=True)) * lxc).sum(-1) / lxc.pow(2).sum()
    return torch.where(ok, slope, torch.full_like(slope, float("nan")))


def bootstrap_loglog_slope(outcomes, grid, x, *, band=(0.5, 0.5), n_boot: int = 1000,
                           seed: int = 0, level: float = 0.9) -> dict:
    """Slope of log eta*(x) on log x for per-seed outcomes ``[X, E, S]`` (True = the seed passed
    at that grid step), with a percentile bootstrap CI over seeds (resampled independently for
    every x). Returns ``slope`` (point estimate), ``ci`` (low, high), ``estimate`` ``[X]``
    (bracket estimates), ``finite_frac`` (fraction of resamples whose every estimate is finite;
    the CI is taken over those) and ``boot`` ``[B]`` (the resampled slopes, NaN where not
    finite)."""
    n_boot = check_int("n_boot", n_boot, minimum=1)
    check_probability("level", level)
    outcomes = torch.as_tensor(outcomes)
    if outcomes.ndim != 3:
        raise ValueError(f"outcomes has shape {tuple(outcomes.shape)}: expected [X, E, S]")
    X, _, S = outcomes.shape
    x = torch.as_tensor(x, dtype=DTYPE)
    if x.shape != (X,):
        raise ValueError(f"x has shape {tuple(x.shape)}: expected [{X}]")
    est = torch.as_tensor(bracket_from_seeds(outcomes, grid, band).estimate, dtype=DTYPE)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    idx = torch.randint(S, (n_boot, X, S), generator=gen)  # [B, X, S]
    res = torch.gather(outcomes.unsqueeze(0).expand(n_boot, -1, -1, -1), 3,
                       idx.unsqueeze(2).expand(-1, -1, outcomes.shape[1], -1))
    boot_est = torch.as_tensor(bracket_from_seeds(res, grid, band).estimate, dtype=DTYPE)
    boot = loglog_fit(x, boot_est)
    fin = boot[torch.isfinite(boot)]
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=DTYPE)
    ci = torch.quantile(fin, q) if len(fin) else torch.full((2,), float("nan"), dtype=DTYPE)
    return {"slope": float(loglog_fit(x, est)), "ci": ci.numpy(), "estimate": est.numpy(),
            "finite_frac": float(len(fin)) / n_boot, "boot": boot.numpy()}


def conditional_score_moments(policy, theta, w) -> dict:
    """Moments of the directional score u(o) = <s(o), w> of an enumerable single-prompt policy,
    split by reward (+ correct, - incorrect):

    ``J``, ``var_plus`` = Var(u | correct), ``var_minus`` = Var(u | incorrect), ``m2`` = E u^2,
    ``m2_plus`` = E[u^2 | correct], ``m2_minus`` = E[u^2 | incorrect] and ``h_plus`` /
    ``h_minus``, the conditional means of the directional Hessian w^T H log pi(o) w. These enter
    d^2/dt^2 logit J(theta + t w) = Var+(u) - Var-(u) + E+[h] - E-[h]."""
    from torch.func import hessian

    from rlvr_core.paper.gap import score_matrix

    theta = torch.as_tensor(theta, dtype=DTYPE)
    w = torch.as_tensor(w, dtype=DTYPE)
    p = policy.probs(theta)[0]
    r = policy.rewards[0]
    s = score_matrix(policy, theta)[0]  # [N, d]
    u = s @ w
    H = hessian(lambda t: policy.log_probs(t)[0])(theta)  # [N, d, d]
    h = torch.einsum("nij,i,j->n", H, w, w)
    J = float((p * r).sum())
    out = {"J": J, "m2": float((p * u * u).sum())}
    for name, mask in (("plus", r), ("minus", 1 - r)):
        q = p * mask
        mass = q.sum()
        mean = (q * u).sum() / mass
        out[f"m2_{name}"] = float((q * u * u).sum() / mass)
        out[f"var_{name}"] = float((q * (u - mean) ** 2).sum() / mass)
        out[f"h_{name}"] = float((q * h).sum() / mass)
    return out


def tail_slope(curves, *, fraction: float = 0.25, n_boot: int = 1000, seed: int = 0,
               level: float = 0.9) -> dict:
    """Least-squares slope (per step) of the mean over runs of ``curves`` ``[R, K]`` on its last
    ``fraction`` of steps, with a percentile bootstrap CI over runs (resampled with replacement).
    Returns ``slope``, ``ci`` (low, high) and ``window`` (first step index, K)."""
    check_probability("fraction", fraction, open_interval=False)
    if fraction <= 0:
        raise ValueError(f"fraction={fraction!r} is invalid: expected a number in (0, 1]")
    n_boot = check_int("n_boot", n_boot, minimum=1)
    curves = torch.as_tensor(curves, dtype=DTYPE)
    if curves.ndim != 2 or curves.shape[0] < 2:
        raise ValueError(f"curves has shape {tuple(curves.shape)}: expected [R >= 2, K]")
    R, K = curves.shape
    start = int(np.floor(K * (1 - fraction)))
    if K - start < 2:
        raise ValueError("fraction is too small: the tail needs at least two steps")
    t = torch.arange(start, K, dtype=DTYPE)
    tc = t - t.mean()
    tail = curves[:, start:]

    def fit(mean):
        return ((mean - mean.mean(-1, keepdim=True)) * tc).sum(-1) / tc.pow(2).sum()

    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    idx = torch.randint(R, (n_boot, R), generator=gen)
    boot = fit(tail[idx].mean(1))
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=DTYPE)
    return {"slope": float(fit(tail.mean(0))), "ci": torch.quantile(boot, q).numpy(),
            "window": (start, K)}


def safe_step_along_gap(policy, thetas, grid) -> dict:
    """One-step line search along w = g = grad logit J (first-failure rule of
    ``thresholds.one_step_safe_eta``) at every start ``thetas`` ``[M, d]`` of a single-prompt
    enumerable policy. Returns ``fail`` ``[M]`` (1 - J at the start) and ``safe`` ``[M]`` (the
    last passing grid step; NaN when even the smallest step fails)."""
    from rlvr_core.paper.gap import grad_log_odds, success_prob
    from rlvr_core.stats.thresholds import one_step_safe_eta

    thetas = torch.as_tensor(thetas, dtype=DTYPE)
    J = success_prob(policy, thetas)[..., 0]
    g = torch.stack([grad_log_odds(policy, t)[0] for t in thetas])
    b = one_step_safe_eta(lambda t: success_prob(policy, t)[..., 0], thetas, g, grid)
    return {"fail": (1 - J).numpy(), "safe": torch.as_tensor(b.last_pass).numpy()}
