"""The Gradient Gap and the quantities around it (claim P1, notebook 01), exact and Monte Carlo.

For one prompt q, with score s(o) = grad log pi(o|q) and binary reward r:

    J      = P[r = 1]
    mu_plus  = E[s | r = 1],   mu_minus = E[s | r = 0]
    g      = mu_plus - mu_minus                     (the Gradient Gap)

Exact functions enumerate the responses; ``mc_gap`` replaces the expectations by averages
over sampled responses. All tensors are float64; prompts are the leading axis ``P``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.func import hessian, jacfwd, jacrev

from rlvr_core.paper.policies import DTYPE, ResponsePolicy
from rlvr_core.infra.arguments import check_int, check_seed


@dataclass(frozen=True)
class GapStats:
    """Per-prompt statistics: ``J``, ``log_odds`` are ``[P]``; vectors are ``[P, d]``."""

    J: torch.Tensor
    mu_plus: torch.Tensor
    mu_minus: torch.Tensor
    gap: torch.Tensor

    @property
    def log_odds(self) -> torch.Tensor:
        return torch.logit(self.J)

    @property
    def policy_gradient(self) -> torch.Tensor:
        """grad J predicted by the identity grad J = J (1 - J) g."""
        return (self.J * (1 - self.J)).unsqueeze(-1) * self.gap


def _require_both_outcomes(policy: ResponsePolicy) -> None:
    r = policy.rewards
    if torch.any(r.sum(-1) == 0):
        raise ValueError("rewards is invalid: expected at least one correct response per prompt "
                         "(the Gradient Gap is undefined without one)")
    if torch.any(r.sum(-1) == r.shape[-1]):
        raise ValueError("rewards is invalid: expected at least one incorrect response per prompt "
                         "(the Gradient Gap is undefined without one)")


def success_prob(policy: ResponsePolicy, theta) -> torch.Tensor:
    """J_q(theta) for every prompt, batched over leading dims of theta: ``[..., P]``."""
    return (policy.probs(theta) * policy.rewards).sum(-1)


def score_matrix(policy: ResponsePolicy, theta) -> torch.Tensor:
    """grad_theta log pi(o|q) for every prompt and response, by autograd: ``[P, N, d]``."""
    theta = policy.check_theta(theta)
    if theta.ndim != 1:
        raise ValueError(f"theta has shape {tuple(theta.shape)}: expected a flat vector [d]")
    return jacrev(policy.log_probs)(theta)


def exact_gap(policy: ResponsePolicy, theta) -> GapStats:
    """J, mu_plus, mu_minus and the Gradient Gap by exact enumeration of the responses."""
    _require_both_outcomes(policy)
    scores = score_matrix(policy, theta)
    p, r = policy.probs(theta), policy.rewards
    J = (p * r).sum(-1)
    mu_plus = torch.einsum("pn,pnd->pd", p * r, scores) / J.unsqueeze(-1)
    mu_minus = torch.einsum("pn,pnd->pd", p * (1 - r), scores) / (1 - J).unsqueeze(-1)
    return GapStats(J=J, mu_plus=mu_plus, mu_minus=mu_minus, gap=mu_plus - mu_minus)


def grad_success_prob(policy: ResponsePolicy, theta) -> torch.Tensor:
    """grad J_q by differentiating J_q itself (no identity used): ``[P, d]``."""
    return jacrev(lambda t: success_prob(policy, t))(policy.check_theta(theta))


def grad_log_odds(policy: ResponsePolicy, theta) -> torch.Tensor:
    """grad logit J_q by differentiating logit J_q itself: ``[P, d]``."""
    return jacrev(lambda t: torch.logit(success_prob(policy, t)))(policy.check_theta(theta))


def _second_derivative_along(f, theta, w):
    """d^2/dt^2 f(theta + t w) at t = 0, by forward-mode autograd twice."""
    t0 = torch.zeros((), dtype=DTYPE)
    return jacfwd(jacfwd(lambda t: f(theta + t * w)))(t0)


def log_odds_curvature(policy: ResponsePolicy, theta, w) -> torch.Tensor:
    """d^2/dt^2 logit J_q(theta + t w) at t = 0, by autograd: ``[P]``."""
    theta, w = policy.check_theta(theta), policy.check_theta(w)
    return _second_derivative_along(lambda t: torch.logit(success_prob(policy, t)), theta, w)


def curvature_identity(policy: ResponsePolicy, theta, w) -> torch.Tensor:
    """The right-hand side of the curvature identity, ``[P]``:

        Var+(s) - Var-(s) + E+[h] - E-[h],  s = <w, grad log pi(o)>,  h = w' Hess log pi(o) w,

    where + and - are the conditional laws given r = 1 and r = 0.
    """
    _require_both_outcomes(policy)
    theta, w = policy.check_theta(theta), policy.check_theta(w)
    s = score_matrix(policy, theta) @ w
    h = _second_derivative_along(policy.log_probs, theta, w)
    p, r = policy.probs(theta), policy.rewards
    out = []
    for weight in (p * r, p * (1 - r)):
        weight = weight / weight.sum(-1, keepdim=True)
        mean = (weight * s).sum(-1)
        var = (weight * (s - mean.unsqueeze(-1)) ** 2).sum(-1)
        out.append(var + (weight * h).sum(-1))
    return out[0] - out[1]


def conditional_score_moments(policy, theta, w) -> dict:
    """Moments of the directional score u(o) = <s(o), w> of an enumerable single-prompt policy,
    split by reward (+ correct, - incorrect):

    ``J``, ``var_plus`` = Var(u | correct), ``var_minus`` = Var(u | incorrect), ``m2`` = E u^2,
    ``m2_plus`` = E[u^2 | correct], ``m2_minus`` = E[u^2 | incorrect] and ``h_plus`` /
    ``h_minus``, the conditional means of the directional Hessian w^T H log pi(o) w. These enter
    d^2/dt^2 logit J(theta + t w) = Var+(u) - Var-(u) + E+[h] - E-[h] (:func:`curvature_identity`)."""
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


def sample_responses(policy: ResponsePolicy, theta, n: int, generator: torch.Generator
                     ) -> torch.Tensor:
    """Indices of ``n`` responses drawn from pi_theta(.|q) for every prompt: ``[P, n]``."""
    check_int("n", n, minimum=1)
    return torch.multinomial(policy.probs(theta), n, replacement=True, generator=generator)


def mc_gap(policy: ResponsePolicy, theta, n: int, seed: int = 0) -> GapStats:
    """Monte-Carlo estimates from ``n`` sampled responses per prompt.

    J is the fraction of correct samples; mu_plus (mu_minus) the mean score of the correct
    (incorrect) samples; a prompt with no correct or no incorrect sample gets NaN.
    """
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    idx = sample_responses(policy, theta, n, gen)
    scores = torch.gather(score_matrix(policy, theta), 1,
                          idx.unsqueeze(-1).expand(-1, -1, policy.dim))
    r = torch.gather(policy.rewards, 1, idx)
    n_plus, n_minus = r.sum(-1), (1 - r).sum(-1)
    mu_plus = torch.einsum("pn,pnd->pd", r, scores) / n_plus.unsqueeze(-1)
    mu_minus = torch.einsum("pn,pnd->pd", 1 - r, scores) / n_minus.unsqueeze(-1)
    return GapStats(J=n_plus / n, mu_plus=mu_plus, mu_minus=mu_minus, gap=mu_plus - mu_minus)


def mc_policy_gradient(policy: ResponsePolicy, theta, n: int, seed: int = 0) -> torch.Tensor:
    """The REINFORCE estimate of grad J: mean of r(o) s(o) over ``n`` samples: ``[P, d]``."""
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    idx = sample_responses(policy, theta, n, gen)
    scores = torch.gather(score_matrix(policy, theta), 1,
                          idx.unsqueeze(-1).expand(-1, -1, policy.dim))
    r = torch.gather(policy.rewards, 1, idx)
    return torch.einsum("pn,pnd->pd", r, scores) / n


def relative_error(estimate, reference) -> float:
    """max |a - b| / max(|b|, tiny) over all entries (a single number for tables)."""
    a, b = torch.as_tensor(estimate, dtype=DTYPE), torch.as_tensor(reference, dtype=DTYPE)
    scale = b.abs().max().clamp_min(1e-300)
    return float((a - b).abs().max() / scale)


def finite_difference_curvature(policy: ResponsePolicy, theta, w, h: float = 1e-3) -> torch.Tensor:
    """Central second difference of logit J_q(theta + t w) at t = 0 (no autograd): ``[P]``."""
    from rlvr_core.infra.arguments import check_positive

    check_positive("h", h)
    theta, w = policy.check_theta(theta), policy.check_theta(w)
    f = lambda t: torch.logit(success_prob(policy, theta + t * w))  # noqa: E731
    return (f(h) - 2 * f(0.0) + f(-h)) / h**2


def curvature_checks(policy: ResponsePolicy, theta, w, h: float = 1e-3) -> dict[str, float]:
    """The curvature identity (``[P]``, enumeration) against two independent computations:
    autograd's second derivative, and a central finite difference D(h) judged by its own error
    estimate. D(h) = f'' + c h^2 + O(h^4), so |D(2h) - D(h)| / 3 estimates its truncation error
    (Richardson), and float64 round-off adds about 4 eps |logit J| / h^2; the last entry is the
    finite difference's error divided by that estimate (about 1 when the identity holds)."""
    rhs = curvature_identity(policy, theta, w)
    fd, fd2 = (finite_difference_curvature(policy, theta, w, h=step) for step in (h, 2 * h))
    logit = torch.logit(success_prob(policy, policy.check_theta(theta)))
    rounding = 4 * torch.finfo(DTYPE).eps * logit.abs().max() / h**2
    return {"identity vs autograd": relative_error(log_odds_curvature(policy, theta, w), rhs),
            "identity vs finite diff": relative_error(fd, rhs),
            "finite diff error / its estimate":
                float((rhs - fd).abs().max() / ((fd2 - fd).abs().max() / 3 + rounding))}


