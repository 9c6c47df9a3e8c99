"""Policy-gradient algorithms as update directions w (theta <- theta + eta * w): claim P7, notebook 06.

Each algorithm is fixed by two choices:
- the advantage of a response in its group: centred reward r - mean(r), divided or not by
  the group's reward std (GRPO's 1/sigma);
- the weight of a response's score (the sum of its per-token scores): none, 1/|o| per
  response (GRPO), a constant 1/L_max (Dr. GRPO), or 1/(mean length of the group) (DAPO's
  token-level mean).

``sampled_direction`` builds w from a finite group of G responses; ``population_direction``
is its exact-baseline, fixed-length limit written through the Gradient Gap g.
[derived] With the group mean as baseline (the mean includes the response itself), the
expected sampled REINFORCE direction is (G-1)/G times the population one.
"""
from __future__ import annotations

import torch

from rlvr_core.infra.arguments import check_choice, check_int

# name -> (divide the advantage by the group std?, length weighting)
ALGORITHMS = {
    "reinforce": (False, "none"),
    "grpo": (True, "per_response"),
    "grpo_no_length": (True, "none"),
    "grpo_no_std": (False, "per_response"),
    "dr_grpo": (False, "constant"),
    "dapo": (True, "token_mean"),
}
STD_EPS = 1e-4  # as TRL adds to the group std
# name -> the label notebooks and figures print for it
ALGORITHM_LABELS = {
    "reinforce": "REINFORCE",
    "grpo": "GRPO",
    "grpo_no_length": "GRPO w/o 1/|o|",
    "grpo_no_std": "GRPO w/o std",
    "dr_grpo": "Dr. GRPO",
    "dapo": "DAPO (token mean)",
}


def group_advantages(rewards: torch.Tensor, scale_by_std: bool) -> torch.Tensor:
    """r - mean(r) over the last axis (the group), divided by (std + eps) if asked."""
    if rewards.shape[-1] < 2:
        raise ValueError(f"group size={rewards.shape[-1]} is invalid: expected an integer >= 2")
    adv = rewards - rewards.mean(-1, keepdim=True)
    if scale_by_std:
        adv = adv / (rewards.std(-1, unbiased=False, keepdim=True) + STD_EPS)
    return adv


def response_weights(algorithm: str, lengths: torch.Tensor, max_length: int | None = None
                     ) -> torch.Tensor:
    """The per-response factor multiplying A_i * s_i, shape of ``lengths`` ``[..., G]``."""
    check_choice("algorithm", algorithm, ALGORITHMS)
    lengths = torch.as_tensor(lengths, dtype=torch.float64)
    if torch.any(lengths < 1):
        raise ValueError("lengths is invalid: expected every response length >= 1")
    mode = ALGORITHMS[algorithm][1]
    if mode == "none":
        return torch.ones_like(lengths)
    if mode == "per_response":
        return 1.0 / lengths
    if mode == "constant":
        if max_length is None:
            raise ValueError("max_length=None is invalid for dr_grpo: expected an integer >= 1")
        return torch.full_like(lengths, 1.0 / check_int("max_length", max_length, minimum=1))
    return (1.0 / lengths.mean(-1, keepdim=True)).expand_as(lengths)  # token_mean


def sampled_direction(algorithm: str, rewards, scores, lengths=None, max_length: int | None = None
                      ) -> torch.Tensor:
    """w = (1/G) sum_i A_i * weight_i * s_i for groups of G sampled responses.

    ``rewards``: ``[..., G]``; ``scores``: ``[..., G, d]`` (sequence scores, sums over tokens);
    ``lengths``: ``[..., G]`` (default 1). Returns ``[..., d]``.
    """
    check_choice("algorithm", algorithm, ALGORITHMS)
    rewards = torch.as_tensor(rewards, dtype=torch.float64)
    scores = torch.as_tensor(scores, dtype=torch.float64)
    if scores.shape[:-1] != rewards.shape:
        raise ValueError(f"scores has shape {tuple(scores.shape)}: expected {tuple(rewards.shape)} + (d,)")
    if lengths is None:
        lengths = torch.ones_like(rewards)
    adv = group_advantages(rewards, ALGORITHMS[algorithm][0])
    coef = adv * response_weights(algorithm, lengths, max_length)
    return torch.einsum("...g,...gd->...d", coef, scores) / rewards.shape[-1]


def population_direction(algorithm: str, J, gap, length: int = 1, max_length: int | None = None
                         ) -> torch.Tensor:
    """The exact-baseline, fixed-length direction per prompt [derived]:

    E[(r - J) s] = J(1-J) g;  dividing by sigma = sqrt(J(1-J)) gives sqrt(J(1-J)) g; the length
    weighting then multiplies by 1/T (grpo, dapo), 1/L_max (dr_grpo) or 1.
    ``J``: ``[...]``, ``gap``: ``[..., d]``. ``algorithm="gap"`` returns g itself.
    """
    J = torch.as_tensor(J, dtype=torch.float64)
    gap = torch.as_tensor(gap, dtype=torch.float64)
    if algorithm == "gap":
        return gap
    check_choice("algorithm", algorithm, ("gap", *ALGORITHMS))
    T = check_int("length", length, minimum=1)
    scale_by_std, mode = ALGORITHMS[algorithm]
    var = J * (1 - J)
    factor = var.sqrt() if scale_by_std else var
    if mode in ("per_response", "token_mean"):
        factor = factor / T
    elif mode == "constant":
        if max_length is None:
            raise ValueError("max_length=None is invalid for dr_grpo: expected an integer >= 1")
        factor = factor / check_int("max_length", max_length, minimum=T)
    return factor.unsqueeze(-1) * gap