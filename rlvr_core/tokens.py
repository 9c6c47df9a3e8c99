"""Token-level policies (SPEC 1, 3, 5): responses o = (o_1..o_T) generated token by token.

Two families, both with parameters shared across positions:

- **Enumerated autoregressive policies** (``AutoregressiveLogLinear``, ``AutoregressiveMLP``):
  pi(o) = prod_t pi(o_t | o_{t-1}) over a vocabulary of V tokens, every sequence enumerated
  (V**T of them), so they are ``ResponsePolicy`` objects and every exact function of ``gap``
  works on them. ``token_constants`` measures the per-token constants (score bound G, Hessian
  bound L) and the sequence-level ones they bound (G_o <= T G, L_o <= T L, E|s|^2 <= T G^2).

- **Closed-form circle models** for long responses (no enumeration), one shared log-linear
  softmax p = softmax(Phi theta) over V tokens with 2-D features on a circle:
  * "all_correct": T i.i.d. tokens, reward iff every token is the correct one: J = p_c^T.
  * "answer_last": T - 1 free tokens then one answer token, all from the same softmax;
    reward iff the answer token is correct: J = p_c for every T. The score of a response is
    sum_t (phi(o_t) - E phi), so the free tokens add noise of size ~ sqrt(T) to sampled
    updates without changing their mean.
  ``simulate_answer_last`` runs sampled policy-gradient updates (any algorithm of
  ``directions``) for many runs at once: lengths x step sizes x seeds x starts are one flat
  batch axis; the loop is over iterations only.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch.func import hessian, jacrev

from .directions import ALGORITHMS, sampled_direction
from .fit import leading_true_count, loglog_slope  # noqa: F401  (loglog_slope re-exported for the notebooks)
from .sim import few_threads
from .gap import score_matrix
from .policies import DTYPE, ResponsePolicy, _as_rewards
from .validation import (check_choice, check_grid, check_int, check_positive,
                         check_probability, check_seed)

REWARD_RULES = ("all_correct", "answer_last")
LENGTH_MODES = ("fixed", "uniform")
SCHEDULES = ("constant", "failure_rate", "theorem1")
MAX_SEQUENCES = 200_000


# ----------------------------------------------------------------------------- helpers
def check_vocab_size(vocab_size) -> int:
    return check_int("vocab_size", vocab_size, minimum=2)


def check_length(length, name: str = "length") -> int:
    return check_int(name, length, minimum=1)


def circle_token_features(vocab_size: int = 8, radius: float = 1.0) -> torch.Tensor:
    """V token features on a circle of the given radius, token v at angle 2 pi v / V: ``[V, 2]``."""
    V = check_vocab_size(vocab_size)
    check_positive("radius", radius)
    a = 2 * math.pi * torch.arange(V, dtype=DTYPE) / V
    return radius * torch.stack([a.cos(), a.sin()], dim=-1)


def enumerate_sequences(vocab_size: int, length: int) -> torch.Tensor:
    """All V**T token sequences in lexicographic order: ``[V**T, T]`` (int64)."""
    V, T = check_vocab_size(vocab_size), check_length(length)
    if V ** T > MAX_SEQUENCES:
        raise ValueError(f"length={T} is invalid for vocab_size={V}: V**T={V ** T} sequences "
                         f"exceeds {MAX_SEQUENCES}; use the closed-form or sampled models")
    grids = torch.meshgrid(*[torch.arange(V)] * T, indexing="ij")
    return torch.stack([g.reshape(-1) for g in grids], dim=-1)


def sequence_rewards(seqs: torch.Tensor, rule, correct: int = 0) -> torch.Tensor:
    """Binary reward of each sequence ``[N, T]`` under a rule name or a callable -> ``[N]``."""
    if callable(rule):
        return _as_rewards(rule(seqs))[0]
    check_choice("reward", rule, REWARD_RULES)
    if rule == "all_correct":
        return (seqs == correct).all(-1).to(DTYPE)
    return (seqs[:, -1] == correct).to(DTYPE)


# ------------------------------------------------------------- enumerated AR policies
class _Autoregressive(ResponsePolicy):
    """Shared machinery: first-order autoregressive policy with parameters shared across
    positions; token t is drawn from pi(. | o_{t-1}) (previous token V = start of response)."""

    vocab_size: int
    length: int

    def _setup(self, vocab_size, length, reward, correct):
        self.vocab_size = check_vocab_size(vocab_size)
        self.length = check_length(length)
        self.correct = check_int("correct", correct, minimum=0, maximum=self.vocab_size - 1)
        self.sequences = enumerate_sequences(self.vocab_size, self.length)
        self.rewards = sequence_rewards(self.sequences, reward, self.correct).unsqueeze(0)
        prev = torch.cat([torch.full((len(self.sequences), 1), self.vocab_size),
                          self.sequences[:, :-1]], dim=1)
        self._prev, self._tok = prev, self.sequences

    def token_log_probs(self, theta) -> torch.Tensor:
        """log pi(v | u) for previous token u in 0..V (V = start): ``[..., V + 1, V]``."""
        raise NotImplementedError

    def log_probs(self, theta) -> torch.Tensor:
        theta = self._check_theta(theta)
        lp = self.token_log_probs(theta)  # [..., V+1, V]
        per_token = lp[..., self._prev, self._tok]  # [..., N, T]
        return per_token.sum(-1).unsqueeze(-2)  # [..., 1, N]

    def logits(self, theta):
        return self.log_probs(theta)


class AutoregressiveLogLinear(_Autoregressive):
    """pi(o_t = v | o_{t-1} = u) proportional to exp(theta . psi(u, v)), theta shared by all
    positions.

    ``features``: ``[V, d]`` (token features, no dependence on the previous token) or
    ``[V + 1, V, d]`` (row u = V is the start of the response). ``reward``: "all_correct",
    "answer_last" or a callable mapping sequences ``[N, T]`` to {0, 1}.
    """

    def __init__(self, features, length: int, reward="all_correct", correct: int = 0):
        psi = torch.as_tensor(features, dtype=DTYPE)
        if psi.ndim == 2:
            check_vocab_size(psi.shape[0])
            psi = psi.unsqueeze(0).expand(psi.shape[0] + 1, -1, -1)
        if psi.ndim != 3 or psi.shape[0] != psi.shape[1] + 1 or psi.shape[2] == 0:
            raise ValueError(f"features has shape {tuple(psi.shape)}: expected [V, d] or "
                             "[V + 1, V, d]")
        self.features = psi.contiguous()
        self.dim = psi.shape[2]
        self._setup(psi.shape[1], length, reward, correct)

    def token_log_probs(self, theta):
        return torch.log_softmax(torch.einsum("uvd,...d->...uv", self.features, theta), dim=-1)

    def token_scores_closed_form(self, theta) -> torch.Tensor:
        """grad log pi(v|u) = psi(u,v) - E_{pi(.|u)} psi(u,.): ``[V + 1, V, d]``."""
        p = self.token_log_probs(theta).exp()
        return self.features - torch.einsum("uv,uvd->ud", p, self.features).unsqueeze(1)


class AutoregressiveMLP(_Autoregressive):
    """A small neural autoregressive policy shared across positions:
    logits(. | u) = W2 tanh(E[u] + b1) + b2, E an embedding of the previous token (V + 1 rows).
    theta = (E, b1, W2, b2) flattened."""

    def __init__(self, vocab_size: int, length: int, hidden: int = 4, reward="all_correct",
                 correct: int = 0):
        self.hidden = check_int("hidden", hidden, minimum=1)
        self._setup(vocab_size, length, reward, correct)
        V, h = self.vocab_size, self.hidden
        self.dim = (V + 1) * h + h + V * h + V

    def unflatten(self, theta):
        V, h = self.vocab_size, self.hidden
        sizes = [(V + 1) * h, h, V * h, V]
        parts = torch.split(theta, sizes, dim=-1)
        lead = theta.shape[:-1]
        return (parts[0].reshape(*lead, V + 1, h), parts[1], parts[2].reshape(*lead, V, h),
                parts[3])

    def token_log_probs(self, theta):
        E, b1, W2, b2 = self.unflatten(theta)
        hid = torch.tanh(E + b1.unsqueeze(-2))  # [..., V+1, h]
        logits = torch.einsum("...uh,...vh->...uv", hid, W2) + b2.unsqueeze(-2)
        return torch.log_softmax(logits, dim=-1)

    def init_theta(self, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
        gen = torch.Generator().manual_seed(check_seed("seed", seed))
        return check_positive("scale", scale) * torch.randn(self.dim, generator=gen, dtype=DTYPE)


def token_constants(policy: _Autoregressive, theta) -> dict:
    """Per-token and sequence-level regularity constants at ``theta`` (exact, by autograd):

    - ``G_token`` = max_{u,v} |grad log pi(v|u)|, ``L_token`` = max_{u,v} |Hess log pi(v|u)|_2;
    - ``G_seq`` = max_o |s(o)|, ``L_seq`` = max_o |Hess log pi(o)|_2 over all V**T sequences;
    - ``second_moment`` = E|s(o)|^2 and ``token_second_moment`` = sum_t E|s_t|^2 (equal: the
      per-token scores are martingale differences);
    - the bounds ``T G_token``, ``T L_token``, ``T G_token^2``.
    Only the start row u = V and rows reachable as previous tokens enter the maxima.
    """
    if not isinstance(policy, _Autoregressive):
        raise ValueError(f"policy={type(policy).__name__} is invalid: expected an "
                         "AutoregressiveLogLinear or AutoregressiveMLP")
    theta = policy._check_theta(theta)
    if theta.ndim != 1:
        raise ValueError(f"theta has shape {tuple(theta.shape)}: expected a flat vector [d]")
    T = policy.length
    tok_jac = jacrev(policy.token_log_probs)(theta)  # [V+1, V, d]
    tok_hess = hessian(policy.token_log_probs)(theta)  # [V+1, V, d, d]
    rows = torch.arange(policy.vocab_size + 1) if T > 1 else torch.tensor([policy.vocab_size])
    G_token = tok_jac[rows].norm(dim=-1).max()
    L_token = torch.linalg.matrix_norm(tok_hess[rows], ord=2).max()
    scores = score_matrix(policy, theta)[0]  # [N, d]
    seq_hess = hessian(lambda t: policy.log_probs(t)[0])(theta)  # [N, d, d]
    p = policy.probs(theta)[0]
    # per-token second moments, position by position (independent of the sequence sum)
    tok_sq = tok_jac.pow(2).sum(-1)  # [V+1, V]
    token_sm = (p.unsqueeze(-1) * tok_sq[policy._prev, policy._tok]).sum()
    return {"T": T, "G_token": float(G_token), "L_token": float(L_token),
            "G_seq": float(scores.norm(dim=-1).max()),
            "L_seq": float(torch.linalg.matrix_norm(seq_hess, ord=2).max()),
            "second_moment": float((p * scores.pow(2).sum(-1)).sum()),
            "token_second_moment": float(token_sm),
            "T_G_token": float(T * G_token), "T_L_token": float(T * L_token),
            "T_G_token_sq": float(T * G_token ** 2)}


# ------------------------------------------------------------ closed-form circle models
def _check_features(features) -> torch.Tensor:
    phi = torch.as_tensor(features, dtype=DTYPE)
    if phi.ndim != 2 or phi.shape[1] == 0:
        raise ValueError(f"features has shape {tuple(phi.shape)}: expected [V, d]")
    check_vocab_size(phi.shape[0])
    return phi


def token_probs(features, theta) -> torch.Tensor:
    """softmax(Phi theta): ``[..., V]`` for theta ``[..., d]``."""
    phi = _check_features(features)
    return torch.softmax(torch.as_tensor(theta, dtype=DTYPE) @ phi.T, dim=-1)


def model_success(features, theta, length, rule: str = "answer_last", correct: int = 0
                  ) -> torch.Tensor:
    """J(theta) of the circle models: p_c (answer_last) or p_c ** T (all_correct). ``length``
    broadcasts against theta's leading dims."""
    check_choice("rule", rule, REWARD_RULES)
    p = token_probs(features, theta)[..., correct]
    T = _lengths_tensor(length)
    return p if rule == "answer_last" else p ** T