def identity_errors(policy: ResponsePolicy, theta) -> dict[str, float]:
    """Relative errors of the Gradient Gap identities (notebook 01), each side computed independently:
    enumeration (mu_plus, mu_minus, g) against autograd of J and of logit J."""
    stats = exact_gap(policy, theta)
    J = stats.J.unsqueeze(-1)
    return {
        "mu_plus = (1-J) g": relative_error(stats.mu_plus, (1 - J) * stats.gap),
        "mu_minus = -J g": relative_error(stats.mu_minus, -J * stats.gap),
        "grad J = J(1-J) g": relative_error(stats.policy_gradient, grad_success_prob(policy, theta)),
        "g = grad logit J": relative_error(stats.gap, grad_log_odds(policy, theta)),
        "E[score] = 0": float((policy.probs(theta).unsqueeze(-1) * score_matrix(policy, theta)
                               ).sum(-2).abs().max() / score_matrix(policy, theta).abs().max()),
    }


def mc_gap_errors(policy: ResponsePolicy, theta, sample_sizes, seeds) -> torch.Tensor:
    """Relative error of the Monte-Carlo Gradient Gap against the exact one, ``[len(sizes), len(seeds)]``
    (NaN where a prompt drew no correct or no incorrect response)."""
    exact = exact_gap(policy, theta).gap
    errs = torch.empty(len(sample_sizes), len(seeds), dtype=DTYPE)
    for i, n in enumerate(sample_sizes):
        for j, seed in enumerate(seeds):
            est = mc_gap(policy, theta, int(n), seed=int(seed)).gap
            errs[i, j] = (est - exact).norm() / exact.norm()
    return errs


def group_gap_weights(rewards: torch.Tensor, normalise: bool = True) -> tuple[torch.Tensor, int]:
    """The sampled Gradient Gap as weights on the responses' scores: for rewards ``[P, G]``
    (P groups of G responses, binary), coefficients ``c`` such that ``sum c_i s_i`` is the mean over
    mixed groups of (mean score of the correct responses - mean score of the incorrect ones), and
    the number of mixed groups (groups that are all correct or all wrong carry no gap). With
    ``normalise=False`` the sum over mixed groups instead of the mean (what one process contributes
    before totals are reduced across processes)."""
    correct = (rewards > 0.5).double()
    n_plus = correct.sum(-1, keepdim=True)
    n_minus = rewards.shape[-1] - n_plus
    mixed = (n_plus > 0) & (n_minus > 0)
    c = torch.where(correct > 0, 1.0 / n_plus.clamp(min=1), -1.0 / n_minus.clamp(min=1)) * mixed
    n_mixed = int(mixed.sum())
    if n_mixed and normalise:
        c = c / n_mixed
    return c, n_mixed
