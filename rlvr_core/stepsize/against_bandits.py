"""The step-size checker validated against exact computations on bandits (notebook 10's study).

The tool itself lives in :mod:`rlvr_core.stepsize.checker`; this module holds what checks it: the probe run
on an enumerable policy, the exact one-step line search, and the comparison table over random
log-linear bandits.
"""
from __future__ import annotations

import math

import torch

from rlvr_core.stepsize.checker import StepSizeReport, check_step_size, probe_step_size
from rlvr_core.paper.directions import population_direction
from rlvr_core.stats.thresholds import Bracket, first_failure
from rlvr_core.infra.arguments import check_grid, check_int, check_probability


def probe_policy(policy, theta, group_size: int, *, algorithm: str = "grpo_no_length",
                 seed: int = 0, learning_rate: float | None = None) -> StepSizeReport:
    """``probe_step_size`` on a ``ResponsePolicy`` (bandits, enumerated token models): draws
    ``group_size`` responses per prompt and probes the update they define."""
    from rlvr_core.paper.gap import sample_responses
    from rlvr_core.infra.arguments import check_seed

    check_int("group_size", group_size, minimum=2)
    theta = policy.check_theta(theta).detach().clone().requires_grad_(True)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    idx = sample_responses(policy, theta.detach(), group_size, gen)
    rewards = torch.gather(policy.rewards, 1, idx)
    return probe_step_size(lambda: torch.gather(policy.log_probs(theta), 1, idx), [theta], rewards,
                           algorithm=algorithm, learning_rate=learning_rate)


def one_step_threshold(policy, theta, w, etas, *, keep: float = 0.0) -> Bracket:
    """The exact largest step on the increasing grid ``etas`` up to which one step theta + eta w
    keeps at least the fraction ``keep`` of its first-order gain in the mean log-odds:
    mean_q logit J_q(theta + eta' w) - mean_q logit J_q(theta) >= keep * eta' * <w, mean_q g_q>
    for every grid step eta' <= eta (``keep=0``: J does not fall; ``keep=0.5``: the safe step of
    the checker). A ``thresholds.Bracket``: ``last_pass`` is that step (NaN if even the smallest
    step loses), ``first_fail`` NaN if the whole grid qualifies."""
    from rlvr_core.paper.gap import exact_gap, success_prob

    etas = torch.as_tensor(etas, dtype=torch.float64)
    if etas.ndim != 1:
        raise ValueError(f"etas has shape {tuple(etas.shape)}: expected a 1-D grid of steps")
    etas = torch.tensor(check_grid("etas", etas.tolist(), increasing=True), dtype=torch.float64)
    check_probability("keep", keep, open_interval=False)
    theta = policy.check_theta(theta).detach()
    w = policy.check_theta(w).detach()
    slope = float(w @ exact_gap(policy, theta).gap.mean(0))
    base = torch.logit(success_prob(policy, theta)).mean()
    gain = torch.logit(success_prob(policy, theta + etas[:, None] * w)).mean(-1) - base
    return first_failure(gain >= keep * etas * slope, etas)


def compare_on_bandits(num_instances: int, group_sizes=(64, 1024), *, algorithm: str = "grpo_no_length",
                       seed: int = 0, etas=None):
    """The checker against exact computations on random one-prompt log-linear bandits (8
    responses, d = 3, 1-3 correct, J_0 in (0.05, 0.95)). One row per instance: the statistics
    bound with the exact constants (``stat``), the exact quadratic-model step (``quad``), the probe's
    estimate for each group size (``probe_G``), their curvature estimates, and the exact step that
    keeps half the first-order gain (``exact``), all along the population direction."""
    import pandas as pd

    from rlvr_core.paper.gap import curvature_identity, exact_gap
    from rlvr_core.paper.policies import random_log_linear
    from rlvr_core.paper.theory import loglinear_constants
    from rlvr_core.infra.arguments import check_seed

    n = check_int("num_instances", num_instances, minimum=1)
    check_seed("seed", seed)
    etas = torch.logspace(-2, 3, 500, dtype=torch.float64) if etas is None else etas
    rows, i = [], 0
    while len(rows) < n:
        pol = random_log_linear(1, 8, 3, num_correct=1 + i % 3, seed=seed + i)
        theta = torch.randn(3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 10_000 + i))
        i += 1
        st = exact_gap(pol, theta)
        if not 0.05 < float(st.J) < 0.95:
            continue
        w = population_direction(algorithm, st.J, st.gap).mean(0)
        a, wn = float(w @ st.gap.mean(0)), float(w.norm())
        kappa = float(curvature_identity(pol, theta, w / wn).mean())
        L, G = (float(c) for c in loglinear_constants(pol.features[0]))
        row = {"J": float(st.J), "kappa": kappa,
               "stat": check_step_size(success_rate=float(st.J), response_length=1, token_grad_norm=G,
                                       token_smoothness=L, algorithm=algorithm).eta_safe,
               "quad": a / (wn**2 * -kappa) if kappa < 0 else math.inf,
               "exact": one_step_threshold(pol, theta, w, etas, keep=0.5).last_pass}
        for g in group_sizes:
            rep = probe_policy(pol, theta, g, algorithm=algorithm, seed=seed + i)
            row[f"probe_{g}"] = rep.eta_safe
            row[f"kappa_{g}"] = rep.details["curvature along w/||w||"]
        rows.append(row)
    return pd.DataFrame(rows)