def model_gap(features, theta, length, rule: str = "answer_last", correct: int = 0
              ) -> torch.Tensor:
    """The exact Gradient Gap g = grad logit J of the circle models, ``[..., d]`` [derived]:
    answer_last: (phi_c - E phi) / (1 - p_c);  all_correct: T (phi_c - E phi) / (1 - p_c^T)."""
    check_choice("rule", rule, REWARD_RULES)
    phi = _check_features(features)
    logp = torch.log_softmax(torch.as_tensor(theta, dtype=DTYPE) @ phi.T, dim=-1)
    p = logp.exp()
    centred = phi[correct] - p @ phi
    T = torch.ones(()) if rule == "answer_last" else _lengths_tensor(length)
    fail = -torch.expm1(T * logp[..., correct])  # 1 - J, computed without cancellation
    # where J = 1 to machine precision the gap is not representable: the run has converged, w = 0
    factor = torch.where(fail > 0, T / fail.clamp_min(1e-300), torch.zeros_like(fail))
    return factor.unsqueeze(-1) * centred


def _lengths_tensor(length) -> torch.Tensor:
    T = torch.as_tensor(length)
    if T.is_floating_point() and not torch.all(T == T.round()):
        raise ValueError(f"length={length!r} is invalid: expected integers >= 1")
    if torch.any(T < 1):
        raise ValueError(f"length={length!r} is invalid: expected integers >= 1")
    return T.to(DTYPE)


