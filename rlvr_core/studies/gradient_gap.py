"""Notebook 01's study: the Gradient Gap identities (claim P1) checked by exact enumeration,
autograd, Monte Carlo and finite differences. The computations are those of ``rlvr_core.paper.gap``;
this module fixes the notebook's sizes, runs its four experiments, draws its three figures and
words its verdicts from the computed numbers (so a ``PROFILE=full`` run leaves no stale text)."""
from __future__ import annotations

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from rlvr_core.notebook.figures import savefig
from rlvr_core.stats.fit import loglog_slope
from rlvr_core.paper.gap import (curvature_checks, curvature_identity, exact_gap, grad_success_prob, identity_errors,
                   mc_gap_errors, success_prob)
from rlvr_core.simulators.instances import identity_examples

NOTEBOOK = "01_gradient_gap"
BANDIT = "log-linear bandit (3 prompts, 6 responses, d=4)"
CIRCLE = "circle, 8 responses, 1 correct (d=2)"
EXACT_TOL = 1e-8      # P1's tolerance for an exact float64 identity
ROUNDING = 1e-12      # below this an error is float64 rounding, as the verdicts say
RATE, RATE_TOL = -0.5, 0.1  # the CLT slope and the tolerance of its check
SWEEP_T, SWEEP_POINTS = (-4, 16), 121  # the line theta = t phi(o*) of section 4
PATH_THETA0, PATH_W, PATH_T = (0.5, -0.3), (0.0, 1.0), (-4, 4)  # the line of section 5's figure


def sizes(profile: str) -> SimpleNamespace:
    """Monte-Carlo sample sizes 4^3 .. 4^7 (default) or .. 4^9 (full): the full profile adds two
    decades of n to the rate fit."""
    top = 15 if profile == "default" else 19
    return SimpleNamespace(sample_sizes=[2**k for k in range(6, top, 2)])


def identities(seed: int) -> SimpleNamespace:
    """The four policies of ``instances.identity_examples`` and the table of relative errors of
    each identity (rows: policies; columns: identities)."""
    policies, thetas = identity_examples(seed)
    errors = pd.DataFrame({name: identity_errors(p, thetas[name]) for name, p in policies.items()}).T
    return SimpleNamespace(policies=policies, thetas=thetas, errors=errors)


def error_table(frame: pd.DataFrame) -> str:
    """A table of errors at one significant digit (what the reader needs: their order)."""
    return frame.map(lambda e: f"{e:.0e}").to_string()


def identities_verdict(errors: pd.DataFrame) -> str:
    """[measured] Whether every identity holds on every policy, with the order of the largest error."""
    worst, n = float(np.nanmax(errors.to_numpy())), len(errors)
    if worst > EXACT_TOL:
        return (f"[measured] An identity fails: the largest relative error is {worst:.0e}, above the "
                f"{EXACT_TOL:.0e} that P1 allows.")
    size = f"below {ROUNDING:.0e}" if worst < ROUNDING else f"at most {worst:.0e}"
    return (f"[measured] Every identity holds on all {n} policies, the neural one included: every "
            f"relative error is {size}, rounding level, against the {EXACT_TOL:.0e} that P1 allows.")


def mc_rate(identities_result: SimpleNamespace, sample_sizes, seeds) -> SimpleNamespace:
    """Relative error of the sampled Gradient Gap on the log-linear bandit, per n and seed; its RMS
    over seeds and the fitted log-log slope."""
    pol, theta = identities_result.policies[BANDIT], identities_result.thetas[BANDIT]
    err = mc_gap_errors(pol, theta, sample_sizes, seeds).numpy()
    rms = np.sqrt(np.nanmean(err**2, axis=1))
    return SimpleNamespace(sizes=list(sample_sizes), err=err, rms=rms, slope=loglog_slope(sample_sizes, rms))


def rate_verdict(slope: float) -> str:
    """[measured] The fitted slope against the CLT's -1/2, and whether it is within the tolerance."""
    ok = abs(slope - RATE) <= RATE_TOL
    return (f"[measured] The fitted log-log slope is {slope:.2f} (theory {RATE:.2f}): "
            + (f"within {RATE_TOL:g} of it, the 1/sqrt(n) rate." if ok else
               f"more than {RATE_TOL:g} away, so the 1/sqrt(n) rate is not seen at these n."))


