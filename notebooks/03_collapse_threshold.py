# %% [markdown]
# # 03 · Collapse above the step-size threshold (Theorem 2)
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlvr-companion/rlvr-gradient-gap/blob/main/notebooks/03_collapse_threshold.ipynb)
#
# The paper's second theorem is the other half of the "sharp threshold": even an update perfectly
# aligned with the Gradient Gap can, at a constant step above a threshold, make the success rate
# fall at every iteration, toward zero — while smaller steps from the same start converge to 1.
# For a practitioner this is the warning: a learning rate a little too large does not merely slow
# RLVR down, it can destroy it. We construct an instance, prove where its threshold is, draw the
# phase diagram of many runs with the predicted threshold on the same axes, and then look at a less
# clean model (responses on a circle) to see whether a log-linear policy collapses too.
# **Run time (default profile, 2-core laptop): about 25 s.**
# Labels: **[paper]** the paper's claim, **[derived]** proved here, **[measured]** our experiment.

# %%
# Setup. On Colab only, install the companion first.
import subprocess
import sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "git+https://github.com/rlvr-companion/rlvr-gradient-gap"], check=True)
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from rlvr_core import theory
from rlvr_core.checks import expect
from rlvr_core.figures import savefig, set_style, show
from rlvr_core.instances import circle_instance, simulate_quadratic_logit
from rlvr_core.nbutils import versions
from rlvr_core.sim import make_grid, simulate, transition
from rlvr_core.validation import check_grid, check_positive, check_profile, check_seed

set_style()

# %% tags=["parameters"]
PROFILE = "default"        # "default" (fast) or "full"
SEED = 0
A_VALUES = [0.5, 1.0, 2.0, 4.0]  # curvature a of the quadratic-logit instances
ETA_MIN, ETA_MAX = 0.01, 20.0    # the log grid of constant step sizes
PATH_A, PATH_X0, PATH_Y0 = 1.0, 1.5, 0.0  # the start of the path picture
PATH_ETAS = [0.8, 1.25]          # one step below and one above 1/PATH_A

# %%
# Validate parameters (a bad papermill -p value fails here with a clear message) and derive sizes.
check_profile(PROFILE)
check_seed("SEED", SEED)
A_VALUES = check_grid("A_VALUES", A_VALUES)
check_positive("ETA_MIN", ETA_MIN)
check_positive("ETA_MAX", ETA_MAX)
if ETA_MAX <= ETA_MIN:
    raise ValueError(f"ETA_MAX={ETA_MAX!r} is invalid: expected a number > ETA_MIN={ETA_MIN!r}")
check_positive("PATH_A", PATH_A)
check_positive("PATH_X0", PATH_X0, allow_zero=True)
if not math.isfinite(PATH_Y0):
    raise ValueError(f"PATH_Y0={PATH_Y0!r} is invalid: expected a finite number")
PATH_ETAS = check_grid("PATH_ETAS", PATH_ETAS)
NUM_ETAS = 64 if PROFILE == "default" else 128
NUM_SEEDS = 16 if PROFILE == "default" else 64
NUM_STEPS = 1000 if PROFILE == "default" else 3000
ETAS = np.geomspace(ETA_MIN, ETA_MAX, NUM_ETAS).tolist()