def check_start_success(name: str, value, vocab_size: int) -> float:
    """A starting success rate the answer-last circle model can have: a uniform answer token
    already succeeds with 1/V, and start_theta moves away from uniform towards the correct token,
    so the start must lie in (1/V, 1)."""
    V = check_vocab_size(vocab_size)
    J = check_probability(name, value)
    if J <= 1 / V:
        raise ValueError(f"{name}={value!r} is invalid: expected a probability in (1/V, 1) = "
                         f"({1 / V:.3g}, 1) for V={V}")
    return J


def start_theta(features, success, length=1, rule: str = "answer_last", correct: int = 0,
                angle: float | None = None) -> torch.Tensor:
    """theta = s * (cos a, sin a) rotated from the correct token by ``angle`` (default a quarter
    of the token spacing, pi / (2V): an asymmetric start), with s > 0 solved by bisection so that
    J(theta) = ``success``. ``success`` and ``length`` broadcast; returns ``[..., 2]``."""
    phi = _check_features(features)
    if phi.shape[1] != 2:
        raise ValueError(f"features has shape {tuple(phi.shape)}: start_theta expects 2-D features")
    V = phi.shape[0]
    check_choice("rule", rule, REWARD_RULES)
    J = torch.as_tensor(success, dtype=DTYPE)
    if torch.any((J <= 0) | (J >= 1)):
        raise ValueError(f"success={success!r} is invalid: expected probabilities in (0, 1)")
    a = math.pi / (2 * V) if angle is None else float(angle)
    if not 0 <= a < math.pi / V:
        raise ValueError(f"angle={angle!r} is invalid: expected a number in [0, pi/V)")
    T = _lengths_tensor(length)
    J, T = torch.broadcast_tensors(J, T)
    base = torch.atan2(phi[correct, 1], phi[correct, 0])
    u = torch.stack([torch.cos(base + a), torch.sin(base + a)])

    def f(s):
        return model_success(phi, s.unsqueeze(-1) * u, T, rule, correct)

    lo, hi = torch.zeros_like(J), torch.full_like(J, 1.0)
    if torch.any(f(lo) >= J):
        raise ValueError(f"success={success!r} is invalid: expected values above the uniform "
                         f"policy's J (1/V for answer_last, V**-T for all_correct)")
    for _ in range(200):
        grow = f(hi) < J
        if not grow.any():
            break
        hi = torch.where(grow, 2 * hi, hi)
    for _ in range(200):
        mid = (lo + hi) / 2
        up = f(mid) < J
        lo, hi = torch.where(up, mid, lo), torch.where(up, hi, mid)
    return ((lo + hi) / 2).unsqueeze(-1) * u


