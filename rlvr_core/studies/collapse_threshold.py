"""Notebook 03 (collapse above the step-size threshold, Theorem 2): its sizes, the five analyses
its sections run, their figures and the sentences that quote their numbers.

The analyses are the notebook's former cell code, moved here unchanged (same seeds, same draws in
the same order), so the figures and the checked numbers stay what they were:

1. ``quadratic_logit_sweep``: the phase diagram of the quadratic-logit bandit (an identity check:
   1/a is the exact stability boundary of the recurrence it iterates);
2. ``policy_path``: one path below and one above 1/a, and Theorem 1's certified constant step;
3. ``mlp_prediction``: the start-only prediction of the threshold on a small MLP policy, against
   full runs (the independent test);
4. ``circle_model``: the proved no-loss step 8/D_-^2 of the one-correct circle model, measured;
5. ``open_case_search``: random log-linear instances with several correct responses or prompts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import torch

from rlvr_core.notebook import figures

from rlvr_core.paper import theory
from rlvr_core.paper.gap import exact_gap, log_odds_curvature
from rlvr_core.simulators.instances import (circle_instance, in_convex_hull, random_instances, random_starts,
                         simulate_quadratic_logit)
from rlvr_core.simulators.mlp_threshold import (bootstrap_geomean, curvature_along, log_odds_and_gap,
                             random_mlp_instances, sweep_mlp_threshold)
from rlvr_core.paper.policies import MLPPolicy
from rlvr_core.simulators.sim import make_grid, simulate, transition
from rlvr_core.stats.thresholds import first_failure
from rlvr_core.infra.arguments import check_grid, check_positive, check_profile

NOTEBOOK = "03_collapse_threshold"
COLLAPSE_LEVEL = 0.05     # a run collapses when J stays below this over its last quarter
CRITERION = (0.5, 2.0)    # the MLP prediction is reproduced when its 90% CI lies inside this


@dataclass(frozen=True)
class Sizes:
    """Grid sizes of one profile (``sizes``)."""
    num_etas: int
    num_seeds: int
    num_steps: int
    mlp_instances: int
    mlp_starts: int
    mlp_steps: int
    mlp_etas: int
    open_instances: int
    open_starts: int
    open_steps: int


def sizes(profile: str) -> Sizes:
    """The sizes of the ``default`` (fast, ~20 s) and ``full`` profiles, in one place."""
    if check_profile(profile) == "default":
        return Sizes(64, 16, 1000, 8, 8, 200, 28, 16, 4, 200)
    return Sizes(128, 64, 3000, 16, 16, 500, 40, 64, 8, 500)


def check_parameters(a_values, eta_min, eta_max, path_a, path_x0, path_y0, path_etas):
    """Validate the notebook's knobs with errors that name the parameter; returns the cleaned
    ``(a_values, path_etas)`` lists."""
    a_values = check_grid("A_VALUES", a_values)
    check_positive("ETA_MIN", eta_min)
    check_positive("ETA_MAX", eta_max)
    if eta_max <= eta_min:
        raise ValueError(f"ETA_MAX={eta_max!r} is invalid: expected a number > ETA_MIN={eta_min!r}")
    check_positive("PATH_A", path_a)
    check_positive("PATH_X0", path_x0, allow_zero=True)
    if not math.isfinite(path_y0):
        raise ValueError(f"PATH_Y0={path_y0!r} is invalid: expected a finite number")
    return a_values, check_grid("PATH_ETAS", path_etas)


def _starts(seed: int, n: int):
    """The random starts of Sections 1 and 4, drawn from one generator in the notebook's order:
    x_0 (magnitude in [0.5, 2], random sign), y_0, then the circle model's start angles."""
    gen = torch.Generator().manual_seed(seed)
    x0 = (0.5 + 1.5 * torch.rand(n, generator=gen, dtype=torch.float64)) \
        * torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0).double()
    y0 = torch.randn(n, generator=gen, dtype=torch.float64)
    angles = 2 * math.pi * torch.rand(n, generator=gen, dtype=torch.float64)
    return x0, y0, angles


def show(fig, name: str, *, params: dict, caption: str) -> None:
    """The notebook's one figure call: save ``fig`` as ``figures/<name>`` (png, pdf and its
    manifest entry under claim P3) and show it with its caption."""
    figures.savefig(fig, name, notebook=NOTEBOOK, claim="P3", params=params, caption=caption)
    figures.show(fig)


def one_over_a_step(a, x0):
    """Theorem 1's certified constant step on the quadratic-logit bandit (derivation step 7):
    min(1/a, 1/(2a) + 1/(8 a^3 x_0^2))."""
    return np.minimum(1 / a, 1 / (2 * a) + 1 / (8 * a ** 3 * x0 ** 2))


