"""The vectorised bandit engine: many step sizes x seeds x instances in one tensor computation.

A *run* b is one log-linear contextual bandit (P prompts, N responses each, features
phi [P, N, d], binary rewards), a start theta_0 and a step-size setting. All runs advance
together: every quantity carries a leading batch axis B (no Python loop over runs; the only
loop is over iterations). Closed forms of the log-linear policy pi ∝ exp(theta . phi):

    g_q = E+[phi] - E-[phi]      (the Gradient Gap: mu+ - mu-, the E_pi phi terms cancel)
    logit J_q = logsumexp_{correct} theta.phi - logsumexp_{incorrect} theta.phi

The update is theta_{k+1} = theta_k + eta_k w_k with w_k the mean over prompts of a per-prompt
direction: the exact (population) direction of an algorithm of ``rlvr_core.paper.directions`` (or g
itself), a sampled finite-group direction (G responses per prompt drawn with one
``torch.Generator``), or a direction whose alignment with g decays (to show Theorem 1's stall).
Per run and step it records logit J_q, the alignment Delta mu_q = <w_k, g_q(theta_k)>, the
cumulative progress M_q(k) = sum [Delta mu_q]_+ eta, eta_k and ||w_k||.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rlvr_core.paper import theory
from rlvr_core.paper.directions import ALGORITHMS, population_direction, sampled_direction
from rlvr_core.paper.policies import DTYPE
from rlvr_core.stats.thresholds import Bracket, bracket_from_seeds
from rlvr_core.infra.threads import few_threads
from rlvr_core.infra.arguments import check_choice, check_grid, check_int, check_positive, check_seed

STEP_RULES = ("constant", "theorem1", "companion", "sharp")
DIRECTIONS = ("gap", "decaying_alignment", *ALGORITHMS)


@dataclass
class SimResult:
    """Recorded trajectories. Shapes: ``log_odds``, ``M`` ``[K+1, B, P]``; ``alignment``
    ``[K, B, P]``; ``eta``, ``w_norm`` ``[K, B]``; ``theta`` ``[K+1, B, d]`` (or ``None``)."""

    log_odds: torch.Tensor
    alignment: torch.Tensor
    M: torch.Tensor
    eta: torch.Tensor
    w_norm: torch.Tensor
    theta_final: torch.Tensor
    theta: torch.Tensor | None = None

    @property
    def J(self) -> torch.Tensor:
        return torch.sigmoid(self.log_odds)

    @property
    def logit_gain(self) -> torch.Tensor:
        """logit J_k - logit J_0, ``[K+1, B, P]``."""
        return self.log_odds - self.log_odds[:1]

    @property
    def margin(self) -> torch.Tensor:
        """Theorem 1's margin logit J_k - logit J_0 - M(k)/2 (>= 0 when the theorem applies)."""
        return self.logit_gain - self.M / 2


@dataclass(frozen=True)
class Grid:
    """A flattened run grid: run b has step ``eta[b]``, seed index ``seed[b]`` and instance
    index ``instance[b]``, ordered (eta, seed, instance) row-major."""

    eta: torch.Tensor
    seed: torch.Tensor
    instance: torch.Tensor
    shape: tuple[int, int, int]

    def unflatten(self, x: torch.Tensor, axis: int = 0) -> torch.Tensor:
        """Split the batch axis ``axis`` of ``x`` into (eta, seed, instance)."""
        axis = axis % x.ndim
        return x.reshape(*x.shape[:axis], *self.shape, *x.shape[axis + 1:])


def make_grid(etas, num_seeds: int, num_instances: int) -> Grid:
    """Every combination of step size, seed and instance as one batch of E*S*I runs."""
    etas = torch.tensor(check_grid("etas", etas), dtype=DTYPE)
    S = check_int("num_seeds", num_seeds, minimum=1)
    I = check_int("num_instances", num_instances, minimum=1)
    e, s, i = torch.meshgrid(torch.arange(len(etas)), torch.arange(S), torch.arange(I),
                             indexing="ij")
    return Grid(eta=etas[e.flatten()], seed=s.flatten(), instance=i.flatten(),
                shape=(len(etas), S, I))