def curvature_bound(features) -> float:
    """C with d^2/dt^2 logit J(theta + t w) >= -C |w|^2 for the answer-last model [derived].

    J = p_c depends on theta only through the answer token, so logit J = theta.phi_c -
    log sum_{v != c} exp(theta.phi_v) is concave; its second derivative along w is
    -Var_{v ~ p(.|v != c)}(w.phi_v) >= -|w|^2 diam(Phi)^2 / 4 (a variable with range D has
    variance <= D^2 / 4). Hence logit J(theta + eta w) >= logit J + eta <w, g> - eta^2 C |w|^2 / 2,
    and any eta <= <w, g> / (C |w|^2) gains at least eta <w, g> / 2 (Theorem 1's form)."""
    phi = _check_features(features)
    return float(torch.cdist(phi, phi).max() ** 2 / 4)


def exact_gap_runs(features, theta0, lengths, etas, steps: int, rule: str = "all_correct",
                   correct: int = 0) -> torch.Tensor:
    """Population dynamics theta <- theta + eta g(theta) (w = g exactly) for a flat batch of
    runs (``theta0`` ``[R, d]``, ``lengths`` ``[R]``, ``etas`` ``[R]``): J ``[R, steps + 1]``."""
    theta = torch.as_tensor(theta0, dtype=DTYPE).clone()
    T = _lengths_tensor(lengths)
    eta = torch.as_tensor(etas, dtype=DTYPE)
    if torch.any(eta <= 0):
        raise ValueError("etas is invalid: expected step sizes > 0")
    K = check_int("steps", steps, minimum=1)
    out = torch.empty(theta.shape[0], K + 1, dtype=DTYPE)
    with few_threads():
        _exact_loop(features, theta, T, eta, K, out, rule, correct)
    return out


