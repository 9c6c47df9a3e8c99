"""A second simulation engine: sampled policy-gradient runs of the answer-last circle model
(``token_policies``), many runs at once.

The score of a response is sum_t (phi(o_t) - E phi), so the T - 1 free tokens add noise of size
~ sqrt(T) to sampled updates without changing their mean. Lengths x step sizes x seeds x starts
are one flat batch axis (build it with ``sim.grid_runs``); the loop is over iterations only.
``exact_gap_runs`` is the population counterpart (w = g exactly) for either reward rule.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from rlvr_core.paper.directions import ALGORITHMS, sampled_direction
from rlvr_core.paper.policies import DTYPE
from rlvr_core.simulators.sim import grid_runs
from rlvr_core.infra.threads import few_threads
from rlvr_core.paper.token_policies import (check_features, lengths_tensor, curvature_bound, model_gap,
                             model_success, start_theta)
from rlvr_core.infra.arguments import check_choice, check_int, check_seed

LENGTH_MODES = ("fixed", "uniform")
SCHEDULES = ("constant", "failure_rate", "theorem1")


def exact_gap_runs(features, theta0, lengths, etas, steps: int, rule: str = "all_correct",
                   correct: int = 0) -> torch.Tensor:
    """Population dynamics theta <- theta + eta g(theta) (w = g exactly) for a flat batch of
    runs (``theta0`` ``[R, d]``, ``lengths`` ``[R]``, ``etas`` ``[R]``): J ``[R, steps + 1]``."""
    theta = torch.as_tensor(theta0, dtype=DTYPE).clone()
    T = lengths_tensor(lengths)
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
    rewards, counts, Tg, p = sample_answer_last_counts(features, theta, lengths, group_size, rng,
                                                       correct, length_mode)
    phi = check_features(features)
    scores = counts @ phi - Tg.unsqueeze(-1) * (p @ phi).unsqueeze(1)
    return rewards, scores, Tg


def sample_answer_last_counts(features, theta, lengths, group_size: int, rng: np.random.Generator,
                              correct: int = 0, length_mode: str = "fixed"):
    """The draws of :func:`sample_answer_last` (same random stream) before they become scores:
    ``rewards [R, G]``, token ``counts [R, G, V]`` (answer included), ``lengths [R, G]`` and the
    sampling policy's token probabilities ``p [R, V]``; the score of a response under a policy q
    is counts @ phi - |o| E_q phi."""
    phi = check_features(features)
    G = check_int("group_size", group_size, minimum=2)
    check_choice("length_mode", length_mode, LENGTH_MODES)
    theta = torch.as_tensor(theta, dtype=DTYPE)
    R, V = theta.shape[0], phi.shape[0]
    T = lengths_tensor(lengths).numpy().astype(np.int64)
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
    rewards = torch.from_numpy((answer == correct).astype(np.float64))
    return rewards, counts_t, Tg_t, torch.from_numpy(p)


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
                         schedule: str = "constant", record: Callable | None = None,
                         noise=None) -> dict:
    """Sampled updates theta <- theta + eta_k w_k of the answer-last model for R runs at once.

    ``theta0`` ``[R, d]`` (or ``[d]``, shared), ``lengths`` ``[R]``, ``etas`` ``[R]``: one flat
    batch of runs (build grids with ``grid_runs``). Schedules (both oracles: they use the exact
    J_k and g_k): ``"failure_rate"`` eta_k = eta (1 - J_k) / (1 - J_0), the (1 - J) factor of
    the threshold; ``"theorem1"`` eta_k = min(eta, [<w_k, g_k>]_+ / (C |w_k|^2)) with C =
    ``curvature_bound(features)``, the step that guarantees
    logit J_{k+1} >= logit J_k + eta_k <w_k, g_k> / 2 (see ``curvature_bound``). ``noise``
    ``[R]`` (optional): each update becomes w_k + sigma xi_k, xi_k ~ N(0, I), isotropic parameter
    noise of scale sigma per run (the draws come after the step's samples, and only when some
    sigma > 0, so zero noise is the same run). Returns ``J`` ``[R, steps + 1]`` (exact success rate
    after every step) and ``align`` ``[R, steps]`` (cos(w_k, g) of the realised update; 0 when
    w_k = 0).
    """
    phi = check_features(features)
    check_choice("algorithm", algorithm, ALGORITHMS)
    check_choice("schedule", schedule, SCHEDULES)
    K = check_int("steps", steps, minimum=1)
    rng = np.random.default_rng(check_seed("seed", seed))
    T = lengths_tensor(lengths)
    eta = torch.as_tensor(etas, dtype=DTYPE)
    if eta.ndim != 1 or torch.any(~torch.isfinite(eta)) or torch.any(eta <= 0):
        raise ValueError("etas is invalid: expected a 1-D tensor of finite step sizes > 0")
    R = eta.shape[0]
    theta = torch.as_tensor(theta0, dtype=DTYPE).expand(R, phi.shape[1]).clone()
    T = T.expand(R).clone()
    J = torch.empty(R, K + 1, dtype=DTYPE)
    align = torch.empty(R, K, dtype=DTYPE)
    sigma = None
    if noise is not None:
        sigma = torch.as_tensor(noise, dtype=DTYPE).expand(R)
        if torch.any(~torch.isfinite(sigma)) or torch.any(sigma < 0):
            raise ValueError("noise is invalid: expected finite scales >= 0, one per run")
        sigma = sigma if bool((sigma > 0).any()) else None
    with few_threads():
        _simulate_loop(phi, theta, T, eta, J, align, K, algorithm, group_size, rng, correct,
                       length_mode, schedule, sigma)
    return {"J": J, "align": align}


def _simulate_loop(phi, theta, T, eta, J, align, K, algorithm, group_size, rng, correct,
                   length_mode, schedule, sigma=None):
    for k in range(K + 1):
        J[:, k] = model_success(phi, theta, 1, "answer_last", correct)
        if k == K:
            break
        rewards, scores, Tg = sample_answer_last(phi, theta, T, group_size, rng, correct,
                                                 length_mode)
        w = run_direction(algorithm, rewards, scores, Tg, T)
        if sigma is not None:
            w = w + sigma.unsqueeze(-1) * torch.from_numpy(rng.standard_normal(theta.shape))
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


def sweep_answer_last(features, start_success, lengths, etas, num_seeds: int, **run) -> torch.Tensor:
    """Sampled runs on the grid start success x length x step size x seed, in one batch.

    ``start_success``, ``lengths`` and ``etas`` are each a number (a fixed setting) or a 1-D axis;
    every run starts at ``start_theta(features, J0)``. ``run`` is passed to
    :func:`simulate_answer_last` (algorithm, group_size, steps, seed, schedule, length_mode).
    Returns J ``[*axes, num_seeds, steps + 1]``, one leading axis per 1-D argument, in order."""
    axes = [torch.as_tensor(a, dtype=DTYPE) for a in (start_success, lengths, etas)]
    for name, a in zip(("start_success", "lengths", "etas"), axes):
        if a.ndim > 1:
            raise ValueError(f"{name} has shape {tuple(a.shape)}: expected a number or a 1-D axis")
    S = check_int("num_seeds", num_seeds, minimum=1)
    J0, T, E, _ = grid_runs(*[a.reshape(-1) for a in axes], torch.arange(S))
    # a shared start is solved once (a [d] theta); per-run starts only when J0 varies
    theta0 = start_theta(features, axes[0] if axes[0].ndim == 0 else J0)
    J = simulate_answer_last(features, theta0, T, E, **run)["J"]
    return J.reshape(*[len(a) for a in axes if a.ndim == 1], S, -1)


def summarise_runs(J: torch.Tensor, *, absorbed_below: float | None = None,
                   num_traces: int = 0, trace_every: int = 5, tail_fraction: float = 0.0) -> dict:
    """What the notebooks keep of a sweep's trajectories J ``[..., seeds, steps + 1]``: the final
    J per run and the mean curve over seeds; optionally the first step each run fell below
    ``absorbed_below`` (-1 if never), ``num_traces`` thinned single-run curves per setting and
    the last ``tail_fraction`` of every curve. numpy arrays, ready for ``cache.cached``."""
    out = {"final": J[..., -1].numpy(), "mean_traj": J.mean(-2).numpy()}
    if absorbed_below is not None:
        low = J < absorbed_below
        out["absorbed_at"] = torch.where(low.any(-1), low.double().argmax(-1), -1).numpy()
    if num_traces:
        out["traces"] = J[..., :num_traces, ::trace_every].numpy()
    if tail_fraction:
        K = J.shape[-1] - 1
        out["tail"] = J[..., int((1 - tail_fraction) * K):].numpy()
    return out


def direction_statistics(features, theta, length: int, group_size: int, num_groups: int,
                         seed: int = 0, length_mode: str = "fixed") -> dict:
    """Monte-Carlo moments of every algorithm's sampled direction w at one parameter ``theta``
    ``[d]``, from ``num_groups`` groups of ``group_size`` responses (``length``: T, or the maximum
    length under ``length_mode="uniform"``), against the exact Gradient Gap g. Per algorithm:
    the mean of w and its standard error, ``eff`` (E w = eff g + an orthogonal part),
    ``cos_mean`` = cos(E w, g), ``cos_realised`` = the mean cos(w, g) over non-zero draws, ``m2``
    = E |w|^2 and ``proj_sd`` = the standard deviation of w's projection on g."""
    R = check_int("num_groups", num_groups, minimum=2)
    theta = torch.as_tensor(theta, dtype=DTYPE)
    rng = np.random.default_rng(check_seed("seed", seed))
    r, s, L = sample_answer_last(features, theta.expand(R, theta.shape[-1]),
                                 torch.full((R,), length), group_size, rng, length_mode=length_mode)
    g = model_gap(features, theta, 1)
    cos = torch.nn.functional.cosine_similarity
    out = {}
    for alg in ALGORITHMS:
        w = run_direction(alg, r, s, L, torch.full((R,), float(length)))
        nz = w.norm(dim=-1) > 0
        out[alg] = {"mean": w.mean(0).numpy(), "se": (w.std(0) / math.sqrt(R)).numpy(),
                    "eff": float((w.mean(0) @ g) / (g @ g)),
                    "cos_mean": float(cos(w.mean(0), g, dim=0)),
                    "cos_realised": float(cos(w[nz], g.expand_as(w[nz]), dim=-1).mean()),
                    "m2": float(w.pow(2).sum(-1).mean()), "proj_sd": float((w @ g / g.norm()).std())}
    return out
