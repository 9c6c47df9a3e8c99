"""Policies over a finite set of responses per prompt, with exact enumeration.

Every policy exposes the same small interface, so the Gradient-Gap code in ``gap`` works
for all of them:

- ``rewards``: float64 tensor ``[P, N]`` of verifiable rewards in {0, 1} (P prompts,
  N responses per prompt);
- ``dim``: number of parameters d (a flat vector theta in R^d);
- ``log_probs(theta)``: ``[..., P, N]`` log pi_theta(o | q), batched over leading dims of
  ``theta`` (``[..., d]``), differentiable with torch autograd and ``torch.func``.
"""
from __future__ import annotations

import math

import torch

from rlvr_core.infra.arguments import check_int, check_positive, check_seed

DTYPE = torch.float64


def as_rewards(rewards) -> torch.Tensor:
    r = torch.as_tensor(rewards, dtype=DTYPE)
    if r.ndim == 1:
        r = r.unsqueeze(0)
    if r.ndim != 2 or r.numel() == 0:
        raise ValueError(f"rewards has shape {tuple(r.shape)}: expected [P, N] or [N] with N >= 1")
    if not torch.all((r == 0) | (r == 1)):
        raise ValueError("rewards is invalid: expected binary values in {0, 1}")
    return r


class ResponsePolicy:
    """Base class: a softmax over N responses for each of P prompts."""

    rewards: torch.Tensor
    dim: int

    @property
    def num_prompts(self) -> int:
        return self.rewards.shape[0]

    @property
    def num_responses(self) -> int:
        return self.rewards.shape[1]

    def logits(self, theta: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_probs(self, theta: torch.Tensor) -> torch.Tensor:
        theta = self.check_theta(theta)
        return torch.log_softmax(self.logits(theta), dim=-1)

    def probs(self, theta: torch.Tensor) -> torch.Tensor:
        return self.log_probs(theta).exp()

    def check_theta(self, theta) -> torch.Tensor:
        """theta as a float64 tensor whose last axis is the parameter dimension (a clear error
        otherwise); every function that takes a policy's parameters goes through it."""
        theta = torch.as_tensor(theta, dtype=DTYPE)
        if theta.ndim == 0 or theta.shape[-1] != self.dim:
            raise ValueError(f"theta has shape {tuple(theta.shape)}: expected [..., {self.dim}]")
        return theta


class LogLinearPolicy(ResponsePolicy):
    """pi_theta(o | q) proportional to exp(theta . phi(q, o)), parameters shared by all prompts.

    ``features``: ``[P, N, d]`` (or ``[N, d]`` for one prompt); ``rewards``: ``[P, N]`` or ``[N]``.
    The score and the Hessian of log pi have closed forms, used to check autograd.
    """

    def __init__(self, features, rewards):
        phi = torch.as_tensor(features, dtype=DTYPE)
        if phi.ndim == 2:
            phi = phi.unsqueeze(0)
        if phi.ndim != 3 or phi.shape[1] == 0 or phi.shape[2] == 0:
            raise ValueError(f"features has shape {tuple(phi.shape)}: expected [P, N, d] or [N, d] "
                             "with N >= 1 and d >= 1")
        self.features = phi
        self.rewards = as_rewards(rewards)
        if self.rewards.shape != phi.shape[:2]:
            raise ValueError(f"rewards has shape {tuple(self.rewards.shape)}: expected "
                             f"{tuple(phi.shape[:2])} to match features [P, N, d]")
        self.dim = phi.shape[2]

    def logits(self, theta):
        return torch.einsum("pnd,...d->...pn", self.features, theta)

    def scores_closed_form(self, theta) -> torch.Tensor:
        """grad log pi(o|q) = phi(q,o) - E_pi[phi(q,.)], shape ``[..., P, N, d]``."""
        p = self.probs(theta)
        mean_phi = torch.einsum("...pn,pnd->...pd", p, self.features)
        return self.features - mean_phi.unsqueeze(-2)

    def log_prob_hessian_closed_form(self, theta) -> torch.Tensor:
        """Hessian of log pi(o|q) = -Cov_pi(phi), the same for every o: ``[..., P, d, d]``."""
        p = self.probs(theta)
        centred = self.scores_closed_form(theta)
        return -torch.einsum("...pn,...pnd,...pne->...pde", p, centred, centred)


class MLPPolicy(ResponsePolicy):
    """A small neural softmax policy: logit(q, o) = v . tanh(W phi(q, o) + b).

    Parameters are one flat vector theta = (W, b, v), so the gap code treats it like any
    other policy. ``features``: ``[P, N, k]``.
    """

    def __init__(self, features, rewards, hidden: int = 8):
        phi = torch.as_tensor(features, dtype=DTYPE)
        if phi.ndim == 2:
            phi = phi.unsqueeze(0)
        if phi.ndim != 3 or phi.shape[1] == 0 or phi.shape[2] == 0:
            raise ValueError(f"features has shape {tuple(phi.shape)}: expected [P, N, k] or [N, k]")
        self.features = phi
        self.rewards = as_rewards(rewards)
        if self.rewards.shape != phi.shape[:2]:
            raise ValueError(f"rewards has shape {tuple(self.rewards.shape)}: expected "
                             f"{tuple(phi.shape[:2])} to match features")
        self.hidden = check_int("hidden", hidden, minimum=1)
        k = phi.shape[2]
        self.dim = self.hidden * k + self.hidden + self.hidden

    def unflatten(self, theta):
        h, k = self.hidden, self.features.shape[2]
        W = theta[..., : h * k].reshape(*theta.shape[:-1], h, k)
        b = theta[..., h * k: h * k + h]
        v = theta[..., h * k + h:]
        return W, b, v

    def logits(self, theta):
        W, b, v = self.unflatten(theta)
        pre = torch.einsum("...hk,pnk->...pnh", W, self.features) + b[..., None, None, :]
        return torch.einsum("...pnh,...h->...pn", torch.tanh(pre), v)

    def init_theta(self, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
        check_seed("seed", seed)
        check_positive("scale", scale)
        gen = torch.Generator().manual_seed(seed)
        k = self.features.shape[2]
        theta = torch.randn(self.dim, generator=gen, dtype=DTYPE)
        theta[: self.hidden * k] *= scale / math.sqrt(k)
        theta[self.hidden * k + self.hidden:] *= scale / math.sqrt(self.hidden)
        return theta


def circle_features(num_responses: int = 8, num_prompts: int = 1, radius: float = 1.0,
                    seed: int | None = None) -> torch.Tensor:
    """2-D features on a circle (the circle model of notebook 03): ``[P, N, 2]``; a random
    rotation per prompt when ``seed`` is given."""
    n = check_int("num_responses", num_responses, minimum=2)
    p = check_int("num_prompts", num_prompts, minimum=1)
    check_positive("radius", radius)
    angles = 2 * math.pi * torch.arange(n, dtype=DTYPE) / n
    angles = angles.expand(p, n).clone()
    if seed is not None:
        gen = torch.Generator().manual_seed(check_seed("seed", seed))
        angles += 2 * math.pi * torch.rand(p, 1, generator=gen, dtype=DTYPE)
    return radius * torch.stack([angles.cos(), angles.sin()], dim=-1)


def random_log_linear(num_prompts: int, num_responses: int, dim: int, num_correct: int = 1,
                      seed: int = 0, scale: float = 1.0) -> LogLinearPolicy:
    """A random contextual bandit: Gaussian features, ``num_correct`` correct responses per
    prompt chosen at random."""
    p = check_int("num_prompts", num_prompts, minimum=1)
    n = check_int("num_responses", num_responses, minimum=2)
    d = check_int("dim", dim, minimum=1)
    c = check_int("num_correct", num_correct, minimum=1, maximum=n - 1)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    phi = check_positive("scale", scale) * torch.randn(p, n, d, generator=gen, dtype=DTYPE)
    order = torch.rand(p, n, generator=gen).argsort(dim=-1)
    rewards = (order < c).to(DTYPE)
    return LogLinearPolicy(phi, rewards)