def _exact_loop(features, theta, T, eta, K, out, rule, correct):
    for k in range(K + 1):
        out[:, k] = model_success(features, theta, T, rule, correct)
        if k < K:
            theta = theta + eta.unsqueeze(-1) * model_gap(features, theta, T, rule, correct)


def sample_answer_last(features, theta, lengths, group_size: int, rng: np.random.Generator,
                       correct: int = 0, length_mode: str = "fixed"):
    """G sampled responses per run of the answer-last model.

    ``theta``: ``[R, d]``; ``lengths``: ``[R]`` (T, or the maximum length under
    ``length_mode="uniform"``, where each response's length is uniform on 1..T independently of
    theta). Returns ``rewards [R, G]``, sequence ``scores [R, G, d]`` = sum over all tokens of
    (phi(o_t) - E phi), and response ``lengths [R, G]``. The T - 1 free tokens are drawn as
    multinomial counts (conditional binomials), so the cost does not grow with T.
    """
    phi = _check_features(features)
    G = check_int("group_size", group_size, minimum=2)
    check_choice("length_mode", length_mode, LENGTH_MODES)
    theta = torch.as_tensor(theta, dtype=DTYPE)
    R, V = theta.shape[0], phi.shape[0]
    T = _lengths_tensor(lengths).numpy().astype(np.int64)
    p = torch.softmax(theta @ phi.T, dim=-1).numpy()  # [R, V]
    if length_mode == "fixed":
        Tg = np.broadcast_to(T[:, None], (R, G)).copy()
    else:
        Tg = 1 + np.floor(rng.random((R, G)) * T[:, None]).astype(np.int64)
    cdf = np.cumsum(p, axis=-1)
    answer = (rng.random((R, G, 1)) > cdf[:, None, :-1]).sum(-1)  # inverse CDF, [R, G]
    counts = np.zeros((R, G, V))
    remaining = Tg - 1
    tail = np.flip(np.cumsum(np.flip(p, -1), -1), -1)  # P[token >= v]
    for v in range(V - 1):
        q = np.clip(np.divide(p[:, v], tail[:, v], out=np.ones(R), where=tail[:, v] > 0), 0, 1)
        n = rng.binomial(remaining, q[:, None])
        counts[..., v] = n
        remaining = remaining - n
    counts[..., V - 1] = remaining
    counts[np.arange(R)[:, None], np.arange(G)[None, :], answer] += 1
    counts_t = torch.from_numpy(counts)
    Tg_t = torch.from_numpy(Tg).to(DTYPE)
    mean_phi = torch.from_numpy(p) @ phi  # [R, d]
    scores = counts_t @ phi - Tg_t.unsqueeze(-1) * mean_phi.unsqueeze(1)
    rewards = torch.from_numpy((answer == correct).astype(np.float64))
    return rewards, scores, Tg_t