# ---- Section 1: the phase diagram ---------------------------------------------------------------

def quadratic_logit_sweep(a_values, etas, num_seeds: int, num_steps: int, seed: int):
    """Every (step, start, curvature) run of the quadratic-logit bandit under w = g, with the
    measured bracket [last converging, first collapsing) per curvature and the two derived
    per-run facts: below 1/a, z_K >= z_0 + K eta; above it, from the falling region, z falls at
    every step it takes."""
    x0, y0, _ = _starts(seed, num_seeds)
    a = torch.tensor(a_values, dtype=torch.float64)
    grid = make_grid(etas, num_seeds, len(a_values))
    res = simulate_quadratic_logit(a[grid.instance], x0[grid.seed], y0[grid.seed], grid.eta, num_steps)
    z = grid.unflatten(res.log_odds[:, :, 0], axis=1)          # [K+1, E, S, I]
    step_taken = grid.unflatten(res.eta, axis=1) > 0            # frozen once J underflows
    improved = z[-1] > z[0]                                     # [E, S, I]
    brackets = [tuple(transition(etas, improved[:, :, i])) for i in range(len(a_values))]
    lo = np.array([b[0] for b in brackets], dtype=float)
    hi = np.array([b[1] for b in brackets], dtype=float)
    eta_e = torch.tensor(etas, dtype=torch.float64)[:, None, None]
    below = eta_e <= 1 / a[None, None, :]
    lin_ok = (z[-1] - z[0] >= num_steps * eta_e - 1e-9) | ~below
    falls0 = theory.quadratic_logit_falls(a[None, None, :], x0[None, :, None], eta_e) & ~below
    dz = z[1:] - z[:-1]
    monotone_ok = ((dz < 0) | ~step_taken | ~falls0).all(0)
    return SimpleNamespace(a_values=list(a_values), etas=list(etas), num_seeds=num_seeds,
                           num_steps=num_steps, z=z, pred=1 / np.array(a_values, dtype=float),
                           lo=lo, hi=hi, below=below, lin_ok=lin_ok, falls0=falls0,
                           monotone_ok=monotone_ok)


def _phase_counts(q):
    below = q.below.expand_as(q.lin_ok)
    return (int((q.lin_ok & below).sum()), int(below.sum()),
            int((q.monotone_ok & q.falls0).sum()), int(q.falls0.sum()))


def phase_table(q) -> str:
    """The per-curvature bracket table and the per-run derived facts (the checks part)."""
    lines = [f"{'a':>5}{'predicted 1/a':>15}{'last converging':>17}{'first collapsing':>18}"
             f"{'measured':>10}{'pred/meas':>11}{'band':>7}"]
    for ai, pred, lo, hi in zip(q.a_values, q.pred, q.lo, q.hi):
        meas = math.sqrt(lo * hi)
        lines.append(f"{ai:>5.2f}{pred:>15.3f}{lo:>17.3f}{hi:>18.3f}{meas:>10.3f}{pred / meas:>11.3f}"
                     f"{hi / lo:>7.3f}")
    lin, n_below, mono, n_falls = _phase_counts(q)
    lines.append(f"runs below 1/a with z_K >= z_0 + K eta: {lin}/{n_below}")
    lines.append(f"runs above 1/a starting in the falling region: {n_falls}, falling at every step: {mono}")
    J_above = torch.sigmoid(q.z[-1])[~q.below.expand_as(q.z[-1])]
    lines.append(f"final J above 1/a: max {float(J_above.max()):.1e}")
    return "\n".join(lines)


def phase_verdict(q) -> str:
    """**So.** of Section 1: does 1/a sit in every measured bracket, and how wide are they."""
    inside = bool(np.all((q.lo <= q.pred) & (q.pred < q.hi)))
    lin, n_below, mono, n_falls = _phase_counts(q)
    where = ("lies inside the measured bracket [last converging, first collapsing) for every curvature"
             if inside else "falls OUTSIDE the measured bracket for at least one curvature")
    return (f"**So. [measured] (identity check)** The predicted threshold 1/a {where} "
            f"(a in {q.a_values}, {q.num_seeds} starts each); the widest bracket is "
            f"{float((q.hi / q.lo).max()):.3f}x in η, one grid step is {q.etas[1] / q.etas[0]:.3f}x. "
            f"Below 1/a, {lin} of {n_below} runs gained at least Kη in log-odds; above it, {mono} of "
            f"{n_falls} runs that start in the falling region lost log-odds at every step.")