# %% [markdown]
# ## 1. The claim and a provable instance
#
# **[paper] Theorem 2 (in our words).** There are instances where the update $w_k=g(\theta_k)$, taken
# with a constant step above a threshold of the same order as Theorem 1's, makes $J$ fall at every
# iteration, toward 0. The paper's instance and constant are not known here; we construct
# our own.
#
# **[derived] The quadratic-logit bandit.** Two responses, one correct, $\theta=(x,y)$, and log-odds
# of success $z=\operatorname{logit}J=y-a x^2$ ($a>0$): the correct response's logit has a quadratic feature.
# A log-linear policy cannot do this (notebook 02: a single correct response on a circle keeps
# improving); curvature of the logit in $\theta$ is what a neural policy adds.
#
# 1. $g=\nabla z=(-2ax,\,1)$ (the Gradient Gap is the gradient of the log-odds).
# 2. With $w=g$ and constant $\eta$: $x_{k+1}=(1-2a\eta)\,x_k$, $y_{k+1}=y_k+\eta$.
# 3. Substituting, $z_{k+1}-z_k=\eta+a x_k^2\big(1-(1-2a\eta)^2\big)=\eta+4a^2\eta\,x_k^2\,(1-a\eta)$.
# 4. **Below** ($\eta\le1/a$): the second term is $\ge0$, so $z_k\ge z_0+k\eta\to\infty$ and $J_k\to1$.
# 5. **Above** ($\eta>1/a$): $|1-2a\eta|>1$, so $|x_k|=|1-2a\eta|^k|x_0|$ grows geometrically, and
#    $z_{k+1}<z_k$ as soon as $4a^2(a\eta-1)x_k^2>1$. Since $|x_k|$ only grows, once this holds it
#    holds forever, and $z_{k+1}-z_k\le\eta-4a^2\eta(a\eta-1)x_0^2|1-2a\eta|^{2k}\to-\infty$:
#    **$J$ falls at every iteration, toward 0**. From any $x_0\ne0$ this happens after finitely many
#    steps; from the first step when $4a^2(a\eta-1)x_0^2>1$.
# 6. So the threshold is exactly $\eta^*=1/a$ for every start with $x_0\neq 0$.
# 7. **Theorem 1 on the same instance.** Along $g$ the log-odds is a quadratic in the step with
#    curvature $-8a^3x^2$, so the gain is $\ge\tfrac\eta2\|g\|^2$ iff
#    $\eta\le\|g\|^2/(8a^3x^2)=\tfrac1{2a}+\tfrac1{8a^3x^2}$. Below $1/a$, $|x_k|$ shrinks, so a constant
#    step $\eta\le\tfrac1{2a}+\tfrac1{8a^3x_0^2}$ satisfies Theorem 1's hypothesis at every step: the
#    step Theorem 1 certifies is within a factor 2 of the collapse threshold — the two theorems
#    together pin the threshold to the interval $[\tfrac1{2a},\tfrac1a]$ at worst.

# %%
gen = torch.Generator().manual_seed(SEED)
x0 = (0.5 + 1.5 * torch.rand(NUM_SEEDS, generator=gen, dtype=torch.float64)) \
    * torch.where(torch.rand(NUM_SEEDS, generator=gen) < 0.5, -1.0, 1.0).double()
y0 = torch.randn(NUM_SEEDS, generator=gen, dtype=torch.float64)
a = torch.tensor(A_VALUES, dtype=torch.float64)
grid = make_grid(ETAS, NUM_SEEDS, len(A_VALUES))
res = simulate_quadratic_logit(a[grid.instance], x0[grid.seed], y0[grid.seed], grid.eta, NUM_STEPS)
z = grid.unflatten(res.log_odds[:, :, 0], axis=1)          # [K+1, E, S, I]
step_taken = grid.unflatten(res.eta, axis=1) > 0            # frozen once J underflows
improved = z[-1] > z[0]                                     # [E, S, I]
rows = []
for i, ai in enumerate(A_VALUES):
    lo, hi = transition(ETAS, improved[:, :, i])
    rows.append((ai, 1 / ai, lo, hi, math.sqrt(lo * hi)))
# Theory checks on every run: below 1/a, z_K >= z_0 + K eta; above with the start condition,
# z falls at every step it takes.
eta_e = torch.tensor(ETAS, dtype=torch.float64)[:, None, None]
below = eta_e <= 1 / a[None, None, :]
lin_ok = (z[-1] - z[0] >= NUM_STEPS * eta_e - 1e-9) | ~below
falls0 = theory.quadratic_logit_falls(a[None, None, :], x0[None, :, None], eta_e) & ~below
dz = z[1:] - z[:-1]
monotone_ok = ((dz < 0) | ~step_taken | ~falls0).all(0)

# %%
print(f"{'a':>5}{'predicted 1/a':>15}{'last converging':>17}{'first collapsing':>18}"
      f"{'measured':>10}{'pred/meas':>11}{'band':>7}")
for ai, pred, lo, hi, meas in rows:
    print(f"{ai:>5.2f}{pred:>15.3f}{lo:>17.3f}{hi:>18.3f}{meas:>10.3f}{pred / meas:>11.3f}"
          f"{hi / lo:>7.3f}")
print(f"runs below 1/a with z_K >= z_0 + K eta: {int(lin_ok.sum())}/{lin_ok.numel()}")
print(f"runs above 1/a starting in the falling region: {int(falls0.sum())}, "
      f"falling at every step: {int((monotone_ok & falls0).sum())}")
