"""An exact, noise-free length test of Theorem 3: i.i.d. tokens, reward iff at least k of T are correct.

Every token is drawn from one log-linear softmax p = softmax(Phi theta) over V tokens (the circle
model of ``token_policies``); the reward is 1 iff at least k of the T tokens are the correct token c.
With q = p_c, the number of correct tokens is Binomial(T, q), so [derived]

    J = P(Bin(T, q) >= k),   dJ/dq = T C(T-1, k-1) q^(k-1) (1-q)^(T-k),
    g = grad logit J = dJ/dq / (J (1 - J)) * q (phi_c - E_p phi).

k = T is the all-correct rule (whose one-step threshold does not shrink with T, notebook 04 §2);
k = floor(T/2) + 1 is a strict majority, whose J is a sigmoid in q of width ~ 1/sqrt(T): at a fixed
J0 its gap grows with T, and so the step size at which J first falls along g shrinks.
"""
from __future__ import annotations

import math

import torch

from rlvr_core.infra.threads import few_threads
from rlvr_core.stats.thresholds import Bracket, first_failure
from rlvr_core.paper.token_policies import DTYPE, check_length, start_theta, token_probs
from rlvr_core.infra.arguments import check_choice, check_probability

RULES = ("majority", "all_correct")


def needed(T: int, rule: str) -> int:
    """k: the number of correct tokens the rule asks for out of T."""
    T = check_length(T, "T")
    check_choice("rule", rule, RULES)
    return T // 2 + 1 if rule == "majority" else T


def _log_pmf(log_q, log_1mq, T: int) -> torch.Tensor:
    """log P(Bin(T, q) = j) for j = 0..T, ``[..., T + 1]``, from log q and log(1 - q) (so that q
    near 1 loses no digits)."""
    j = torch.arange(T + 1, dtype=DTYPE)
    log_comb = math.lgamma(T + 1) - torch.lgamma(j + 1) - torch.lgamma(T - j + 1)
    return log_comb + j * log_q.unsqueeze(-1) + (T - j) * log_1mq.unsqueeze(-1)


def _log_q(q) -> tuple[torch.Tensor, torch.Tensor]:
    q = torch.as_tensor(q, dtype=DTYPE)
    return torch.log(q), torch.log1p(-q)


def binomial_tail(q, T: int, k: int) -> torch.Tensor:
    """P(Bin(T, q) >= k), elementwise in q (0 < q < 1). The log-sum can round a few ulps above 0
    where the tail is 1 to float64 (seen on torch's `default` CPU path): capped, it stays a probability."""
    return _log_pmf(*_log_q(q), T)[..., k:].logsumexp(-1).clamp(max=0.0).exp()


def binomial_tail_derivative(q, T: int, k: int) -> torch.Tensor:
    """d/dq P(Bin(T, q) >= k) = T P(Bin(T-1, q) = k-1)."""
    q = torch.as_tensor(q, dtype=DTYPE)
    if T == 1:
        return torch.ones_like(q)
    return T * _log_pmf(*_log_q(q), T - 1)[..., k - 1].exp()


def _log_parts(features, theta, T: int, k: int, correct: int):
    """log J, log(1 - J), log dJ/dq, log q, and p: every factor of the gap in log space."""
    logp = torch.log_softmax(torch.as_tensor(theta, dtype=DTYPE) @ torch.as_tensor(features, dtype=DTYPE).T, -1)
    log_q = logp[..., correct]
    others = torch.cat([logp[..., :correct], logp[..., correct + 1:]], -1).logsumexp(-1)  # log(1 - q)
    pmf = _log_pmf(log_q, others, T)
    log_J, log_fail = pmf[..., k:].logsumexp(-1), pmf[..., :k].logsumexp(-1)
    # log of T P(Bin(T-1, q) = k-1), one term in closed form
    log_comb = math.lgamma(T) - math.lgamma(k) - math.lgamma(T - k + 1)
    log_slope = math.log(T) + log_comb + (k - 1) * log_q + (T - k) * others
    return log_J, log_fail, log_slope, log_q, logp.exp()


def _logit_and_gap(features, theta, T: int, k: int, correct: int):
    phi = torch.as_tensor(features, dtype=DTYPE)
    log_J, log_fail, log_slope, log_q, p = _log_parts(phi, theta, T, k, correct)
    factor = torch.exp(log_slope + log_q - log_J - log_fail)
    return log_J - log_fail, factor.unsqueeze(-1) * (phi[correct] - p @ phi)


def success(features, theta, T: int, rule: str = "majority", correct: int = 0) -> torch.Tensor:
    """J(theta) = P(at least k of T i.i.d. tokens are the correct one)."""
    q = token_probs(features, theta)[..., correct]
    return binomial_tail(q, T, needed(T, rule))


