"""Constructed bandit instances: random contextual bandits, the circle model and the
quadratic-logit bandit of the collapse theorem (claim P3, notebook 03).

The quadratic-logit bandit [derived]. Two responses (one correct), parameters theta = (x, y),
log-odds of success z = y - a x^2 (the correct response has logit y - a x^2, the other 0).
Then g = grad z = (-2 a x, 1) and with w = g and a constant step eta
    x_{k+1} = (1 - 2 a eta) x_k,   z_{k+1} = z_k + eta + 4 a^2 eta x_k^2 (1 - a eta).
For eta <= 1/a every step raises z by at least eta (J -> 1); for eta > 1/a, |x_k| grows
geometrically and z falls at every step once 4 a^2 (a eta - 1) x_k^2 > 1 (J -> 0).
"""
from __future__ import annotations


import torch

from rlvr_core.paper.policies import (DTYPE, LogLinearPolicy, MLPPolicy, ResponsePolicy, circle_features,
                       random_log_linear)
from rlvr_core.simulators.sim import SimResult
from rlvr_core.infra.threads import few_threads
from rlvr_core.paper.theory import cumulative_progress
from rlvr_core.infra.arguments import check_int, check_positive, check_seed

Z_FLOOR = -1e6  # a run whose log-odds fell below this is absorbed (J = 0 in float64): frozen


class QuadraticLogitPolicy(ResponsePolicy):
    """pi(correct) = sigmoid(y - a x^2), theta = (x, y); rewards [[1, 0]]."""

    def __init__(self, a: float = 1.0):
        self.a = check_positive("a", a)
        self.rewards = torch.tensor([[1.0, 0.0]], dtype=DTYPE)
        self.dim = 2

    def logits(self, theta):
        x, y = theta[..., 0], theta[..., 1]
        z = y - self.a * x ** 2
        return torch.stack([z, torch.zeros_like(z)], -1).unsqueeze(-2)  # [..., 1, 2]


def _vec(name, v, B=None):
    t = torch.as_tensor(v, dtype=DTYPE).reshape(-1)
    if t.numel() == 0:
        raise ValueError(f"{name}=[] is invalid: expected a non-empty sequence of numbers")
    if not torch.all(torch.isfinite(t)):
        raise ValueError(f"{name} contains a non-finite value: expected finite numbers")
    return t


def simulate_quadratic_logit(a, x0, y0, etas, num_steps: int, *, record_theta: bool = False
                             ) -> SimResult:
    """B quadratic-logit bandits with w = g and constant steps, all at once (closed form).

    ``a``, ``x0``, ``y0``, ``etas``: scalars or ``[B]`` (broadcast). Records the log-odds z_k,
    the alignment <w, g> = ||g||^2, M(k), eta and ||w|| with a prompt axis of size 1, like
    :func:`rlvr_core.simulators.sim.simulate`. A run whose z fell below ``Z_FLOOR`` is frozen there
    (its eta is recorded as 0 from then on).
    """
    K = check_int("num_steps", num_steps, minimum=1)
    a = _vec("a", a)
    if torch.any(a <= 0):
        raise ValueError("a contains a value <= 0: expected finite numbers > 0")
    etas = _vec("etas", etas)
    if torch.any(etas <= 0):
        bad = etas[etas <= 0][0].item()
        raise ValueError(f"etas contains {bad!r}: expected finite numbers > 0")
    a, x, y, eta = torch.broadcast_tensors(a, _vec("x0", x0), _vec("y0", y0), etas)
    with few_threads(x.numel()):
        return _run_quadratic(a, x.clone(), y.clone(), eta, K, record_theta)


def _run_quadratic(a, x, y, eta, K, record_theta) -> SimResult:
    B = x.numel()
    log_odds = torch.empty(K + 1, B, 1, dtype=DTYPE)
    alignment = torch.empty(K, B, 1, dtype=DTYPE)
    eta_rec = torch.empty(K, B, dtype=DTYPE)
    w_norm = torch.empty(K, B, dtype=DTYPE)
    thetas = torch.empty(K + 1, B, 2, dtype=DTYPE) if record_theta else None
    for k in range(K + 1):
        z = y - a * x ** 2
        log_odds[k, :, 0] = z
        if record_theta:
            thetas[k] = torch.stack([x, y], -1)
        if k == K:
            break
        active = z > Z_FLOOR
        gx = -2 * a * x
        gn2 = gx ** 2 + 1
        step = torch.where(active, eta, torch.zeros_like(eta))
        alignment[k, :, 0], eta_rec[k], w_norm[k] = gn2, step, gn2.sqrt()
        x = x + step * gx
        y = y + step
    M = cumulative_progress(eta_rec.unsqueeze(-1), alignment)
    return SimResult(log_odds=log_odds, alignment=alignment, M=M, eta=eta_rec, w_norm=w_norm,
                     theta_final=torch.stack([x, y], -1), theta=thetas)