def plot_mc_rate(mc: SimpleNamespace, seed: int, mc_seeds: int):
    """The sampled Gradient Gap's error against n, single seeds and their RMS, with the 1/sqrt(n)
    reference through the first point; saved as ``mc_gradient_gap_error_vs_samples``."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for j in range(mc.err.shape[1]):
        ax.loglog(mc.sizes, mc.err[:, j], color="0.75", lw=0.8, zorder=1)
    ax.loglog(mc.sizes, mc.rms, "o-", color="C0", label="measured (RMS over seeds)", zorder=3)
    ref = mc.rms[0] * np.sqrt(mc.sizes[0] / np.array(mc.sizes))
    ax.loglog(mc.sizes, ref, "--", color="C3", label=r"theory: $\propto 1/\sqrt{n}$", zorder=2)
    ax.set(xlabel="samples per prompt $n$", ylabel=r"relative error $\|\hat g_n - g\| / \|g\|$",
           title="Monte-Carlo Gradient Gap converges at rate $n^{-1/2}$")
    ax.legend(loc="lower left")
    savefig(fig, "mc_gradient_gap_error_vs_samples", notebook=NOTEBOOK, claim="P1",
            params={"seed": seed, "mc_seeds": mc_seeds, "sample_sizes": mc.sizes},
            caption="Relative error of the sampled Gradient Gap against n; grey: single seeds.")
    return fig


def variance_sweep(identities_result: SimpleNamespace) -> SimpleNamespace:
    """Along theta = t phi(o*) on the circle policy (J runs over (0, 1)): J, ||grad J|| by autograd,
    ||g|| by enumeration, and the largest error of ||grad J|| / ||g|| = J(1 - J)."""
    circle = identities_result.policies[CIRCLE]
    direction = circle.features[0, 0]
    rows = []
    for t in torch.linspace(*SWEEP_T, SWEEP_POINTS, dtype=torch.float64):
        th = t * direction
        st = exact_gap(circle, th)
        rows.append((st.J.item(), grad_success_prob(circle, th).norm().item(), st.gap.norm().item()))
    J, grad_norm, gap_norm = map(np.array, zip(*rows))
    ratio_err = float(np.max(np.abs(grad_norm / gap_norm - J * (1 - J))))
    return SimpleNamespace(J=J, grad_norm=grad_norm, gap_norm=gap_norm, ratio_err=ratio_err)


def sweep_verdict(sweep: SimpleNamespace) -> str:
    """[measured] The J range of the sweep and whether the ratio identity holds at every point."""
    head = (f"[measured] J runs over [{sweep.J.min():.3f}, {sweep.J.max():.3f}] on {len(sweep.J)} "
            "points; ||grad J|| / ||g|| = J(1 - J) ")
    if sweep.ratio_err > EXACT_TOL:
        return head + f"fails: largest error {sweep.ratio_err:.0e}."
    return head + f"holds at every point (largest error {sweep.ratio_err:.0e}, rounding level)."


def plot_variance_sweep(sweep: SimpleNamespace, seed: int):
    """Left: ||g|| and ||grad J|| against J; right: their ratio on the parabola J(1 - J); saved as
    ``policy_gradient_is_variance_times_gap``."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].plot(sweep.J, sweep.gap_norm, color="C0", label=r"$\|g\|$ (Gradient Gap)")
    axes[0].plot(sweep.J, sweep.grad_norm, color="C1", label=r"$\|\nabla J\|$ (policy gradient)")
    axes[0].set(xlabel="success probability $J$", ylabel="norm", title="circle policy, 8 responses")
    axes[0].legend()
    axes[1].plot(sweep.J, sweep.grad_norm / sweep.gap_norm, "o", ms=3, color="C1",
                 label=r"measured $\|\nabla J\|/\|g\|$")
    jj = np.linspace(0, 1, 200)
    axes[1].plot(jj, jj * (1 - jj), "--", color="C3", label="theory $J(1-J)$")
    axes[1].set(xlabel="success probability $J$", ylabel="ratio", title="the reward-variance factor")
    axes[1].legend()
    savefig(fig, "policy_gradient_is_variance_times_gap", notebook=NOTEBOOK, claim="P1",
            params={"seed": seed, "t_range": list(SWEEP_T), "points": SWEEP_POINTS},
            caption="||grad J|| and ||g|| along a line in parameter space; their ratio is J(1-J).")
    return fig