def check_batch(features, rewards, theta0, etas):
    """Validate one batch of bandit runs (features ``[B, P, N, d]`` or ``[P, N, d]``, binary
    rewards with a correct and an incorrect response per prompt, starts, step sizes > 0) and
    bring them to a common batch size B; a clear error otherwise. Shared with the simulators
    that build on ``simulate``."""
    phi = torch.as_tensor(features, dtype=DTYPE)
    if phi.ndim == 3:
        phi = phi.unsqueeze(0)
    if phi.ndim != 4 or phi.shape[2] < 2 or phi.shape[3] < 1:
        raise ValueError(f"features has shape {tuple(phi.shape)}: expected [B, P, N, d] or "
                         "[P, N, d] with N >= 2")
    r = torch.as_tensor(rewards, dtype=DTYPE)
    if r.ndim == 2:
        r = r.unsqueeze(0)
    if r.shape[1:] != phi.shape[1:3] or r.shape[0] not in (1, phi.shape[0]):
        raise ValueError(f"rewards has shape {tuple(r.shape)}: expected [B, P, N] or [P, N] "
                         f"matching features {tuple(phi.shape)}")
    if not torch.all((r == 0) | (r == 1)):
        raise ValueError("rewards is invalid: expected binary values in {0, 1}")
    n_correct = r.sum(-1)
    if torch.any(n_correct == 0) or torch.any(n_correct == r.shape[-1]):
        raise ValueError("rewards is invalid: expected a correct and an incorrect response per prompt")
    etas = torch.as_tensor(etas, dtype=DTYPE).reshape(-1)
    if etas.numel() == 0:
        raise ValueError("etas=[] is invalid: expected a non-empty sequence of numbers > 0")
    if not torch.all(torch.isfinite(etas) & (etas > 0)):
        bad = etas[~(torch.isfinite(etas) & (etas > 0))][0].item()
        raise ValueError(f"etas contains {bad!r}: expected finite numbers > 0")
    B = max(phi.shape[0], r.shape[0], etas.numel())
    th = torch.as_tensor(theta0, dtype=DTYPE)
    if th.ndim == 1:
        th = th.unsqueeze(0)
    if th.ndim != 2 or th.shape[1] != phi.shape[3]:
        raise ValueError(f"theta0 has shape {tuple(th.shape)}: expected [B, {phi.shape[3]}] or "
                         f"[{phi.shape[3]}]")
    for name, n in (("features", phi.shape[0]), ("rewards", r.shape[0]), ("etas", etas.numel()),
                    ("theta0", th.shape[0])):
        if n not in (1, B):
            raise ValueError(f"{name} has batch size {n}: expected 1 or {B}")
    return (phi.expand(B, *phi.shape[1:]), r.expand(B, *r.shape[1:]),
            th.expand(B, -1).clone(), etas.expand(B).clone())


def gap_stats(phi: torch.Tensor, r: torch.Tensor, theta: torch.Tensor):
    """(log-odds ``[B, P]``, Gradient Gap ``[B, P, d]``, probabilities ``[B, P, N]``) of the
    log-linear policy in closed form, stable at J close to 0 or 1."""
    logits = torch.einsum("bpnd,bd->bpn", phi, theta)
    correct = r > 0
    pos = logits.masked_fill(~correct, -math.inf)
    neg = logits.masked_fill(correct, -math.inf)
    log_odds = torch.logsumexp(pos, -1) - torch.logsumexp(neg, -1)
    e_plus = torch.einsum("bpn,bpnd->bpd", torch.softmax(pos, -1), phi)
    e_minus = torch.einsum("bpn,bpnd->bpd", torch.softmax(neg, -1), phi)
    return log_odds, e_plus - e_minus, torch.softmax(logits, -1)


def simulate(features, rewards, theta0, etas, num_steps: int, *, direction: str = "gap",
             step_rule: str = "constant", group_size: int | None = None, seed: int = 0,
             alignment_decay: float = 1.0, max_eta: float = 1e6,
             record_theta: bool = False) -> SimResult:
    """Run B log-linear bandits for ``num_steps`` iterations at once.

    ``features`` ``[B, P, N, d]`` or ``[P, N, d]``; ``rewards`` ``[B, P, N]`` or ``[P, N]``;
    ``theta0`` ``[B, d]`` or ``[d]``; ``etas`` ``[B]`` or a scalar: the constant step
    (``step_rule="constant"``) or the multiplier of the per-step bound (1 = at the bound):
    ``"theorem1"`` eta_k = min_q [Delta mu_q]_+ / (2 (L_o + 8 G_o^2) ||w_k||^2),
    ``"companion"`` with 2 L_o + G_o^2, ``"sharp"`` with R-(w_k)^2/4 (see ``theory``); the min
    over prompts makes the theorem's hypothesis hold for every prompt; steps are capped at
    ``max_eta``.
    ``direction``: ``"gap"`` (w = mean_q g_q), an algorithm of ``rlvr_core.paper.directions`` (its
    population direction, or its sampled one when ``group_size`` is given), or
    ``"decaying_alignment"``: w_k = cos_k ĝ + sin_k u_k with cos_k = (k+1)^-alignment_decay and
    u_k a fixed random unit vector made orthogonal to g (needs d >= 2).
    """
    K = check_int("num_steps", num_steps, minimum=1)
    check_choice("direction", direction, DIRECTIONS)
    check_choice("step_rule", step_rule, STEP_RULES)
    check_seed("seed", seed)
    check_positive("alignment_decay", alignment_decay)
    check_positive("max_eta", max_eta)
    if group_size is not None:
        check_int("group_size", group_size, minimum=2)
        if direction not in ALGORITHMS:
            raise ValueError(f"direction={direction!r} is invalid with group_size: expected one of "
                             + ", ".join(repr(a) for a in ALGORITHMS))
    phi, r, theta, eta0 = check_batch(features, rewards, theta0, etas)
    with few_threads(phi.numel()):
        return _simulate(phi, r, theta, eta0, K, direction, step_rule, group_size, seed,
                         alignment_decay, max_eta, record_theta)



