"""Trajectory-level theory (claims P2-P5, notebooks 02-05): the constants L_o, G_o, Theorem 1's
step bound, the companion's sharper bounds from the curvature identity, and the predicted
lower-bound trajectory.

Notation. For one prompt, f(theta) = logit J(theta) (the log-odds of success); its gradient is
the Gradient Gap g. Along a direction w the curvature identity gives
    d^2/dt^2 f(theta + t w) = Var+(s) - Var-(s) + E+[h] - E-[h],
with s = <w, grad log pi(o)>, h = w' Hess log pi(o) w, + / - the laws given r = 1 / r = 0.

[derived] Taylor's theorem with the integral remainder gives, for any step eta >= 0,
    f(theta + eta w) >= f(theta) + eta <w, g> - (eta^2 / 2) * C(w),
where C(w) bounds the negative part of the curvature on the segment. If eta <= [<w,g>]_+ / C(w)
the gain is at least eta <w, g> / 2 = eta [Delta mu]_+ / 2; summing, logit J_K >= logit J_0 + M(K)/2.

Three admissible values of C(w), from loosest to sharpest (all valid for every theta):
- paper   : 2 (L_o + 8 G_o^2) ||w||^2   (Theorem 1's constant, read with ||w|| = 1 scaled out);
- companion: (2 L_o + G_o^2) ||w||^2    (|Var+ - Var-| <= G_o^2 ||w||^2, |E+h - E-h| <= 2 L_o ||w||^2);
- sharp (log-linear only): R-(w)^2 / 4 where R-(w) is the range of <w, phi(o)> over the incorrect
  responses. For pi ∝ exp(theta . phi) the Hessian of log pi is -Cov_pi(phi) for every o, so
  E+h - E-h = 0 and the curvature is Var+(s) - Var-(s) >= -Var-(s) >= -R-(w)^2/4 (Popoviciu).
Here G_o = sup ||grad log pi(o)|| and L_o = sup ||Hess log pi(o)||_op over theta, o.
"""
from __future__ import annotations

import math

import torch

from rlvr_core.paper.policies import DTYPE, ResponsePolicy
from rlvr_core.infra.arguments import check_int, check_positive



def _t(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=DTYPE)


def check_features(features) -> torch.Tensor:
    phi = _t(features)
    if phi.ndim < 2 or phi.shape[-2] < 2 or phi.shape[-1] < 1:
        raise ValueError(f"features has shape {tuple(phi.shape)}: expected [..., N, d] with N >= 2")
    return phi


def feature_diameter(features) -> torch.Tensor:
    """D = max_{o,o'} ||phi(o) - phi(o')|| per prompt: ``[..., N, d]`` -> ``[...]``."""
    phi = check_features(features)
    diff = phi.unsqueeze(-2) - phi.unsqueeze(-3)
    return diff.norm(dim=-1).flatten(-2).amax(-1)