def plot_phase_diagram(q):
    """Final success against the step, median and 10-90% band over starts, one colour per a, with
    the predicted 1/a (dashed) and the measured bracket (shaded)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.3))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    J_final = torch.sigmoid(q.z[-1])                              # [E, S, I]
    for i, (ai, pred, lo, hi) in enumerate(zip(q.a_values, q.pred, q.lo, q.hi)):
        qs = torch.quantile(J_final[:, :, i], torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64), dim=1)
        ax.fill_between(q.etas, qs[0], qs[2], color=colors[i], alpha=0.2)
        ax.plot(q.etas, qs[1], color=colors[i], lw=2, label=f"a = {ai:g}: measured final $J$ (median, 10-90%)")
        ax.axvline(pred, color=colors[i], ls="--", lw=1.5)
        ax.axvspan(lo, hi, color=colors[i], alpha=0.35)
    ax.plot([], [], "k--", label=r"predicted threshold $\eta^*=1/a$")
    ax.set(xscale="log", xlabel=r"constant step size $\eta$",
           ylabel=f"success rate $J$ after {q.num_steps} steps", ylim=(-0.02, 1.02))
    ax.legend(fontsize=7, loc="center left")
    return fig


# ---- Section 2: the path, and Theorem 1's step on the same instance ------------------------------

def policy_path(a: float, x0: float, y0: float, etas, steps: int = 12):
    """Paths of theta_k below and above 1/a, Theorem 1's certified constant step at the start
    (library value and the corrected formula), and the negative control: from a start with
    x_0^2 < 1/(4a^2) the one-step value exceeds 1/a, and used as a constant step it collapses."""
    path = simulate_quadratic_logit(a, x0, y0, etas, steps, record_theta=True)
    small_x0 = 0.5 / (2 * a)
    small_onestep = float(theory.quadratic_logit_sharp_step(a, small_x0))
    small_corrected = float(one_over_a_step(a, small_x0))
    small = simulate_quadratic_logit(a, small_x0, y0, [small_onestep, small_corrected], 40)
    x0_grid = torch.logspace(-3, 3, 61, dtype=torch.float64)
    corrected_grid = torch.minimum(torch.full_like(x0_grid, 1 / a), 1 / (2 * a) + 1 / (8 * a ** 3 * x0_grid ** 2))
    return SimpleNamespace(a=a, x0=x0, etas=list(etas), steps=steps, theta=path.theta,
                           z=path.log_odds[:, :, 0], onestep=float(theory.quadratic_logit_sharp_step(a, x0)),
                           certified=float(one_over_a_step(a, x0)), small_x0=small_x0,
                           small_onestep=small_onestep, small_corrected=small_corrected,
                           small_z=small.log_odds[:, :, 0], corrected_grid=corrected_grid)


def fell_every_step(p):
    """``(label, agrees)`` per path step size: J fell at every step exactly when eta > 1/a."""
    out = []
    for j, eta in enumerate(p.etas):
        fell = bool((p.z[1:, j] < p.z[:-1, j]).all())
        label = f"eta = {eta:g} ({'above' if eta > 1 / p.a else 'below'} 1/a): J fell at every step"
        out.append((label, fell == (eta > 1 / p.a)))
    return out


def path_table(p) -> str:
    """The path's success at k = 0, 3, 12 and the Theorem 1 step values (the checks part)."""
    lines = []
    for j, eta in enumerate(p.etas):
        zz = p.z[:, j]
        lines.append(f"eta = {eta:.2f} ({'below' if eta <= 1 / p.a else 'above'} 1/a = {1 / p.a:.2f}): "
                     f"J_0 = {float(torch.sigmoid(zz[0])):.3f}, J_3 = {float(torch.sigmoid(zz[3])):.3f}, "
                     f"J_12 = {float(torch.sigmoid(zz[12])):.3g}, J fell at every step: "
                     f"{bool((zz[1:] < zz[:-1]).all())}")
    lines.append(f"Theorem 1 (step 7) certifies constant steps up to {p.certified:.3f} from x_0 = {p.x0}; "
                 f"theory.quadratic_logit_sharp_step gives {p.onestep:.3f}; collapse above {1 / p.a:.3f}")
    lines.append(f"from x_0 = {p.small_x0:.3f}: library one-step value {p.small_onestep:.3f} (> 1/a), "
                 f"corrected constant step {p.small_corrected:.3f}; as a constant step the library value "
                 f"ends at J_40 = {float(torch.sigmoid(p.small_z[-1, 0])):.2e}, the corrected one at "
                 f"J_40 = {float(torch.sigmoid(p.small_z[-1, 1])):.3f}")
    return "\n".join(lines)


