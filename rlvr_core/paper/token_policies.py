"""Token-level policies: responses o = (o_1..o_T) generated token by token, parameters shared
across positions.

- **Enumerated autoregressive policies** (``AutoregressiveLogLinear``, ``AutoregressiveMLP``):
  pi(o) = prod_t pi(o_t | o_{t-1}) over a vocabulary of V tokens, every sequence enumerated
  (V**T of them), so they are ``ResponsePolicy`` objects and every exact function of ``gap``
  works on them. ``token_constants`` measures the per-token constants (score bound G, Hessian
  bound L) and the sequence-level ones they bound (G_o <= T G, L_o <= T L, E|s|^2 <= T G^2).

- **Closed-form circle models** for long responses (no enumeration), one shared log-linear
  softmax p = softmax(Phi theta) over V tokens with 2-D features on a circle:
  * "all_correct": T i.i.d. tokens, reward iff every token is the correct one: J = p_c^T.
  * "answer_last": T - 1 free tokens then one answer token, all from the same softmax;
    reward iff the answer token is correct: J = p_c for every T.
  Their sampled dynamics live in ``answer_last``.
"""
from __future__ import annotations

import math

import torch
from torch.func import hessian, jacrev

from rlvr_core.paper.gap import score_matrix
from rlvr_core.paper.policies import DTYPE, ResponsePolicy, as_rewards
from rlvr_core.infra.arguments import check_choice, check_int, check_positive, check_probability, check_seed

REWARD_RULES = ("all_correct", "answer_last")
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
        return as_rewards(rule(seqs))[0]
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
        theta = self.check_theta(theta)
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
    theta = policy.check_theta(theta)
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
def check_features(features) -> torch.Tensor:
    """The token features ``[V, d]`` as a float64 tensor, or a clear error (shared by the simulators)."""
    phi = torch.as_tensor(features, dtype=DTYPE)
    if phi.ndim != 2 or phi.shape[1] == 0:
        raise ValueError(f"features has shape {tuple(phi.shape)}: expected [V, d]")
    check_vocab_size(phi.shape[0])
    return phi


def token_probs(features, theta) -> torch.Tensor:
    """softmax(Phi theta): ``[..., V]`` for theta ``[..., d]``."""
    phi = check_features(features)
    return torch.softmax(torch.as_tensor(theta, dtype=DTYPE) @ phi.T, dim=-1)


def model_success(features, theta, length, rule: str = "answer_last", correct: int = 0
                  ) -> torch.Tensor:
    """J(theta) of the circle models: p_c (answer_last) or p_c ** T (all_correct). ``length``
    broadcasts against theta's leading dims."""
    check_choice("rule", rule, REWARD_RULES)
    p = token_probs(features, theta)[..., correct]
    T = lengths_tensor(length)
    return p if rule == "answer_last" else p ** T


def model_gap(features, theta, length, rule: str = "answer_last", correct: int = 0
              ) -> torch.Tensor:
    """The exact Gradient Gap g = grad logit J of the circle models, ``[..., d]`` [derived]:
    answer_last: (phi_c - E phi) / (1 - p_c);  all_correct: T (phi_c - E phi) / (1 - p_c^T)."""
    check_choice("rule", rule, REWARD_RULES)
    phi = check_features(features)
    logp = torch.log_softmax(torch.as_tensor(theta, dtype=DTYPE) @ phi.T, dim=-1)
    p = logp.exp()
    centred = phi[correct] - p @ phi
    T = torch.ones(()) if rule == "answer_last" else lengths_tensor(length)
    fail = -torch.expm1(T * logp[..., correct])  # 1 - J, computed without cancellation
    # where J = 1 to machine precision the gap is not representable: the run has converged, w = 0
    factor = torch.where(fail > 0, T / fail.clamp_min(1e-300), torch.zeros_like(fail))
    return factor.unsqueeze(-1) * centred


def lengths_tensor(length) -> torch.Tensor:
    """Response lengths as an integer tensor, each >= 1, or a clear error."""
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
    phi = check_features(features)
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
    T = lengths_tensor(length)
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
    phi = check_features(features)
    return float(torch.cdist(phi, phi).max() ** 2 / 4)