def curvature(identities_result: SimpleNamespace, seed: int, h: float = 1e-3) -> pd.DataFrame:
    """The curvature identity on every policy along a random direction (drawn from ``seed``, in
    the policies' order), against autograd and a central finite difference with step ``h``."""
    gen = torch.Generator().manual_seed(seed)
    rows = {}
    for name, pol in identities_result.policies.items():
        w = torch.randn(pol.dim, generator=gen, dtype=torch.float64)
        rows[name] = curvature_checks(pol, identities_result.thetas[name], w, h=h)
    return pd.DataFrame(rows).T


def curvature_verdict(curv: pd.DataFrame) -> str:
    """[measured] Agreement of the curvature identity with autograd (to rounding) and with finite
    differences (to their own error estimate, at most twice it)."""
    ad, fd = float(curv["identity vs autograd"].max()), float(curv["finite diff error / its estimate"].max())
    ok_ad, ok_fd = ad <= EXACT_TOL, fd <= 2.0
    return (f"[measured] On all {len(curv)} policies the curvature identity "
            + ("matches" if ok_ad else "does not match") + f" autograd (largest error {ad:.0e}) and "
            + ("matches" if ok_fd else "does not match") + " finite differences to within their "
            f"truncation error (at most {fd:.1f} times its estimate; 2 allowed).")


def curvature_path(identities_result: SimpleNamespace) -> SimpleNamespace:
    """logit J along the line theta0 + t w of the circle policy, its second derivative by the
    identity, and by finite differences of the sampled path (for the figure)."""
    circle = identities_result.policies[CIRCLE]
    w = torch.tensor(PATH_W, dtype=torch.float64)
    theta0 = torch.tensor(PATH_THETA0, dtype=torch.float64)
    t = np.linspace(*PATH_T, 81)
    logit = np.array([torch.logit(success_prob(circle, theta0 + s * w)).item() for s in t])
    curv = np.array([curvature_identity(circle, theta0 + s * w, w).item() for s in t])
    fd = np.gradient(np.gradient(logit, t), t)
    return SimpleNamespace(t=t, logit=logit, curv=curv, fd=fd, theta0=theta0.tolist(), w=w.tolist())


def plot_curvature_path(path: SimpleNamespace):
    """Left: the log-odds along the line; right: its second derivative by the identity and by
    finite differences; saved as ``log_odds_curvature_identity``."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(path.t, path.logit, color="C0")
    axes[0].set(xlabel="$t$", ylabel=r"$\mathrm{logit}\,J(\theta_0+t w)$", title="log-odds along a line")
    axes[1].plot(path.t, path.curv, color="C3", label="identity: Var$^+$−Var$^-$+E$^+h$−E$^-h$")
    axes[1].plot(path.t[2:-2], path.fd[2:-2], "o", ms=3, color="C0", label="finite differences of the left panel")
    axes[1].axhline(0, color="0.5", lw=0.8)
    axes[1].set(xlabel="$t$", ylabel="second derivative", title="curvature identity")
    axes[1].margins(y=0.3)  # room above the curve for the legend
    axes[1].legend(fontsize="small", loc="upper center")
    savefig(fig, "log_odds_curvature_identity", notebook=NOTEBOOK, claim="P1",
            params={"theta0": path.theta0, "w": path.w, "t_range": list(PATH_T)},
            caption="Second derivative of the log-odds along a line: identity vs finite differences.")
    return fig


def concavity_verdict(path: SimpleNamespace) -> str:
    """[measured] The sign of the curvature along the figure's line (the one-correct-response
    log-linear case, where the derivation says it is never positive)."""
    top = float(path.curv.max())
    sign = "negative at every point" if top < 0 else "not negative everywhere"
    return f"[measured] Along the figure's line the curvature is {sign} (largest value {top:.2g})."