def path_verdict(p) -> str:
    """**So.** of Section 2: what the two paths did, and Theorem 1's step against 1/a."""
    parts = []
    for j, eta in enumerate(p.etas):
        fell = bool((p.z[1:, j] < p.z[:-1, j]).all())
        side = "above" if eta > 1 / p.a else "below"
        what = "falling at every step" if fell else "not falling at every step"
        parts.append(f"at η = {eta:g} ({side} 1/a) J went from {float(torch.sigmoid(p.z[0, j])):.3f} "
                     f"to {float(torch.sigmoid(p.z[-1, j])):.3g} in {p.steps} steps, {what}")
    return (f"**So. [measured]** With a = {p.a:g}: " + "; ".join(parts) + ". Theorem 1's hypothesis "
            f"certifies constant steps up to {p.certified:.3f} from x_0 = {p.x0:g}, "
            f"{p.certified * p.a:.3f}x the collapse threshold 1/a: the sufficient step and the sharp "
            "threshold are within a factor 2 here.")


def plot_policy_path(p):
    """Left: the two paths over the success landscape J(x, y); right: J_k, with the proved lower
    bound z_0 + k eta below the threshold."""
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    X, Y = np.meshgrid(np.linspace(-25, 25, 300), np.linspace(-5, 20, 200))
    cs = ax[0].contourf(X, Y, 1 / (1 + np.exp(-(Y - p.a * X ** 2))), levels=20, cmap="viridis")
    fig.colorbar(cs, ax=ax[0], label="success rate $J(x, y)$")
    ks = np.arange(p.steps + 1)
    for j, eta in enumerate(p.etas):
        th = p.theta[:, j].numpy()
        ax[0].plot(th[:, 0], th[:, 1], "o-", color=["white", "tab:red"][j], ms=3, label=f"$\\eta$ = {eta}")
        ax[1].plot(ks, torch.sigmoid(p.z[:, j]), "o-", color=["tab:blue", "tab:red"][j],
                   label=f"$\\eta$ = {eta} (measured)")
    ax[1].plot(ks, torch.sigmoid(p.z[0, 0] + torch.from_numpy(ks) * p.etas[0]).numpy(), "k--", lw=1,
               label="below: proved lower bound $z_0 + k\\eta$")
    ax[0].set(xlim=(-25, 25), ylim=(-5, 20), xlabel="$x$", ylabel="$y$", title="path of $\\theta_k$ along $w = g$")
    ax[0].legend(fontsize=7)
    ax[1].set(xlabel="iteration $k$", ylabel="success rate $J_k$")
    ax[1].legend(fontsize=7)
    return fig


# ---- Section 3: an independent prediction on an MLP policy ---------------------------------------

MLP_RULES = ("collapse (z_K >= z_0)", "monotone (no step fell)", "one step (z_1 >= z_0)")