print(f"final J above 1/a: max {float(torch.sigmoid(z[-1])[~below.expand_as(z[-1])].max()):.1e}")

# %%
# NBVAL_CHECK_OUTPUT
a_, pred_, lo_, hi_, meas_ = map(np.array, zip(*rows))
expect("P3 1/a lies in the measured bracket [last converging, first collapsing), every a "
       "(identity check)", bool(np.all((lo_ <= pred_) & (pred_ < hi_))),
       why="1/a is the exact stability boundary of the iterated recurrence (derived)")
expect("P3 width of the transition band (first collapsing / last converging), every a",
       hi_ / lo_, at_most=2.0, why="the prediction's criterion: a sharp threshold within 2x in eta")
expect("runs below 1/a that gained at least K eta in log-odds", bool(lin_ok.all()),
       why="derived: z_{k+1} - z_k >= eta whenever eta <= 1/a")
expect("runs above 1/a in the falling region that fell at every step", bool(monotone_ok.all()),
       why="derived: the start condition 4a^2(a eta - 1)x_0^2 > 1 persists")

# %% [markdown]
# **[measured]** For every curvature $a$ the last step that still improves and the first that
# collapses bracket $1/a$, one grid step apart (a band of about $1.13\times$ in $\eta$), in every one of the
# 16 starts; the ratio predicted/measured is within the grid resolution. Every run below $1/a$ gained
# at least $K\eta$ in log-odds, and every run above $1/a$ that starts in the falling region lost
# log-odds at every step.

# %%
fig, ax = plt.subplots(figsize=(7.5, 4.3))
colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
J_final = torch.sigmoid(z[-1])                              # [E, S, I]
for i, (ai, pred, lo, hi, meas) in enumerate(rows):
    q = torch.quantile(J_final[:, :, i], torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64), dim=1)
    ax.fill_between(ETAS, q[0], q[2], color=colors[i], alpha=0.2)
    ax.plot(ETAS, q[1], color=colors[i], lw=2, label=f"a = {ai:g}: measured final $J$ (median, 10-90%)")
    ax.axvline(pred, color=colors[i], ls="--", lw=1.5)
    ax.axvspan(lo, hi, color=colors[i], alpha=0.35)
ax.plot([], [], "k--", label=r"predicted threshold $\eta^*=1/a$")
ax.set(xscale="log", xlabel=r"constant step size $\eta$", ylabel=f"success rate $J$ after {NUM_STEPS} steps",
       ylim=(-0.02, 1.02))
ax.legend(fontsize=7, loc="center left")
savefig(fig, "collapse_phase_diagram_quadratic_logit", notebook="03_collapse_threshold", claim="P3",
        params=dict(SEED=SEED, A_VALUES=A_VALUES, ETA_MIN=ETA_MIN, ETA_MAX=ETA_MAX, NUM_ETAS=NUM_ETAS,
                    NUM_SEEDS=NUM_SEEDS, NUM_STEPS=NUM_STEPS),
        caption="Final success against the step size: converged below 1/a, collapsed above, for every start.")
show(fig)

# %% [markdown]
# *Notice:* each curve drops from 1 to 0 inside the narrow shaded band, and the predicted dashed
# line sits inside it. At the smallest steps some runs have not yet reached 1 after $K$ steps (their
# log-odds still grows by $\eta$ per step, as proved).
#
# ## 2. The policy's path below and above the threshold

# %%
path = simulate_quadratic_logit(PATH_A, PATH_X0, PATH_Y0, PATH_ETAS, 12, record_theta=True)
path_z = path.log_odds[:, :, 0]
bound_T1 = float(theory.quadratic_logit_sharp_step(PATH_A, PATH_X0))

# %%
for j, eta in enumerate(PATH_ETAS):
    zz = path_z[:, j]
    print(f"eta = {eta:.2f} ({'below' if eta <= 1 / PATH_A else 'above'} 1/a = {1 / PATH_A:.2f}): "
          f"J_0 = {float(torch.sigmoid(zz[0])):.3f}, J_3 = {float(torch.sigmoid(zz[3])):.3f}, "
          f"J_12 = {float(torch.sigmoid(zz[12])):.3g}, J fell at every step: {bool((zz[1:] < zz[:-1]).all())}")
print(f"Theorem 1 certifies constant steps up to {bound_T1:.3f} from this start; collapse above {1 / PATH_A:.3f}")