def run_direction(algorithm: str, rewards, scores, lengths, max_lengths) -> torch.Tensor:
    """The sampled direction of ``directions.sampled_direction`` with a per-run maximum length
    for Dr. GRPO (``max_lengths`` ``[R]``): Dr. GRPO = REINFORCE's group advantages / L_max."""
    check_choice("algorithm", algorithm, ALGORITHMS)
    if algorithm == "dr_grpo":
        w = sampled_direction("reinforce", rewards, scores, lengths)
        return w / torch.as_tensor(max_lengths, dtype=DTYPE).unsqueeze(-1)
    return sampled_direction(algorithm, rewards, scores, lengths)


def simulate_answer_last(features, theta0, lengths, etas, *, algorithm: str = "grpo",
                         group_size: int = 8, steps: int = 300, seed: int = 0,
                         correct: int = 0, length_mode: str = "fixed",
                         schedule: str = "constant", record: Callable | None = None
                         ) -> dict:
    """Sampled updates theta <- theta + eta_k w_k of the answer-last model for R runs at once.

    ``theta0`` ``[R, d]`` (or ``[d]``, shared), ``lengths`` ``[R]``, ``etas`` ``[R]``: one flat
    batch of runs (build grids with ``grid_runs``). Schedules (both oracles: they use the exact
    J_k and g_k): ``"failure_rate"`` eta_k = eta (1 - J_k) / (1 - J_0), the (1 - J) factor of
    the threshold; ``"theorem1"`` eta_k = min(eta, [<w_k, g_k>]_+ / (C |w_k|^2)) with C =
    ``curvature_bound(features)``, the step that guarantees
    logit J_{k+1} >= logit J_k + eta_k <w_k, g_k> / 2 (see ``curvature_bound``). Returns ``J`` ``[R, steps + 1]`` (exact success rate after
    every step) and ``align`` ``[R, steps]`` (cos(w_k, g) of the realised update; 0 when
    w_k = 0).
    """
    phi = _check_features(features)
    check_choice("algorithm", algorithm, ALGORITHMS)
    check_choice("schedule", schedule, SCHEDULES)
    K = check_int("steps", steps, minimum=1)
    rng = np.random.default_rng(check_seed("seed", seed))
    T = _lengths_tensor(lengths)
    eta = torch.as_tensor(etas, dtype=DTYPE)
    if eta.ndim != 1 or torch.any(~torch.isfinite(eta)) or torch.any(eta <= 0):
        raise ValueError("etas is invalid: expected a 1-D tensor of finite step sizes > 0")
    R = eta.shape[0]
    theta = torch.as_tensor(theta0, dtype=DTYPE).expand(R, phi.shape[1]).clone()
    T = T.expand(R).clone()
    J = torch.empty(R, K + 1, dtype=DTYPE)
    align = torch.empty(R, K, dtype=DTYPE)
    with few_threads():
        _simulate_loop(phi, theta, T, eta, J, align, K, algorithm, group_size, rng, correct,
                       length_mode, schedule)
    return {"J": J, "align": align}