def _simulate(phi, r, theta, eta0, K, direction, step_rule, group_size, seed, alignment_decay,
              max_eta, record_theta) -> SimResult:
    B, P, N, d = phi.shape
    if direction == "decaying_alignment" and d < 2:
        raise ValueError(f"features has d={d}: direction='decaying_alignment' needs d >= 2")
    gen = torch.Generator().manual_seed(seed)
    if step_rule in ("theorem1", "companion"):
        L, G = theory.loglinear_constants(phi)  # [B, P]
        const = (theory.theorem1_constant(L, G) if step_rule == "theorem1"
                 else theory.companion_constant(L, G))
    if direction == "decaying_alignment":
        u0 = torch.randn(B, d, generator=gen, dtype=DTYPE)

    log_odds = torch.empty(K + 1, B, P, dtype=DTYPE)
    alignment = torch.empty(K, B, P, dtype=DTYPE)
    eta_rec = torch.empty(K, B, dtype=DTYPE)
    w_norm = torch.empty(K, B, dtype=DTYPE)
    thetas = torch.empty(K + 1, B, d, dtype=DTYPE) if record_theta else None
    for k in range(K + 1):
        lo, g, probs = gap_stats(phi, r, theta)
        log_odds[k] = lo
        if record_theta:
            thetas[k] = theta
        if k == K:
            break
        if direction == "gap":
            w = g.mean(1)
        elif direction == "decaying_alignment":
            gm = g.mean(1)
            gn = gm.norm(dim=-1, keepdim=True).clamp_min(1e-300)
            ghat = gm / gn
            u = u0 - (u0 * ghat).sum(-1, keepdim=True) * ghat
            u = u / u.norm(dim=-1, keepdim=True).clamp_min(1e-300)
            c = (k + 1.0) ** (-alignment_decay)
            w = gn * (c * ghat + math.sqrt(max(0.0, 1 - c * c)) * u)
        elif group_size is None:
            w = population_direction(direction, torch.sigmoid(lo), g).mean(1)
        else:
            idx = torch.multinomial(probs.reshape(B * P, N), group_size, replacement=True,
                                    generator=gen).reshape(B, P, group_size)
            rs = torch.gather(r, 2, idx)
            mean_phi = torch.einsum("bpn,bpnd->bpd", probs, phi)
            scores = torch.gather(phi, 2, idx.unsqueeze(-1).expand(-1, -1, -1, d)) \
                - mean_phi.unsqueeze(2)
            w = sampled_direction(direction, rs, scores).mean(1)
        al = torch.einsum("bd,bpd->bp", w, g)
        wn2 = (w * w).sum(-1)
        if step_rule == "constant":
            eta = eta0
        else:
            if step_rule == "sharp":
                bound = theory.sharp_step(al, theory.sharp_curvature_constant(phi, r, w))
            else:
                bound = theory.step_bound(al, wn2.unsqueeze(-1), const)
            eta = (eta0 * bound.amin(-1)).clamp_max(max_eta)
            eta = torch.where(wn2 > 0, eta, torch.zeros_like(eta))
        alignment[k], eta_rec[k], w_norm[k] = al, eta, wn2.sqrt()
        theta = theta + eta.unsqueeze(-1) * w
    M = theory.cumulative_progress(eta_rec.unsqueeze(-1), alignment)
    return SimResult(log_odds=log_odds, alignment=alignment, M=M, eta=eta_rec, w_norm=w_norm,
                     theta_final=theta, theta=thetas)


def simulate_per_run(features, rewards, theta0, etas, num_steps: int, **kwargs) -> list[SimResult]:
    """The same runs one at a time (a plain Python loop over runs): the baseline of the
    benchmark. Sampled directions draw different samples than the batched call."""
    phi, r, th, eta = check_batch(features, rewards, theta0, etas)
    return [simulate(phi[b], r[b], th[b], eta[b:b + 1], num_steps, **kwargs)
            for b in range(phi.shape[0])]


def grid_runs(*axes) -> list[torch.Tensor]:
    """Flatten a Cartesian product of 1-D axes into per-run float64 tensors (first axis slowest)."""
    mesh = torch.meshgrid(*[torch.as_tensor(a, dtype=DTYPE) for a in axes], indexing="ij")
    return [m.reshape(-1) for m in mesh]


def transition(etas, converged: torch.Tensor) -> Bracket:
    """The transition band of a sweep: ``converged`` ``[E, ...]`` booleans per grid step (any
    trailing run axes). A step passes when every run converged and fails when none did; mixed
    steps are ambiguous (``thresholds.bracket_from_seeds`` with band (0, 1)), so the bracket is
    (last all-converging step of the leading block, first all-failing step after it)."""
    etas = check_grid("etas", etas)
    conv = torch.as_tensor(converged).reshape(len(etas), -1)
    return bracket_from_seeds(conv, etas, band=(0.0, 1.0), name="etas")