# %%
# NBVAL_CHECK_OUTPUT
expect("Theorem 1's certified constant step / the collapse threshold 1/a", bound_T1 * PATH_A,
       at_most=1.0, why="a sufficient step cannot exceed the exact threshold (derived)")
for j, eta in enumerate(PATH_ETAS):
    fell_every_step = bool((path_z[1:, j] < path_z[:-1, j]).all())
    expect(f"eta = {eta:g} ({'above' if eta > 1 / PATH_A else 'below'} 1/a): J fell at every step",
           fell_every_step == (eta > 1 / PATH_A), why="derived: collapse exactly above 1/a")

# %%
fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
xs = np.linspace(-25, 25, 300)
ys = np.linspace(-5, 20, 200)
X, Y = np.meshgrid(xs, ys)
cs = ax[0].contourf(X, Y, 1 / (1 + np.exp(-(Y - PATH_A * X ** 2))), levels=20, cmap="viridis")
fig.colorbar(cs, ax=ax[0], label="success rate $J(x, y)$")
for j, eta in enumerate(PATH_ETAS):
    th = path.theta[:, j].numpy()
    ax[0].plot(th[:, 0], th[:, 1], "o-", color=["white", "tab:red"][j], ms=3, label=f"$\\eta$ = {eta}")
    ax[1].plot(np.arange(13), torch.sigmoid(path_z[:, j]), "o-", color=["tab:blue", "tab:red"][j],
               label=f"$\\eta$ = {eta} (measured)")
ks = np.arange(13)
ax[1].plot(ks, torch.sigmoid(path_z[0, 0] + torch.from_numpy(ks) * PATH_ETAS[0]).numpy(), "k--", lw=1,
           label="below: proved lower bound $z_0 + k\\eta$")
ax[0].set(xlim=(-25, 25), ylim=(-5, 20), xlabel="$x$", ylabel="$y$", title="path of $\\theta_k$ along $w = g$")
ax[0].legend(fontsize=7)
ax[1].set(xlabel="iteration $k$", ylabel="success rate $J_k$")
ax[1].legend(fontsize=7)
savefig(fig, "collapse_policy_path", notebook="03_collapse_threshold", claim="P3",
        params=dict(PATH_A=PATH_A, PATH_X0=PATH_X0, PATH_Y0=PATH_Y0, PATH_ETAS=PATH_ETAS),
        caption="Below 1/a the path zig-zags into the valley x = 0 and climbs; above it the zig-zag grows and J falls at every step.")
show(fig)

# %% [markdown]
# *Notice:* below the threshold $x_k$ alternates in sign with shrinking amplitude and the policy climbs
# the ridge; above it the same alternation grows and each step overshoots further down the parabola.
#
# ## 3. A less clean instance: responses on a circle
#
# Does a log-linear policy show the same collapse? An earlier computation of this model — 8 responses
# on a circle (one correct), $w=g$ and a constant step — had flagged convergence for $\eta\lesssim2.5$
# and a collapse for $\eta\gtrsim4$ (shaded in the figure). We run the model with the engine's
# log-odds computed directly (log-sum-exp over the correct minus over the incorrect responses, in
# float64) from 16 random starts (radius 1.5 around the origin) on the same $\eta$ grid. Theorem 1
# with the sharp log-linear constant certifies every constant $\eta\le 4/D_-^2=1$ here ($D_-=2$ is
# the diameter of the incorrect responses; derived in notebook 02).

# %%
phi_c, r_c = circle_instance(8, correct=0)
angles = 2 * math.pi * torch.rand(NUM_SEEDS, generator=gen, dtype=torch.float64)
starts = 1.5 * torch.stack([angles.cos(), angles.sin()], -1)
cgrid = make_grid(ETAS, NUM_SEEDS, 1)
circ = simulate(phi_c, r_c, starts[cgrid.seed], cgrid.eta, NUM_STEPS)
cz = cgrid.unflatten(circ.log_odds[:, :, 0], axis=1)[..., 0]   # [K+1, E, S]
fell = (cz[1:] < cz[:-1] - 1e-12).any(0)                      # any step that lowered J

# %%
cJ = torch.sigmoid(cz[-1])
print(f"circle model: min final J over all {cJ.numel()} runs = {float(cJ.min()):.3f}; "
      f"runs with at least one step that lowered J: {int(fell.sum())}")
print(f"largest eta on the grid: {ETAS[-1]:.1f}; Theorem 1 (sharp) certifies eta <= 1.0")
certified = torch.tensor(ETAS) <= 1.0