def _simulate_loop(phi, theta, T, eta, J, align, K, algorithm, group_size, rng, correct,
                   length_mode, schedule):
    for k in range(K + 1):
        J[:, k] = model_success(phi, theta, 1, "answer_last", correct)
        if k == K:
            break
        rewards, scores, Tg = sample_answer_last(phi, theta, T, group_size, rng, correct,
                                                 length_mode)
        w = run_direction(algorithm, rewards, scores, Tg, T)
        g = model_gap(phi, theta, 1, "answer_last", correct)
        align[:, k] = torch.nn.functional.cosine_similarity(w, g, dim=-1, eps=1e-300)
        if schedule == "constant":
            step = eta
        elif schedule == "failure_rate":
            step = eta * (1 - J[:, k]) / (1 - J[:, 0])
        else:  # theorem1: cap eta_k at [<w, g>]_+ / (C |w|^2)
            cap = (w * g).sum(-1).clamp_min(0) / (curvature_bound(phi) * w.pow(2).sum(-1))
            step = torch.minimum(eta, torch.nan_to_num(cap, nan=0.0))
        theta = theta + step.unsqueeze(-1) * w


def grid_runs(*axes) -> list[torch.Tensor]:
    """Flatten a Cartesian product of 1-D axes into per-run float64 tensors (first axis slowest)."""
    mesh = torch.meshgrid(*[torch.as_tensor(a, dtype=DTYPE) for a in axes], indexing="ij")
    return [m.reshape(-1) for m in mesh]


def threshold_from_final(final_J, etas, level: float = 0.8) -> torch.Tensor:
    """The largest step size on the grid whose runs end, on average over the last axis
    (seeds), at J >= ``level``; NaN when none does. ``final_J``: ``[..., E, S]``."""
    check_probability("level", level)
    etas = torch.as_tensor(check_grid("etas", list(map(float, etas))), dtype=DTYPE)
    final_J = torch.as_tensor(final_J, dtype=DTYPE)
    if final_J.ndim < 2 or final_J.shape[-2] != len(etas):
        raise ValueError(f"final_J has shape {tuple(final_J.shape)}: expected [..., "
                         f"{len(etas)}, S]")
    ok = final_J.mean(-1) >= level  # [..., E]
    masked = torch.where(ok, etas, torch.full_like(etas, -math.inf))
    best = masked.max(-1).values
    return torch.where(torch.isfinite(best), best, torch.full_like(best, math.nan))


def one_step_safe_eta(success_fn: Callable, theta, w, etas) -> torch.Tensor:
    """Largest eta on the (increasing) grid such that J(theta + e w) >= J(theta) for every
    grid e <= eta (a one-step line search), vectorised over leading dims of ``theta``/``w``.
    ``success_fn(theta [..., d]) -> [...]``. NaN if even the smallest eta lowers J."""
    etas = torch.as_tensor(check_grid("etas", list(map(float, etas)), increasing=True), dtype=DTYPE)
    theta = torch.as_tensor(theta, dtype=DTYPE)
    w = torch.as_tensor(w, dtype=DTYPE)
    J0 = success_fn(theta)
    moved = theta.unsqueeze(-2) + etas.unsqueeze(-1) * w.unsqueeze(-2)  # [..., E, d]
    ok = success_fn(moved) >= J0.unsqueeze(-1) * (1 - 1e-12)  # [..., E]
    passed = leading_true_count(ok)
    out = etas[(passed - 1).clamp_min(0)]
    return torch.where(passed > 0, out, torch.full_like(out, math.nan))
