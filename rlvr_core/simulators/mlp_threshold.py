"""An independent test of the collapse threshold (claim P3, notebook 03): a small tanh-MLP policy
with no closed form, its collapse step PREDICTED from the start alone, then MEASURED.

Policy (the parameterisation of ``policies.MLPPolicy``, one prompt): logit(o) = v . tanh(W phi(o)
+ b), theta = (W, b, v) flat. Many runs (instances x starts x step sizes) advance together: every
tensor carries a leading batch axis B and the exact population quantities are enumerated over
the N responses:

    z(theta) = logit J = logsumexp_{correct} logit - logsumexp_{incorrect} logit,
    g = grad z (the Gradient Gap; one backward pass over the batch gives every run's g).

Prediction from theta_0 only [derived]: along w = g, the second-order model of the log-odds is
z(theta_0 + eta g) ~ z_0 + eta |g|^2 + eta^2 kappa / 2 with kappa = d^2/dt^2 z(theta_0 + t g);
when kappa < 0 it stops gaining (no-loss step) at eta_1 = 2 |g|^2 / (-kappa) (+inf when kappa >= 0).
A second predictor is the gradient-ascent stability step 2 / lambda_max(-nabla^2 z) (``stability_step``):
it is at most eta_1 (the Rayleigh quotient along g is at most lambda_max) and equals the exact
threshold 1/a on the quadratic-logit bandit, where eta_1 = 1/a + 1/(4 a^3 x_0^2) does not.
The measurement is the multi-step constant-step run: a run at step eta *fails* when it ends below
its start (z_K < z_0); the measured threshold is the first-failure bracket on the eta grid
(``thresholds.first_failure``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.func import jvp

from rlvr_core.paper.policies import DTYPE
from rlvr_core.infra.threads import few_threads
from rlvr_core.stats.thresholds import Bracket, first_failure
from rlvr_core.infra.arguments import check_grid, check_int, check_positive, check_probability, check_seed

Z_FLOOR = -1e6  # absorbed (J = 0 in float64): the run is frozen


def _split(theta: torch.Tensor, k: int, hidden: int):
    h = hidden
    W = theta[..., : h * k].reshape(*theta.shape[:-1], h, k)
    b = theta[..., h * k: h * k + h]
    v = theta[..., h * k + h:]
    return W, b, v


def mlp_dim(feature_dim: int, hidden: int) -> int:
    """Number of parameters of the MLP policy: h k + h + h."""
    return hidden * feature_dim + 2 * hidden


def batched_log_odds(phi: torch.Tensor, r: torch.Tensor, theta: torch.Tensor, hidden: int
                     ) -> torch.Tensor:
    """logit J of B one-prompt MLP policies: ``phi`` ``[B, N, k]``, ``r`` ``[B, N]``, ``theta``
    ``[B, d]`` -> ``[B]`` (stable: a difference of log-sum-exps)."""
    W, b, v = _split(theta, phi.shape[-1], hidden)
    pre = torch.einsum("bhk,bnk->bnh", W, phi) + b[:, None, :]
    logits = torch.einsum("bnh,bh->bn", torch.tanh(pre), v)
    correct = r > 0
    return (torch.logsumexp(logits.masked_fill(~correct, -math.inf), -1)
            - torch.logsumexp(logits.masked_fill(correct, -math.inf), -1))


def log_odds_and_gap(phi, r, theta, hidden):
    """(z ``[B]``, g = grad z ``[B, d]``) by one backward pass (runs are independent)."""
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        z = batched_log_odds(phi, r, th, hidden)
        (g,) = torch.autograd.grad(z.sum(), th)
    return z.detach(), g


def curvature_along(phi, r, theta, w, hidden) -> torch.Tensor:
    """kappa_b = d^2/dt^2 z_b(theta_b + t w_b) at t = 0, by forward-mode autograd twice: ``[B]``."""
    B = theta.shape[0]
    ones = torch.ones(B, dtype=DTYPE)

    def f(t):
        return batched_log_odds(phi, r, theta + t[:, None] * w, hidden)

    def df(t):
        return jvp(f, (t,), (ones,))[1]

    return jvp(df, (torch.zeros(B, dtype=DTYPE),), (ones,))[1]


def predicted_no_loss_step(phi, r, theta0, hidden):
    """eta_1 = 2 |g|^2 / (-kappa) at theta_0 (``+inf`` where kappa >= 0), with |g|^2 and kappa:
    returns ``(eta_1, g_norm_sq, kappa)``, each ``[B]``."""
    _, g = log_odds_and_gap(phi, r, theta0, hidden)
    gn2 = (g * g).sum(-1)
    kappa = curvature_along(phi, r, theta0, g, hidden)
    eta1 = torch.where(kappa < 0, 2 * gn2 / (-kappa).clamp_min(1e-300),
                       torch.full_like(gn2, math.inf))
    return eta1, gn2, kappa


def hessian_vector_product(phi, r, theta, v, hidden) -> torch.Tensor:
    """(nabla^2 z_b) v_b for every run b by double backward (runs are independent): ``[B, d]``."""
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(batched_log_odds(phi, r, th, hidden).sum(), th, create_graph=True)
        (hv,) = torch.autograd.grad((g * v).sum(), th)
    return hv


def stability_step(phi, r, theta0, hidden, *, krylov_dim: int = 40, seed: int = 0):
    """The gradient-ascent stability step 2 / lambda_max(-nabla^2 z) at theta_0, per run ``[B]``
    (``+inf`` where -nabla^2 z has no positive eigenvalue), and lambda_max itself.

    Only Hessian-vector products are used (so it scales to models whose Hessian is never formed):
    Rayleigh-Ritz on a Krylov basis built from them (Lanczos with full re-orthogonalisation), which
    unlike plain power iteration needs no shift when a negative eigenvalue dominates and converges
    fast when the top eigenvalues are close. With ``krylov_dim >= d`` the basis spans the space and
    the value is exact; the tests hold it against the full Hessian."""
    m = min(check_int("krylov_dim", krylov_dim, minimum=1), theta0.shape[-1])
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    with few_threads(phi.numel() * hidden):
        lam = _top_ritz_value(lambda v: -hessian_vector_product(phi, r, theta0, v, hidden),
                              *theta0.shape, m, gen)
    step = torch.where(lam > 0, 2 / lam.clamp_min(1e-300), torch.full_like(lam, math.inf))
    return step, lam


def _orthogonalise(w, Q):
    for _ in range(2):  # twice is enough in floating point ("twice is enough", Kahan)
        w = w - torch.einsum("bj,bjd->bd", torch.einsum("bjd,bd->bj", Q, w), Q)
    return w


def _top_ritz_value(apply, B: int, d: int, m: int, gen) -> torch.Tensor:
    """Largest eigenvalue of Q^T A Q over an m-dim orthonormal Krylov basis Q of the symmetric
    operator ``apply`` (batched ``[B, d] -> [B, d]``); a basis that closes early is continued with
    a random direction, which keeps Q^T A Q a valid Rayleigh-Ritz matrix."""
    Q = torch.zeros(B, m, d, dtype=DTYPE)
    AQ = torch.zeros(B, m, d, dtype=DTYPE)
    v = torch.randn(B, d, generator=gen, dtype=DTYPE)
    v = v / v.norm(dim=-1, keepdim=True)
    for j in range(m):
        Q[:, j], AQ[:, j] = v, apply(v)
        if j + 1 == m:
            break
        w = _orthogonalise(AQ[:, j], Q[:, : j + 1])
        fresh = _orthogonalise(torch.randn(B, d, generator=gen, dtype=DTYPE), Q[:, : j + 1])
        scale = AQ[:, j].norm(dim=-1, keepdim=True).clamp_min(1e-300)
        w = torch.where(w.norm(dim=-1, keepdim=True) > 1e-10 * scale, w, fresh)
        v = w / w.norm(dim=-1, keepdim=True)
    T = torch.einsum("bid,bjd->bij", Q, AQ)
    return torch.linalg.eigvalsh((T + T.transpose(1, 2)) / 2)[..., -1]


def simulate_mlp(phi, r, theta0, etas, num_steps: int, hidden: int) -> torch.Tensor:
    """Constant-step w = g dynamics of B MLP policies at once; returns the log-odds ``[K+1, B]``.
    ``etas`` ``[B]``. A run whose z fell below ``Z_FLOOR`` (or whose update is not finite) is
    frozen."""
    K = check_int("num_steps", num_steps, minimum=1)
    theta = theta0.clone()
    out = torch.empty(K + 1, theta.shape[0], dtype=DTYPE)
    with few_threads(phi.numel() * hidden):
        for k in range(K + 1):
            z, g = log_odds_and_gap(phi, r, theta, hidden)
            out[k] = z
            if k == K:
                break
            ok = (z > Z_FLOOR) & torch.isfinite(g).all(-1)
            theta = theta + torch.where(ok[:, None], etas[:, None] * g, torch.zeros_like(g))
    return out


@dataclass(frozen=True)
class MLPInstances:
    """I random one-prompt MLP bandits x S starts: ``phi`` ``[I, N, k]``, ``rewards`` ``[I, N]``,
    ``theta0`` ``[I, S, d]``."""

    phi: torch.Tensor
    rewards: torch.Tensor
    theta0: torch.Tensor
    hidden: int


def random_mlp_instances(num_instances: int, num_starts: int, *, num_responses: int = 6,
                         feature_dim: int = 3, hidden: int = 8, max_correct: int = 2,
                         init_scale: float = 1.0, seed: int = 0) -> MLPInstances:
    """Gaussian response features, 1..``max_correct`` correct responses, and starts drawn like
    ``MLPPolicy.init_theta`` (W ~ N(0, s^2/k), b ~ N(0, 1), v ~ N(0, s^2/h))."""
    I = check_int("num_instances", num_instances, minimum=1)
    S = check_int("num_starts", num_starts, minimum=1)
    N = check_int("num_responses", num_responses, minimum=2)
    k = check_int("feature_dim", feature_dim, minimum=1)
    h = check_int("hidden", hidden, minimum=1)
    c = check_int("max_correct", max_correct, minimum=1, maximum=N - 1)
    s = check_positive("init_scale", init_scale)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    phi = torch.randn(I, N, k, generator=gen, dtype=DTYPE)
    n_correct = torch.randint(1, c + 1, (I, 1), generator=gen)
    order = torch.rand(I, N, generator=gen).argsort(-1)
    rewards = (order < n_correct).to(DTYPE)
    theta = torch.randn(I, S, mlp_dim(k, h), generator=gen, dtype=DTYPE)
    theta[..., : h * k] *= s / math.sqrt(k)
    theta[..., h * k + h:] *= s / math.sqrt(h)
    return MLPInstances(phi, rewards, theta, h)


@dataclass(frozen=True)
class ThresholdSweep:
    """Per run (instance, start): the predicted eta_1 and the measured bracket. Shapes ``[I, S]``
    (bracket fields too); ``z`` is ``[K+1, E, I, S]``."""

    etas: torch.Tensor
    eta1: torch.Tensor
    kappa: torch.Tensor
    g_norm_sq: torch.Tensor
    bracket: Bracket
    passed: torch.Tensor   # [I, S, E]
    z: torch.Tensor
    eta_stability: torch.Tensor   # 2 / lambda_max(-nabla^2 z) at the start, [I, S]

    @property
    def ratio(self) -> torch.Tensor:
        """predicted / measured (eta_1 / bracket estimate), ``[I, S]``; NaN where undefined."""
        return self.eta1 / self.bracket.estimate


def sweep_mlp_threshold(inst: MLPInstances, etas, num_steps: int) -> ThresholdSweep:
    """Predict eta_1 at every start, run every (eta, instance, start) for ``num_steps`` steps in
    one batch, and read the measured threshold per run with the first-failure rule
    (pass: z_K >= z_0)."""
    grid = torch.tensor(check_grid("etas", list(map(float, etas)), increasing=True), dtype=DTYPE)
    I, S, d = inst.theta0.shape
    E = len(grid)
    phi_r = inst.phi[:, None].expand(I, S, *inst.phi.shape[1:]).reshape(I * S, *inst.phi.shape[1:])
    r_r = inst.rewards[:, None].expand(I, S, -1).reshape(I * S, -1)
    th = inst.theta0.reshape(I * S, d)
    eta1, gn2, kappa = predicted_no_loss_step(phi_r, r_r, th, inst.hidden)
    eta_stab, _ = stability_step(phi_r, r_r, th, inst.hidden)
    B = E * I * S
    z = simulate_mlp(phi_r.repeat(E, 1, 1), r_r.repeat(E, 1), th.repeat(E, 1),
                     grid.repeat_interleave(I * S), num_steps, inst.hidden)
    z = z.reshape(num_steps + 1, E, I, S)
    assert B == E * I * S
    passed = (z[-1] >= z[0]).permute(1, 2, 0)  # [I, S, E]
    return ThresholdSweep(grid, eta1.reshape(I, S), kappa.reshape(I, S), gn2.reshape(I, S),
                          first_failure(passed, grid), passed, z, eta_stab.reshape(I, S))


def bootstrap_geomean(values, *, n_boot: int = 2000, level: float = 0.9, seed: int = 0,
                      clusters=None) -> tuple[float, float, float]:
    """(geometric mean, CI low, CI high) of positive finite ``values`` by a percentile bootstrap;
    with ``clusters`` (an int label per value) whole clusters (e.g. instances) are resampled."""
    x = torch.as_tensor(values, dtype=DTYPE).reshape(-1)
    lab = (torch.arange(x.numel()) if clusters is None
           else torch.as_tensor(clusters).reshape(-1))
    keep = torch.isfinite(x) & (x > 0)
    x, lab = x[keep].log(), lab[keep]
    if x.numel() == 0:
        return math.nan, math.nan, math.nan
    check_probability("level", level)
    n_boot = check_int("n_boot", n_boot, minimum=1)
    ids = lab.unique()
    C = len(ids)
    sums = torch.stack([x[lab == c].sum() for c in ids])
    counts = torch.stack([(lab == c).sum() for c in ids]).to(DTYPE)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    pick = torch.randint(C, (n_boot, C), generator=gen)
    means = sums[pick].sum(-1) / counts[pick].sum(-1)
    q = torch.quantile(means, torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=DTYPE))
    return math.exp(float(x.mean())), math.exp(float(q[0])), math.exp(float(q[1]))


__all__ = ["MLPInstances", "ThresholdSweep", "batched_log_odds", "bootstrap_geomean",
           "curvature_along", "hessian_vector_product", "log_odds_and_gap", "mlp_dim",
           "predicted_no_loss_step", "stability_step",
           "random_mlp_instances", "simulate_mlp", "sweep_mlp_threshold"]