def loglinear_constants(features) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_o, G_o) of the log-linear policy, per prompt, valid for every theta [derived]:

    - grad log pi(o) = phi(o) - E_pi phi and E_pi phi lies in the convex hull of the features,
      so ||grad log pi(o)|| <= max_{o'} ||phi(o) - phi(o')|| = D; the bound is the supremum
      (approached as pi concentrates on the farthest response). G_o = D.
    - Hess log pi(o) = -Cov_pi(phi); for a unit u, u' Cov u = Var_pi <u, phi> <= (range)^2/4
      <= D^2/4 (Popoviciu's inequality). L_o = D^2/4 (an upper bound of the supremum).
    """
    D = feature_diameter(features)
    return D ** 2 / 4, D


def theorem1_constant(L, G) -> torch.Tensor:
    """The paper's constant 2 (L_o + 8 G_o^2) of Theorem 1's step bound."""
    return 2 * (_t(L) + 8 * _t(G) ** 2)


def companion_constant(L, G) -> torch.Tensor:
    """The companion's constant 2 L_o + G_o^2 from the curvature identity [derived]."""
    return 2 * _t(L) + _t(G) ** 2


def sharp_curvature_constant(features, rewards, w) -> torch.Tensor:
    """R-(w)^2 / 4 for a log-linear policy: a bound on the negative part of the log-odds
    curvature along w that holds for every theta [derived].

    ``features`` ``[..., P, N, d]``, ``rewards`` ``[..., P, N]``, ``w`` ``[..., d]`` -> ``[..., P]``.
    Zero when there is a single incorrect response (the curvature is then >= 0).
    """
    phi = check_features(features)
    r = _t(rewards)
    w = _t(w)
    proj = torch.einsum("...pnd,...d->...pn", phi, w)
    wrong = r == 0
    hi = proj.masked_fill(~wrong, -math.inf).amax(-1)
    lo = proj.masked_fill(~wrong, math.inf).amin(-1)
    return ((hi - lo) ** 2 / 4).nan_to_num(0.0)


def step_bound(alignment, w_norm_sq, constant) -> torch.Tensor:
    """eta_max = [alignment]_+ / (constant * ||w||^2), 0 where w = 0."""
    a = _t(alignment).clamp_min(0)
    denom = _t(constant) * _t(w_norm_sq)
    return torch.where(denom > 0, a / denom.clamp_min(1e-300), torch.zeros_like(a))


def theorem1_step(alignment, w_norm_sq, L, G) -> torch.Tensor:
    """Theorem 1's step bound [Delta mu]_+ / (2 (L_o + 8 G_o^2) ||w||^2).

    The paper writes it without ||w||^2; the companion's reading (the paper's normalisation of
    Delta mu is not known here, notebook 02) keeps the factor so that the bound is invariant to
    rescaling w; both agree for ||w|| = 1."""
    return step_bound(alignment, w_norm_sq, theorem1_constant(L, G))


def companion_step(alignment, w_norm_sq, L, G) -> torch.Tensor:
    """The companion's bound [Delta mu]_+ / ((2 L_o + G_o^2) ||w||^2) [derived]."""
    return step_bound(alignment, w_norm_sq, companion_constant(L, G))


def sharp_step(alignment, curvature_constant) -> torch.Tensor:
    """[Delta mu]_+ / C(w) with C(w) from :func:`sharp_curvature_constant` (already includes
    the scale of w); +inf where C(w) = 0 and the alignment is positive."""
    a = _t(alignment).clamp_min(0)
    c = _t(curvature_constant)
    return torch.where(c > 0, a / c.clamp_min(1e-300),
                       torch.where(a > 0, torch.full_like(a, math.inf), torch.zeros_like(a)))


def cumulative_progress(eta, alignment) -> torch.Tensor:
    """M(k) = sum_{j<k} [Delta mu_j]_+ eta_j for k = 0..K: ``eta`` ``[K, ...]`` (broadcast against
    ``alignment`` ``[K, ...]``) -> ``[K+1, ...]``."""
    eta, al = _t(eta), _t(alignment)
    if eta.ndim == 0 or al.ndim == 0:
        raise ValueError("eta and alignment must have a leading step axis K")
    inc = eta * al.clamp_min(0)
    return torch.cat([torch.zeros_like(inc[:1]), inc.cumsum(0)], 0)


def lower_bound_log_odds(log_odds0, M) -> torch.Tensor:
    """Theorem 1's guaranteed log-odds: logit J_0 + M/2."""
    return _t(log_odds0) + _t(M) / 2


def lower_bound_success(J0, M) -> torch.Tensor:
    """Theorem 1's guaranteed success: J_0 / (J_0 + (1 - J_0) exp(-M/2))."""
    J0, M = _t(J0), _t(M)
    return J0 / (J0 + (1 - J0) * torch.exp(-M / 2))


def estimate_constants(policy: ResponsePolicy, thetas) -> tuple[torch.Tensor, torch.Tensor]:
    """Estimated (L_o, G_o) of any policy, per prompt, by autograd at the parameter points
    ``thetas`` ``[S, d]``: G_o = max ||grad log pi(o)||, L_o = max ||Hess log pi(o)||_op over the
    points and responses.

    Method: a maximum over finitely many points is a *lower* estimate of the supremum, so a
    step bound built from it is an estimate, not a guarantee; use points that cover the region
    the trajectory visits (e.g. the trajectory itself and a ball around it).
    """
    from torch.func import hessian, jacrev

    thetas = _t(thetas)
    if thetas.ndim != 2 or thetas.shape[0] < 1 or thetas.shape[1] != policy.dim:
        raise ValueError(f"thetas has shape {tuple(thetas.shape)}: expected [S, {policy.dim}], S >= 1")
    G = torch.zeros(policy.num_prompts, dtype=DTYPE)
    L = torch.zeros(policy.num_prompts, dtype=DTYPE)
    for theta in thetas:
        s = jacrev(policy.log_probs)(theta)  # [P, N, d]
        H = hessian(policy.log_probs)(theta)  # [P, N, d, d]
        G = torch.maximum(G, s.norm(dim=-1).amax(-1))
        L = torch.maximum(L, torch.linalg.eigvalsh(H).abs().amax(-1).amax(-1))
    return L, G


# ---- Theorem 1's stall: a direction whose alignment decays (claim P2, notebook 02) ---------

def zeta_upper(s: float, terms: int = 200_000) -> float:
    """An upper bound of zeta(s) = sum_{k>=1} k^-s for s > 1: the first ``terms`` terms plus the
    integral bound of the tail, sum_{k>N} k^-s <= int_N^inf x^-s dx = N^(1-s)/(s-1)."""
    s = check_positive("s", s)
    if s <= 1:
        raise ValueError(f"s={s!r} is invalid: expected a number > 1 (the series diverges)")
    N = check_int("terms", terms, minimum=1)
    k = torch.arange(1, N + 1, dtype=DTYPE)
    return float(k.pow(-s).sum()) + N ** (1 - s) / (s - 1)


def decaying_alignment_ceiling(alignment_decay: float, multiplier: float = 1.0,
                               terms: int = 200_000) -> tuple[float, float]:
    """(M_cap, gain_cap) for a log-linear policy run along w_k = ||g_k|| (cos_k g^_k + sin_k u_k),
    cos_k = (k+1)^-p, at eta_k = c [Delta mu_k]_+ / (C_1 ||w_k||^2), C_1 = 2 (L_o + 8 G_o^2)
    (the paper's constant with the log-linear L_o = D^2/4, G_o = D), c = ``multiplier`` [derived]:

    1. eta_k Delta mu_k = c cos_k^2 ||g_k||^2 / C_1 <= c cos_k^2 D^2 / (16.5 D^2) since ||g|| <= D,
       so M(inf) <= c zeta(2p) / 16.5 =: M_cap.
    2. The upper Taylor bound with |f''| <= (2 L_o + G_o^2) ||w||^2 = 1.5 D^2 ||w||^2 gives a
       per-step gain <= eta Delta mu (1 + c * 1.5 / (2 * 16.5)) = eta Delta mu (1 + c/22), so
       logit J_inf - logit J_0 <= (1 + c/22) M_cap =: gain_cap.
    Needs p > 1/2 (else zeta(2p) diverges and there is no ceiling)."""
    p = check_positive("alignment_decay", alignment_decay)
    if p <= 0.5:
        raise ValueError(f"alignment_decay={alignment_decay!r} is invalid: expected a number > 0.5 "
                         "(sum cos^2 must converge)")
    c = check_positive("multiplier", multiplier)
    M_cap = c * zeta_upper(2 * p, terms) / 16.5
    return M_cap, (1 + c / 22) * M_cap


# ---- the quadratic-logit bandit (claim P3, notebook 03), closed forms [derived] ------------

def quadratic_logit_threshold(a) -> torch.Tensor:
    """The sharp constant step threshold eta* = 1/a of the quadratic-logit bandit with w = g."""
    return 1 / _t(a)


def quadratic_logit_sharp_step(a, x) -> torch.Tensor:
    """Largest eta for which ONE step along w = g from x gains at least eta ||g||^2 / 2 in
    log-odds: ||g||^2 / (8 a^3 x^2) = (1 + 4 a^2 x^2) / (8 a^3 x^2) (+inf at x = 0).
    A one-step bound: used as a constant step over many steps it certifies only up to
    min(1/a, this value) (above 1/a, |x| grows and the run collapses; notebook 03)."""
    a, x = _t(a), _t(x)
    return (1 + 4 * a ** 2 * x ** 2) / (8 * a ** 3 * x ** 2)


def quadratic_logit_falls(a, x, eta) -> torch.Tensor:
    """True where one step eta along w = g lowers the log-odds: 4 a^2 (a eta - 1) x^2 > 1."""
    a, x, eta = _t(a), _t(x), _t(eta)
    return 4 * a ** 2 * (a * eta - 1) * x ** 2 > 1