def logit_success(features, theta, T: int, rule: str = "majority", correct: int = 0) -> torch.Tensor:
    """logit J(theta), exact also where 1 - J is below float64's resolution of J."""
    return _logit_and_gap(features, theta, T, needed(T, rule), correct)[0]


def gap(features, theta, T: int, rule: str = "majority", correct: int = 0) -> torch.Tensor:
    """The exact Gradient Gap g = grad logit J, ``[..., d]`` (closed form of the module docstring)."""
    return _logit_and_gap(features, theta, T, needed(T, rule), correct)[1]


def start_for(features, J0: float, T: int, rule: str = "majority", angle: float | None = None
              ) -> torch.Tensor:
    """theta with J(theta) = J0: q0 solves P(Bin(T, q0) >= k) = J0 (bisection; the tail rises in
    q), then ``token_policies.start_theta`` places theta so that p_c = q0."""
    check_probability("J0", J0)
    k = needed(T, rule)
    lo, hi = torch.zeros((), dtype=DTYPE), torch.ones((), dtype=DTYPE)
    for _ in range(200):
        mid = (lo + hi) / 2
        up = binomial_tail(mid.clamp(1e-300, 1 - 1e-16), T, k) < J0
        lo, hi = torch.where(up, mid, lo), torch.where(up, hi, mid)
    q0 = float((lo + hi) / 2)
    V = torch.as_tensor(features).shape[0]
    if q0 <= 1 / V:
        raise ValueError(f"J0={J0!r} is invalid for T={T}, rule={rule!r}: it needs p_c = {q0:.3g}, "
                         f"at or below the uniform policy's 1/V = {1 / V:.3g}")
    return start_theta(features, q0, 1, "answer_last", angle=angle)


def exact_runs(features, theta0, T: int, etas, steps: int, rule: str = "majority") -> torch.Tensor:
    """logit J along theta <- theta + eta g(theta) (w = g exactly), one run per start
    (``theta0`` ``[..., d]``) and step size: ``[..., E, steps + 1]``."""
    eta = torch.as_tensor(etas, dtype=DTYPE).unsqueeze(-1)
    theta0 = torch.as_tensor(theta0, dtype=DTYPE)
    theta = theta0.unsqueeze(-2).expand(*theta0.shape[:-1], eta.shape[0], theta0.shape[-1]).clone()
    k, out = needed(T, rule), []
    with few_threads():
        for _ in range(steps):
            logit, g = _logit_and_gap(features, theta, T, k, 0)
            out.append(logit)
            theta = theta + eta * g
        out.append(_logit_and_gap(features, theta, T, k, 0)[0])
    return torch.stack(out, -1)


def ever_falls(logits: torch.Tensor, below: float = math.inf, tol: float = 1e-9) -> torch.Tensor:
    """True where a run's logit J decreases at some step (beyond rounding) that starts with
    logit J <= ``below``: ``below = inf`` counts every fall (Theorem 1 is a statement on logit J);
    a finite ``below`` counts only falls a success rate can show (logit 9.2: 1 - J >= 1e-4)."""
    before = logits[..., :-1]
    return ((logits.diff(dim=-1) < -tol * (1 + before.abs())) & (before <= below)).any(-1)


# The two readings of "J falls": anywhere in logit J, and while 1 - J >= 1e-4.
READINGS = {"any fall of logit J": math.inf, "a fall while 1 - J >= 1e-4": math.log(1e4)}


def first_fall(features, J0: float, T: int, etas, steps: int, rule: str = "majority",
               angle: float | None = None) -> dict[str, Bracket]:
    """Per reading, the first-failure bracket of "the run with w = g from J0 never lets J fall in
    ``steps`` steps" on the grid ``etas`` (``thresholds.first_failure``: a step that passes after
    a failure does not count). Both readings come from the same runs."""
    theta = start_for(features, J0, T, rule, angle)
    logits = exact_runs(features, theta, T, etas, steps, rule)
    return {name: first_failure(~ever_falls(logits, below), etas) for name, below in READINGS.items()}


def first_fall_table(features, J0: float, angles, lengths, etas, steps: int, rule: str = "majority"
                     ) -> dict[str, torch.Tensor]:
    """Per reading, bracket estimates (geometric midpoints) ``[angles, lengths]``, one instance per
    start angle, all angles and step sizes of a length in one batch; NaN where no run falls."""
    out = {name: torch.empty(len(angles), len(lengths), dtype=DTYPE) for name in READINGS}
    for j, T in enumerate(lengths):
        theta = torch.cat([start_for(features, J0, T, rule, a) for a in angles]).reshape(len(angles), -1)
        logits = exact_runs(features, theta, T, etas, steps, rule)
        for name, below in READINGS.items():
            out[name][:, j] = first_failure(~ever_falls(logits, below), etas).estimate
    return out