# %%
# NBVAL_CHECK_OUTPUT
expect("circle model: every run with eta <= 1 ends above its start",
       bool((cz[-1][certified] > cz[0][certified]).all()),
       why="Theorem 1 with the sharp constant certifies eta <= 1 (derived)")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
q = torch.quantile(cJ, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), dim=1)
ax.fill_between(ETAS, q[0], q[2], alpha=0.3, label="measured final $J$ (min-max over starts)")
ax.plot(ETAS, q[1], lw=2, label="measured final $J$ (median)")
ax.plot(ETAS, fell.double().mean(1), "s", ms=3, label="fraction of runs with a step that lowered $J$")
ax.axvline(1.0, color="k", ls="--", label="Theorem 1 (sharp constant): certified below")
ax.axvspan(2.5, 4.0, color="tab:red", alpha=0.15, label="collapse flagged by an earlier computation (not seen here)")
ax.set(xscale="log", xlabel=r"constant step size $\eta$", ylabel=f"$J$ after {NUM_STEPS} steps",
       ylim=(-0.02, 1.05))
ax.legend(fontsize=7)
savefig(fig, "circle_model_no_collapse", notebook="03_collapse_threshold", claim="P3",
        params=dict(SEED=SEED, NUM_ETAS=NUM_ETAS, NUM_SEEDS=NUM_SEEDS, NUM_STEPS=NUM_STEPS),
        caption="The circle model with one correct response and w = g did not collapse at any step size on the grid.")
show(fig)

# %% [markdown]
# *Notice:* no circle run collapses toward 0. Some steps do lower $J$ (transient overshoots, in a
# minority of runs, at large $\eta$), and the slowest runs (smallest $\eta$) have not reached 1 after
# $K$ steps, but every run certified by Theorem 1 improved, and none ends near 0.
#
# ## What we could not reproduce
# **[measured]** The circle model's collapse that an earlier computation had flagged (convergence for
# $\eta\lesssim2.5$, collapse for $\eta\gtrsim4$) is not there: with the log-odds computed directly,
# one correct response among 8 and $w=g$, no run ended near $J=0$ for $\eta$ up to 20 (the smallest
# final $J$ printed above comes from the slowest, smallest steps). **[derived]** A reason: with one correct
# response $\operatorname{logit}J=\theta\cdot\phi_c-\log\sum_{o\ \text{wrong}}e^{\theta\cdot\phi(o)}$, and a step along
# $g=\phi_c-\mathbb E^-\phi$ raises the correct logit relative to every incorrect logit that the incorrect
# set's softmax weighs most, so large steps overshoot only transiently. Other starts, directions or
# feature sets are not run here. The clean threshold above comes from the
# quadratic-logit instance, where the curvature of the logit in $\theta$ — what a shared, nonlinear
# parameterisation provides — creates the overshoot.
#
# ## Exercises
# 1. Predict the threshold for $a=3$ and check it with `A_VALUES=[3.0]`.
# 2. For $\eta$ slightly above $1/a$ and small $|x_0|$, how many steps pass before $J$ starts to fall?
#    (Use $|x_k|=|1-2a\eta|^k|x_0|$ and the condition $4a^2(a\eta-1)x_k^2>1$.)
# 3. Replace $w=g$ by REINFORCE's population direction $J(1-J)g$ in the quadratic-logit bandit. Is
#    there still a sharp threshold in $\eta$? Why does the factor $J(1-J)$ change it?
# 4. Prove that $\eta=1/a$ exactly converges.
#
# <details><summary>Solutions</summary>
#
# 1. $1/3$.
# 2. The first $k$ with $(2a\eta-1)^{2k}x_0^2>1/(4a^2(a\eta-1))$, i.e.
#    $k>\log\big(1/(4a^2(a\eta-1)x_0^2)\big)/(2\log(2a\eta-1))$.
# 3. The effective step becomes $\eta J(1-J)$, which shrinks as $J\to0$ or 1: the recursion for $x$ is
#    $x_{k+1}=(1-2a\eta J_k(1-J_k))x_k$; collapse needs $\eta J(1-J)>1/a$, i.e. $\eta>4/a$ at best, and as $J$
#    falls the step shrinks — falls can stop. Try it.
# 4. $x_{k+1}=-x_k$, so $|x|$ is constant, and $z_{k+1}-z_k=\eta>0$.
# </details>

# %%
print(versions())