def circle_instance(num_responses: int = 8, correct: int = 0, radius: float = 1.0):
    """One prompt, responses on a circle (2-D features), one correct response:
    ``(features [1, N, 2], rewards [1, N])``."""
    n = check_int("num_responses", num_responses, minimum=2)
    c = check_int("correct", correct, minimum=0, maximum=n - 1)
    phi = circle_features(n, 1, radius)
    r = torch.zeros(1, n, dtype=DTYPE)
    r[0, c] = 1
    return phi, r


def random_instances(num_instances: int, num_prompts: int, num_responses: int, dim: int,
                     max_correct: int = 1, seed: int = 0, scale: float = 1.0):
    """``num_instances`` random contextual bandits: Gaussian features ``[I, P, N, d]`` and
    rewards ``[I, P, N]`` with between 1 and ``max_correct`` correct responses per prompt."""
    I = check_int("num_instances", num_instances, minimum=1)
    P = check_int("num_prompts", num_prompts, minimum=1)
    N = check_int("num_responses", num_responses, minimum=2)
    d = check_int("dim", dim, minimum=1)
    c = check_int("max_correct", max_correct, minimum=1, maximum=N - 1)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    phi = check_positive("scale", scale) * torch.randn(I, P, N, d, generator=gen, dtype=DTYPE)
    n_correct = torch.randint(1, c + 1, (I, P, 1), generator=gen)
    order = torch.rand(I, P, N, generator=gen).argsort(-1)
    return phi, (order < n_correct).to(DTYPE)


def identity_examples(seed: int = 0) -> tuple[dict, dict]:
    """Four policies on which the Gradient-Gap identities are checked, and a parameter for each
    (``seed`` draws both): a random 3-prompt contextual bandit, the 8-response circle with one
    correct response, a 10-response bandit with half of the responses correct, and a small MLP
    policy (48 parameters) whose score is not a feature difference. Every prompt keeps both a
    correct and a wrong response, so the gap is defined. Returns (policies, thetas) by name."""
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    inputs = torch.randn(3, 6, 4, generator=gen, dtype=DTYPE)
    rewards = (torch.rand(3, 6, generator=gen) < 0.4).double()
    rewards[:, 0], rewards[:, 5] = 1, 0
    policies = {
        "log-linear bandit (3 prompts, 6 responses, d=4)": random_log_linear(3, 6, 4, 2, seed=seed),
        "circle, 8 responses, 1 correct (d=2)": LogLinearPolicy(circle_features(8), [1] + [0] * 7),
        "log-linear, 10 responses, 5 correct (d=5)": random_log_linear(1, 10, 5, 5, seed=seed + 1),
        "MLP policy (3 prompts, 6 responses, 48 params)": MLPPolicy(inputs, rewards, hidden=8),
    }
    thetas = {name: (p.init_theta(seed) if isinstance(p, MLPPolicy)
                     else torch.randn(p.dim, generator=gen, dtype=DTYPE))
              for name, p in policies.items()}
    return policies, thetas


def random_starts(num: int, dim: int, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Gaussian starting parameters ``[num, dim]``."""
    n = check_int("num", num, minimum=1)
    d = check_int("dim", dim, minimum=1)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    return check_positive("scale", scale) * torch.randn(n, d, generator=gen, dtype=DTYPE)


def in_convex_hull(point, points) -> bool:
    """True when ``point`` ``[d]`` lies in the convex hull of ``points`` ``[M, d]`` (a linear
    feasibility problem: point = sum_m lambda_m points_m, lambda >= 0, sum lambda = 1).

    For a one-prompt log-linear policy with one correct response phi*, phi* in the hull of the
    incorrect features means logit J = <theta, phi*> - logsumexp_o <theta, phi_o> <= 0 for every
    theta (J <= 1/2): the concave log-odds is bounded above and success can never approach 1."""
    from scipy.optimize import linprog

    x = torch.as_tensor(point, dtype=DTYPE).reshape(-1)
    P = torch.as_tensor(points, dtype=DTYPE)
    if P.ndim != 2 or P.shape[1] != x.numel() or P.shape[0] == 0:
        raise ValueError(f"points has shape {tuple(P.shape)}: expected [M, {x.numel()}] with M >= 1")
    A = torch.cat([P.T, torch.ones(1, P.shape[0], dtype=DTYPE)]).numpy()
    b = torch.cat([x, torch.ones(1, dtype=DTYPE)]).numpy()
    res = linprog(c=[0.0] * P.shape[0], A_eq=A, b_eq=b, bounds=(0, None), method="highs")
    return bool(res.status == 0)


__all__ = ["QuadraticLogitPolicy", "in_convex_hull", "simulate_quadratic_logit", "circle_instance",
           "random_instances", "random_starts", "Z_FLOOR"]
