"""A multi-prompt answer-last model with shared parameters (training accuracy over many prompts).

Prompt q sees the circle token features rotated by a small angle delta_q: phi_q(o) = R(delta_q)
phi(o), and its correct answer is token 0 for every prompt. All prompts share one theta in R^2;
prompt q's success rate is J_q(theta) = p_0(R(-delta_q) theta) under the base features, so the
sampled engine of ``answer_last`` runs every (run, prompt) pair in the base frame and the scores
are rotated back. With |delta_q| < pi / V the correct token is the argmax for every prompt along
theta = lambda e_1, lambda -> infinity: the problem is realisable, and a plateau of the training
accuracy below 1 is an optimisation effect, not a capacity limit.

Every step uses every prompt (full batch), G responses each; the update is the mean over prompts
of the per-prompt sampled directions (``answer_last.run_direction``).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from rlvr_core.simulators.answer_last import run_direction, sample_answer_last
from rlvr_core.paper.directions import ALGORITHMS
from rlvr_core.paper.policies import DTYPE
from rlvr_core.infra.threads import few_threads
from rlvr_core.paper.token_policies import check_features, model_success
from rlvr_core.infra.arguments import check_choice, check_int, check_seed

__all__ = ["prompt_angles", "rotate", "prompt_success", "simulate_multi_prompt"]


def prompt_angles(num_prompts: int, vocab_size: int, spread: float = 0.8,
                  seed: int = 0) -> torch.Tensor:
    """P rotation angles uniform in (-spread pi / V, spread pi / V), ``spread`` in (0, 1)."""
    P = check_int("num_prompts", num_prompts, minimum=1)
    V = check_int("vocab_size", vocab_size, minimum=2)
    if not 0 < spread < 1:
        raise ValueError(f"spread={spread!r} is invalid: expected a number in (0, 1)")
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    return (2 * torch.rand(P, generator=gen, dtype=DTYPE) - 1) * spread * math.pi / V


def rotate(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate 2-D vectors ``[..., 2]`` by ``angle`` (broadcast against the leading axes)."""
    c, s = torch.cos(angle), torch.sin(angle)
    return torch.stack([c * x[..., 0] - s * x[..., 1], s * x[..., 0] + c * x[..., 1]], dim=-1)


def prompt_success(features, theta, angles) -> torch.Tensor:
    """J_q for runs ``theta [R, 2]`` and prompts ``angles [P]``: ``[R, P]``."""
    phi = check_features(features)
    theta = torch.as_tensor(theta, dtype=DTYPE)
    local = rotate(theta.unsqueeze(1), -torch.as_tensor(angles, dtype=DTYPE))  # [R, P, 2]
    return model_success(phi, local.reshape(-1, 2), 1, "answer_last").reshape(local.shape[:2])


def simulate_multi_prompt(features, theta0, angles, etas, *, length: int = 1,
                          algorithm: str = "grpo", group_size: int = 8, steps: int = 300,
                          seed: int = 0) -> dict:
    """Sampled full-batch training of R runs (``etas`` ``[R]``, ``theta0`` ``[2]`` or
    ``[R, 2]``) on the prompts ``angles`` ``[P]``. Returns ``J`` ``[R, P, steps + 1]``: every
    prompt's exact success rate after every step (the training accuracy is its mean over P)."""
    phi = check_features(features)
    if phi.shape[1] != 2:
        raise ValueError(f"features has shape {tuple(phi.shape)}: expected 2-D features [V, 2]")
    check_choice("algorithm", algorithm, ALGORITHMS)
    K = check_int("steps", steps, minimum=1)
    T = check_int("length", length, minimum=1)
    rng = np.random.default_rng(check_seed("seed", seed))
    eta = torch.as_tensor(etas, dtype=DTYPE)
    if eta.ndim != 1 or torch.any(~torch.isfinite(eta)) or torch.any(eta <= 0):
        raise ValueError("etas is invalid: expected a 1-D tensor of finite step sizes > 0")
    angles = torch.as_tensor(angles, dtype=DTYPE)
    R, P = eta.shape[0], angles.shape[0]
    theta = torch.as_tensor(theta0, dtype=DTYPE).expand(R, 2).clone()
    J = torch.empty(R, P, K + 1, dtype=DTYPE)
    lengths = torch.full((R * P,), T, dtype=DTYPE)
    with few_threads():
        for k in range(K + 1):
            J[:, :, k] = prompt_success(phi, theta, angles)
            if k == K:
                break
            local = rotate(theta.unsqueeze(1), -angles).reshape(-1, 2)  # [R P, 2]
            rewards, scores, Tg = sample_answer_last(phi, local, lengths, group_size, rng)
            w_local = run_direction(algorithm, rewards, scores, Tg, lengths).reshape(R, P, 2)
            w = rotate(w_local, angles).mean(1)  # back to the shared frame, mean over prompts
            theta = theta + eta.unsqueeze(-1) * w
    return {"J": J}