def mlp_prediction(num_instances: int, num_starts: int, etas, num_steps: int, seed: int):
    """The start-only prediction eta_1 = 2|g|^2/(-kappa) against the first-failure threshold of
    full runs, for three pass rules, with a 90% bootstrap CI over instances of the geometric-mean
    ratio; plus an identity check of the batched code against ``MLPPolicy``."""
    mlp = random_mlp_instances(num_instances, num_starts, seed=seed)
    sweep = sweep_mlp_threshold(mlp, etas, num_steps)
    z = sweep.z                                                   # [K+1, E, I, S]
    clusters = torch.arange(num_instances)[:, None].expand(-1, num_starts)
    passes = dict(zip(MLP_RULES, (z[-1] >= z[0], (z[1:] >= z[:-1] - 1e-10 * (1 + z[:-1].abs())).all(0),
                                  z[1] >= z[0])))
    rows = []
    for rule, passed in passes.items():
        br = first_failure(passed.permute(1, 2, 0), etas)
        ratio = sweep.eta1 / br.estimate
        gm, ci_lo, ci_hi = bootstrap_geomean(ratio, clusters=clusters, seed=seed)
        stab = bootstrap_geomean(sweep.eta_stability / br.estimate, clusters=clusters, seed=seed)
        rows.append(dict(rule=rule, used=int(torch.isfinite(ratio).sum()), censored=int(br.censored.sum()),
                         ratio=gm, lo=ci_lo, hi=ci_hi, reproduced=bool(CRITERION[0] <= ci_lo and ci_hi <= CRITERION[1]),
                         estimate=br.estimate, stability=stab))
    tail = torch.sigmoid(z[-max(1, num_steps // 4):]).amax(0)  # max J over the last quarter
    collapsed = (tail < COLLAPSE_LEVEL) & (z[-1] < z[0])
    pol0 = MLPPolicy(mlp.phi[0], mlp.rewards[0], hidden=mlp.hidden)
    th00 = mlp.theta0[0, 0]
    g_ref = exact_gap(pol0, th00).gap[0]
    kappa_ref = float(log_odds_curvature(pol0, th00, g_ref)[0])
    _, g00 = log_odds_and_gap(mlp.phi[:1], mlp.rewards[:1], th00[None], mlp.hidden)
    kappa00 = float(curvature_along(mlp.phi[:1], mlp.rewards[:1], th00[None], g00, mlp.hidden)[0])
    return SimpleNamespace(rows=rows, sweep=sweep, etas=list(etas), num_steps=num_steps,
                           n_runs=num_instances * num_starts, num_instances=num_instances,
                           num_starts=num_starts, collapsed=collapsed,
                           gap_error=float((g00[0] - g_ref).norm() / g_ref.norm()),
                           kappa=kappa00, kappa_ref=kappa_ref)


def mlp_table(m) -> str:
    """The per-rule ratio table and the identity check (the checks part)."""
    lines = [f"{m.n_runs} runs ({m.num_instances} instances x {m.num_starts} starts) x {len(m.etas)} steps in "
             f"[{m.etas[0]:g}, {m.etas[-1]:g}], K = {m.num_steps}; kappa >= 0 (no prediction) at "
             f"{int((m.sweep.kappa >= 0).sum())} starts",
             f"{'pass rule':<26}{'runs used':>10}{'censored':>10}{'pred/meas':>11}{'90% CI':>18}  reproduced"]
    for row in m.rows:
        ci = f"[{row['lo']:.2f}, {row['hi']:.2f}]"
        lines.append(f"{row['rule']:<26}{row['used']:>10}{row['censored']:>10}{row['ratio']:>11.2f}{ci:>18}  "
                     f"{row['reproduced']}")
    lines.append("second predictor, 2/lambda_max(-Hessian of z) at the start (not pre-registered), "
                 "pred/meas [90% CI]: " + "; ".join(
                     f"{row['rule'].split(' (')[0]} {row['stability'][0]:.2f} [{row['stability'][1]:.2f}, "
                     f"{row['stability'][2]:.2f}]" for row in m.rows))
    below = bool((m.sweep.eta_stability <= m.sweep.eta1 * (1 + 1e-9)).all())
    lines.append(f"2/lambda_max <= eta_1 at every start (derived: Rayleigh quotient along g): {below}")
    lines.append(f"runs that collapsed toward 0 (J < 0.05 over the last quarter, below start): "
                 f"{int(m.collapsed.sum())} of {m.collapsed.numel()}")
    lines.append(f"batched vs MLPPolicy: |g| rel. error {m.gap_error:.1e}, kappa {m.kappa:.6g} vs {m.kappa_ref:.6g}")
    return "\n".join(lines)


def mlp_verdict(m) -> str:
    """**So.** of Section 3: the ratio and CI per pass rule, and the verdict against the fixed
    criterion (reproduced when the CI lies inside [1/2, 2])."""
    parts = [f"{row['ratio']:.2f}x the measured {row['rule'].split(' (')[0]} threshold (90% CI "
             f"[{row['lo']:.2f}, {row['hi']:.2f}]): {'reproduced' if row['reproduced'] else 'not reproduced'}"
             for row in m.rows]
    n_ok = sum(row["reproduced"] for row in m.rows)
    overall = ("the start's curvature does not predict the threshold within a factor 2 under any rule"
               if n_ok == 0 else f"the prediction holds within a factor 2 under {n_ok} of {len(m.rows)} rules")
    return (f"**So. [measured]** Over {m.n_runs} MLP runs the start-only prediction is " + "; ".join(parts)
            + f". So {overall}. Only {int(m.collapsed.sum())} of {m.collapsed.numel()} runs collapsed toward 0: "
            "the tanh network saturates, and Theorem 2's collapse is rare in this model.")


def plot_mlp(m):
    """Predicted against measured threshold per run, one panel per pass rule, with the factor-2
    band of the criterion."""
    fig, axes = plt.subplots(1, len(m.rows), figsize=(12, 3.8), sharey=True)
    for ax, row in zip(axes, m.rows):
        est = row["estimate"].flatten()
        ok = torch.isfinite(est) & torch.isfinite(m.sweep.eta1.flatten())
        ax.loglog(est[ok], m.sweep.eta1.flatten()[ok], "o", ms=4, alpha=0.7, label="measured bracket estimate")
        span = np.array([m.etas[0], m.etas[-1]])
        ax.plot(span, span, "k--", lw=1, label="prediction = measurement")
        ax.fill_between(span, span / 2, span * 2, color="gray", alpha=0.2, label="factor 2 (criterion)")
        ax.set(xlabel=r"measured threshold $\eta$ (first failure)",
               title=f"{row['rule']}\nratio {row['ratio']:.2f}, 90% CI [{row['lo']:.2f}, {row['hi']:.2f}]")
    axes[0].set_ylabel(r"predicted $\eta_1 = 2\|g\|^2/(-\kappa)$ at $\theta_0$")
    axes[0].legend(fontsize=7)
    return fig


# ---- Section 4: the circle model -----------------------------------------------------------------

def circle_model(etas, num_seeds: int, num_steps: int, seed: int):
    """8 responses on the unit circle, one correct, w = g from random starts at radius 1.5: which
    runs had a step that lowered J, against the proved no-loss step 8/D_-^2."""
    phi_c, r_c = circle_instance(8, correct=0)
    incorrect = phi_c[0][r_c[0] == 0]
    d_minus = float(torch.cdist(incorrect, incorrect).max())
    _, _, angles = _starts(seed, num_seeds)
    starts = 1.5 * torch.stack([angles.cos(), angles.sin()], -1)
    grid = make_grid(etas, num_seeds, 1)
    circ = simulate(phi_c, r_c, starts[grid.seed], grid.eta, num_steps)
    cz = grid.unflatten(circ.log_odds[:, :, 0], axis=1)[..., 0]   # [K+1, E, S]
    fell = (cz[1:] < cz[:-1] - 1e-10 * (1 + cz[:-1].abs())).any(0)  # any step that lowered J
    eta_t = torch.tensor(etas)
    noloss = eta_t <= 8 / d_minus ** 2
    first_fall = float(eta_t[fell.any(1)].min()) if bool(fell.any()) else math.nan
    return SimpleNamespace(etas=list(etas), num_steps=num_steps, d_minus=d_minus, eta_noloss=8 / d_minus ** 2,
                           fell=fell, noloss=noloss, first_fall=first_fall, J=torch.sigmoid(cz[-1]))


def circle_table(c) -> str:
    """The circle model's counts (the checks part)."""
    return "\n".join([
        f"circle model: D_- = {c.d_minus:.3f}, proved no-loss step 8/D_-^2 = {c.eta_noloss:.3f}",
        f"runs at eta <= 8/D_-^2 with a step that lowered J: {int(c.fell[c.noloss].sum())} of {c.fell[c.noloss].numel()}",
        f"runs at eta >  8/D_-^2 with a step that lowered J: {int(c.fell[~c.noloss].sum())} of "
        f"{c.fell[~c.noloss].numel()}; smallest such eta: {c.first_fall:.3g}",
        f"min final J over all {c.J.numel()} runs = {float(c.J.min()):.3f}"])


def circle_verdict(c) -> str:
    """**So.** of Section 4: the proved bound measured, and whether anything collapsed."""
    below = int(c.fell[c.noloss].sum())
    above = int(c.fell[~c.noloss].sum())
    held = "as proved" if below == 0 else "CONTRADICTING the proof"
    tail = (f"Above it {above} of {c.fell[~c.noloss].numel()} runs had a falling step (the first at η = "
            f"{c.first_fall:.3g}), yet the smallest final J is {float(c.J.min()):.3f}: transient overshoots, "
            "not a collapse." if above else "Above it no run had a falling step either.")
    return (f"**So. [measured]** With D_- = {c.d_minus:.3f} the proved no-loss step is 8/D_-^2 = "
            f"{c.eta_noloss:.3f}: {below} of {c.fell[c.noloss].numel()} runs at or below it lowered J at any "
            f"step, {held}. " + tail)


def plot_circle(c):
    """Final J (median, min-max over starts) and the fraction of runs with a falling step,
    against eta, with the proved 8/D_-^2."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    q = torch.quantile(c.J, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), dim=1)
    ax.fill_between(c.etas, q[0], q[2], alpha=0.3, label="measured final $J$ (min-max over starts)")
    ax.plot(c.etas, q[1], lw=2, label="measured final $J$ (median)")
    ax.plot(c.etas, c.fell.double().mean(1), "s", ms=3, label="fraction of runs with a step that lowered $J$")
    ax.axvline(c.eta_noloss, color="k", ls="--", label=r"proved: no step lowers $J$ below $8/D_-^2$")
    ax.set(xscale="log", xlabel=r"constant step size $\eta$", ylabel=f"$J$ after {c.num_steps} steps",
           ylim=(-0.02, 1.05))
    ax.legend(fontsize=7)
    return fig


# ---- Section 5: the open case --------------------------------------------------------------------

def _groups(P, several, hull):
    if P == 1:
        return [("1 prompt, 1 correct, phi* outside hull", ~several & ~hull),
                ("1 prompt, 1 correct, phi* inside hull", ~several & hull),
                ("1 prompt, 2-3 correct", several)]
    return [(f"{P} prompts, 1 correct each", ~several), (f"{P} prompts, some with 2-3 correct", several)]


def _group_row(label, P, inst_mask, og, coll, fell, frac_fall):
    mask = inst_mask[og.instance]
    hit = coll & mask
    return dict(kind=label, concave=P == 1 and label.startswith("1 prompt, 1 correct"),
                instances=int(inst_mask.sum()), runs=int(mask.sum()), collapsed=int(hit.sum()),
                coll_instances=int(og.unflatten(hit.double()).sum((0, 1)).gt(0).sum()),
                fell=int((fell & mask).sum()),
                min_eta=float(og.eta[hit].min()) if bool(hit.any()) else math.nan,
                frac_fall=float(frac_fall[hit].mean()) if bool(hit.any()) else math.nan)


def _single_correct_checks(phi, r, zo, og, several, hull, coll):
    """The theorem of Section 4 per random one-prompt instance with one correct response."""
    inc = [phi[i, 0][r[i, 0] == 0] for i in range(phi.shape[0])]
    bound = torch.stack([8 / torch.cdist(x, x).max() ** 2 for x in inc])[og.instance]
    fall_z = (zo[1:, :, 0] < zo[:-1, :, 0] - 1e-10 * (1 + zo[:-1, :, 0].abs())).any(0)
    single = ~several[og.instance]
    return dict(noloss_viol=int((fall_z & single & (og.eta <= bound)).sum()),
                noloss_runs=int((single & (og.eta <= bound)).sum()),
                coll_ratio=float((og.eta / bound)[coll & single].min()) if bool((coll & single).any()) else math.nan,
                max_J_inside=float(torch.sigmoid(zo[:, :, 0])[:, hull[og.instance]].max())
                if bool(hull.any()) else math.nan)


def open_case_search(configs, num_instances: int, num_starts: int, num_steps: int, etas, seed: int):
    """Random log-linear instances (6 responses, Gaussian features in R^2), w = g (mean over
    prompts), constant eta: which runs collapse (mean J below 0.05 and below its start over the
    last quarter), grouped by whether the log-odds is concave (one prompt, one correct)."""
    rows, runs, single = [], {}, None
    for P, max_c in configs:
        phi, r = random_instances(num_instances, P, 6, 2, max_correct=max_c, seed=seed)
        th = random_starts(num_starts, 2, scale=1.5, seed=seed + 1)
        og = make_grid(etas, num_starts, num_instances)
        res = simulate(phi[og.instance], r[og.instance], th[og.seed], og.eta, num_steps)
        Jo = torch.sigmoid(res.log_odds).mean(-1)                   # [K+1, B] mean success
        several = (r.sum(-1) >= 2).any(-1)                          # [I]: a prompt with >= 2 correct
        hull = torch.tensor([P == 1 and not bool(several[i]) and in_convex_hull(
            phi[i, 0][r[i, 0] == 1][0], phi[i, 0][r[i, 0] == 0]) for i in range(num_instances)])
        tail = Jo[-max(1, num_steps // 4):].amax(0)                 # max J over the last quarter
        coll = (tail < COLLAPSE_LEVEL) & (tail < Jo[0])
        fell = (Jo[1:] < Jo[:-1] - 1e-12).any(0)
        frac_fall = (Jo[1:] < Jo[:-1]).double().mean(0)
        rows += [_group_row(label, P, m, og, coll, fell, frac_fall)
                 for label, m in _groups(P, several, hull) if bool(m.any())]
        if P == 1:
            single = _single_correct_checks(phi, r, res.log_odds, og, several, hull, coll)
        nonconcave = several[og.instance] if P == 1 else torch.ones_like(coll)
        runs[P, max_c] = (Jo, coll, nonconcave, tail, frac_fall, og)
    return SimpleNamespace(rows=rows, runs=runs, single=single, num_steps=num_steps)


def most_collapse_like(o):
    """The run the figure shows: a collapsing run outside the concave case if there is one, else
    any collapsing run, else the run whose success ended lowest; and a smaller step from the same
    instance and start that did not collapse (``b2``, None when there is none)."""
    candidates = [(not bool(coll[b] & noncon[b]), not bool(coll[b]), float(tail[b]), key, b)
                  for key, (Jo, coll, noncon, tail, _, _) in o.runs.items() for b in range(Jo.shape[1])]
    _, _, _, key, b = min(candidates)
    Jo, coll, noncon, tail, frac_fall, og = o.runs[key]
    kind = ("collapses, outside the concave case" if bool(coll[b] & noncon[b]) else
            "collapses, concave case (phi* inside the hull)" if bool(coll[b]) else
            "lowest final J, no collapse found")
    smaller = (og.instance == og.instance[b]) & (og.seed == og.seed[b]) & (og.eta < og.eta[b]) & ~coll
    b2 = int(torch.where(smaller, og.eta, torch.zeros_like(og.eta)).argmax()) if bool(smaller.any()) else None
    return SimpleNamespace(key=key, b=b, b2=b2, kind=kind, J=Jo, eta=og.eta, tail=float(tail[b]),
                           frac_fall=float(frac_fall[b]))


def shown_run(s) -> str:
    """One line on the run the figure shows (the checks part)."""
    return (f"shown ({s.kind}): {s.key[0]} prompt(s), J_0 = {float(s.J[0, s.b]):.3f}, "
            f"max J over the last quarter = {s.tail:.2e}, J fell at {100 * s.frac_fall:.0f}% of the steps")


def plot_open_trajectory(s, num_steps: int):
    """Mean success of the shown run, and of the smaller step from the same start."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(s.J[:, s.b], color="tab:red", label=f"$\\eta$ = {float(s.eta[s.b]):.3g}: {s.kind} (measured)")
    if s.b2 is not None:
        ax.plot(s.J[:, s.b2], color="tab:blue", label=f"$\\eta$ = {float(s.eta[s.b2]):.3g}: same start (measured)")
    ax.axhline(COLLAPSE_LEVEL, color="k", ls=":", lw=1, label="collapse level 0.05 (rule)")
    correct = "1" if s.key[1] == 1 else f"1-{s.key[1]}"
    ax.set(xscale="symlog", xlim=(0, num_steps), xlabel="iteration $k$", ylabel=r"mean success rate $\bar J_k$",
           ylim=(-0.02, 1.02), title=f"log-linear, {s.key[0]} prompt(s), {correct} correct of 6 responses")
    ax.legend(fontsize=7)
    return fig


def open_table(o) -> str:
    """The per-group collapse table and the per-instance Section 4 checks (the checks part)."""
    lines = [f"{'instances':<40}{'inst.':>6}{'runs':>7}{'collapsed':>11}{'in inst.':>9}{'min eta':>9}"
             f"{'% steps J fell':>16}{'runs w/ a fall':>16}"]
    for row in o.rows:
        lines.append(f"{row['kind']:<40}{row['instances']:>6}{row['runs']:>7}{row['collapsed']:>11}"
                     f"{row['coll_instances']:>9}{row['min_eta']:>9.3g}{100 * row['frac_fall']:>16.0f}{row['fell']:>16}")
    s = o.single
    lines.append(f"one prompt, one correct, eta <= 8/D_-^2: {s['noloss_viol']} of {s['noloss_runs']} runs lowered J; "
                 f"smallest eta / (8/D_-^2) among its collapsing runs: {s['coll_ratio']:.3g}; "
                 f"largest J ever seen with phi* inside the hull: {s['max_J_inside']:.3f}")
    return "\n".join(lines)


def concave_collapse_origin(o) -> str:
    """Where the concave-case collapses come from: how many instances, and how many runs started
    above the collapse level (a run that starts below it only has to stay there)."""
    for (P, _), (Jo, coll, noncon, _, _, og) in getattr(o, "runs", {}).items():
        if P == 1:
            m = coll & ~noncon
            above = m & (Jo[0] >= COLLAPSE_LEVEL)
            n_inst = len(set(og.instance[m].tolist()))
            return (f"they come from {n_inst} instance{'s' if n_inst != 1 else ''}, and {int(above.sum())} of "
                    f"them started above the collapse level (J_0 up to {float(Jo[0][m].max()):.2f})")
    return "no one-prompt configuration was searched"


def open_verdict(o) -> str:
    """**So.** of Section 5, short: collapses outside the concave case (the open question), then
    inside it (where they are, relative to the proved no-loss step)."""
    outside = [row for row in o.rows if not row["concave"]]
    n_out, runs_out = sum(r["collapsed"] for r in outside), sum(r["runs"] for r in outside)
    n_in = sum(r["collapsed"] for r in o.rows if r["concave"])
    first = (f"{n_out} of {runs_out} runs outside the concave case (several correct responses or prompts) "
             + ("collapsed: a log-linear policy can collapse there under constant-step w = g"
                if n_out else "collapsed: no collapse found there, so the open case stays open in this search"))
    second = (f"{n_in} one-prompt single-correct runs collapsed, all at steps at least "
              f"{o.single['coll_ratio']:.3g}x the proved no-loss step (none below it lowered J); "
              + concave_collapse_origin(o) if n_in else "no one-prompt single-correct run collapsed")
    return f"**So. [measured]** {first}; {second}. Details in the table below."
