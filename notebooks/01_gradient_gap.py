# %% [markdown]
# # 01 · The Gradient Gap and its identities
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlvr-companion/rlvr-gradient-gap/blob/main/notebooks/01_gradient_gap.ipynb)
#
# Every result of the paper is phrased through one vector, the **Gradient Gap**: the average
# score of the responses that earn the reward minus the average score of those that do not.
# This notebook defines it, proves the four identities that tie it to the policy gradient and
# to the log-odds of success, and checks each of them three independent ways — exact
# enumeration, automatic differentiation and Monte Carlo — on log-linear and neural policies.
# For a practitioner the punchline is the factor $J(1-J)$: the policy gradient is the
# Gradient Gap shrunk by the reward variance, which is why learning stalls when a prompt is
# almost always solved or almost never.
#
# **Covers:** claim P1 of the claims registry (`rlvr_core/claims.yaml`, map in notebook 00). **Run time (default profile, 2-core laptop): about 10 s.**
# Statements are labelled **[paper]** (the paper's claim), **[derived]** (proved here) or
# **[measured]** (what this notebook's computation shows).

# %%
# Setup. On Colab (or wherever RLVR_INSTALL names a pip source), install the companion first.
import os
import subprocess
import sys

if "google.colab" in sys.modules or os.environ.get("RLVR_INSTALL"):
    source = os.environ.get("RLVR_INSTALL") or "git+https://github.com/rlvr-companion/rlvr-gradient-gap"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"rlvr-core @ {source}"],
                   check=True)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from rlvr_core.notebook.expect import expect
from rlvr_core.notebook.figures import savefig, set_style, show
from rlvr_core.stats.fit import loglog_slope
from rlvr_core.paper.gap import (curvature_checks, curvature_identity, exact_gap, grad_success_prob,
                           identity_errors, mc_gap_errors, success_prob)
from rlvr_core.simulators.instances import identity_examples
from rlvr_core.notebook.nbutils import versions
from rlvr_core.infra.arguments import check_int, check_profile, check_seed

set_style()

# %% tags=["parameters"]
PROFILE = "default"  # "default" (fast) or "full"
SEED = 0             # seeds every random policy, parameter and sample below
MC_SEEDS = 16        # independent Monte-Carlo repetitions per sample size

# %%
# Validate the parameters (a bad papermill -p value stops here) and derive the sizes.
check_profile(PROFILE)
check_seed("SEED", SEED)
check_int("MC_SEEDS", MC_SEEDS, minimum=2)
SAMPLE_SIZES = [2**k for k in range(6, 15 if PROFILE == "default" else 19, 2)]
gen = torch.Generator().manual_seed(SEED)

# %% [markdown]
# ## 1. The Gradient Gap
#
# **[paper]** For a prompt $q$ and a policy $\pi_\theta(o\mid q)$ with a verifiable reward
# $r(q,o)\in\{0,1\}$, the Gradient Gap is the difference between the expected score
# $\nabla_\theta\log\pi_\theta(o\mid q)$ over high-reward responses and over low-reward
# responses: the direction that leads from the failing region of response space to the
# succeeding one.
#
# **[derived]** The companion writes it as
# $$
# J = \Pr_{o\sim\pi_\theta}[r=1],\qquad
# \mu^+ = \mathbb E[\nabla\log\pi(o)\mid r=1],\qquad
# \mu^- = \mathbb E[\nabla\log\pi(o)\mid r=0],\qquad
# g = \mu^+-\mu^-.
# $$
# It is defined whenever $0<J<1$: a prompt needs at least one correct and one incorrect response
# (the library raises a `ValueError` otherwise).
#
# ## 2. Four identities
#
# **[derived]** For every prompt with $0<J<1$:
# $$
# \text{(i) } \mu^+=(1-J)\,g,\qquad \text{(ii) } \mu^-=-J\,g,\qquad
# \text{(iii) } \nabla J = J(1-J)\,g,\qquad \text{(iv) } g=\nabla\log\frac{J}{1-J}.
# $$
#
# *Why.*
# 1. The score has mean zero: $\mathbb E[\nabla\log\pi(o)] = \sum_o \nabla\pi(o) = \nabla\sum_o\pi(o) = 0$.
# 2. Split that mean by the reward (law of total expectation): $J\mu^+ + (1-J)\mu^- = 0$.
# 3. Solve 2 together with $g=\mu^+-\mu^-$: $\mu^- = -Jg$ and $\mu^+ = \mu^- + g = (1-J)g$ — identities (i), (ii).
# 4. Log-derivative trick: $\nabla J = \mathbb E[r\,\nabla\log\pi] = J\mu^+ = J(1-J)\,g$ — identity (iii).
# 5. Chain rule: $\nabla\log\frac{J}{1-J} = \frac{\nabla J}{J(1-J)} = g$ — identity (iv).
#
# So the policy gradient is the Gradient Gap scaled by the reward variance $J(1-J)$, and the Gradient
# Gap is the gradient of the log-odds of success — the potential the paper's proofs work with.
#
# **Check.** Each side is computed separately: $\mu^\pm$ and $g$ by enumerating every response with
# scores from autograd; $\nabla J$ and $\nabla\operatorname{logit} J$ by differentiating $J$ itself.
# A fifth row checks step 1. Four policies: a random contextual bandit, the 8-response circle
# policy of notebook 03 (§3), a bandit where half of the responses are correct, and a small neural (MLP)
# policy whose score is not a feature difference.

# %%
policies, thetas = identity_examples(SEED)
errors = pd.DataFrame({name: identity_errors(p, thetas[name]) for name, p in policies.items()}).T

# %%
print("max relative error of each identity (float64, exact enumeration vs autograd)")
print(errors.map(lambda e: f"{e:.0e}").to_string())

# %%
# NBVAL_CHECK_OUTPUT
assert expect("P1 identities, every policy: max relative error", errors.to_numpy(), at_most=1e-8,
       why="exact float64 identities: only rounding error is allowed")

# %% [markdown]
# **[measured]** Every identity holds to rounding error (below $10^{-12}$, against the
# $10^{-8}$ that P1 asks) on all four policies, the neural one included: the identities use
# nothing but $\sum_o\pi(o)=1$, so they hold for any differentiable policy.
#
# ## 3. Monte-Carlo estimation converges at the $1/\sqrt n$ rate
#
# **[derived]** In practice $g$ is estimated from sampled responses: the mean score of the correct
# samples minus the mean score of the incorrect ones. Each mean is an average of i.i.d. terms with
# finite variance, so by the central limit theorem the error is of order $1/\sqrt{n}$ (a ratio
# estimator, so the rate holds asymptotically, once both groups are non-empty).
#
# **Check.** The relative error $\|\hat g_n - g\|/\|g\|$ on the log-linear bandit, root mean square
# over independent seeds, against $n$; the fitted log-log slope must be within $0.1$ of $-1/2$.

# %%
bandit = policies["log-linear bandit (3 prompts, 6 responses, d=4)"]
theta_b = thetas["log-linear bandit (3 prompts, 6 responses, d=4)"]
mc_err = mc_gap_errors(bandit, theta_b, SAMPLE_SIZES, range(SEED, SEED + MC_SEEDS)).numpy()
rms_err = np.sqrt(np.nanmean(mc_err**2, axis=1))
slope = loglog_slope(SAMPLE_SIZES, rms_err)

# %%
print(f"fitted slope of log(error) vs log(n): {slope:.2f}   (theory: -0.50)")

# %%
# NBVAL_CHECK_OUTPUT
assert expect("P1 Monte-Carlo rate: slope of log error vs log n", slope, reference=-0.5, tol=0.1,
       why="CLT rate n^-1/2; 0.1 allows the finite-sample scatter of an RMS over MC_SEEDS seeds")

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.8))
for j in range(mc_err.shape[1]):
    ax.loglog(SAMPLE_SIZES, mc_err[:, j], color="0.75", lw=0.8, zorder=1)
ax.loglog(SAMPLE_SIZES, rms_err, "o-", color="C0", label="measured (RMS over seeds)", zorder=3)
ref = rms_err[0] * np.sqrt(SAMPLE_SIZES[0] / np.array(SAMPLE_SIZES))
ax.loglog(SAMPLE_SIZES, ref, "--", color="C3", label=r"theory: $\propto 1/\sqrt{n}$", zorder=2)
ax.set(xlabel="samples per prompt $n$", ylabel=r"relative error $\|\hat g_n - g\| / \|g\|$",
       title="Monte-Carlo Gradient Gap converges at rate $n^{-1/2}$")
ax.legend(loc="lower left")
savefig(fig, "mc_gradient_gap_error_vs_samples", notebook="01_gradient_gap", claim="P1",
        params={"seed": SEED, "mc_seeds": MC_SEEDS, "sample_sizes": SAMPLE_SIZES},
        caption="Relative error of the sampled Gradient Gap against n; grey: single seeds.")
show(fig)

# %% [markdown]
# *Notice:* the single runs (grey) scatter around the mean line, which follows the $1/\sqrt n$
# reference over more than two decades. **[measured]** The fitted slope is printed above.
#
# ## 4. The policy gradient is the Gradient Gap times the reward variance
#
# **[derived]** Identity (iii), $\|\nabla J\| = J(1-J)\,\|g\|$: the policy gradient vanishes at
# $J\to0$ and $J\to1$ even when the Gradient Gap does not. We sweep the circle policy along
# $\theta = t\,\phi(o^\star)$ (towards the correct response $o^\star$) so that $J$ runs over
# $(0,1)$, and compare $\|\nabla J\|$ (autograd of $J$) with $J(1-J)\|g\|$ (enumeration).

# %%
circle = policies["circle, 8 responses, 1 correct (d=2)"]
ts = torch.linspace(-4, 16, 121, dtype=torch.float64)
direction = circle.features[0, 0]
rows = []
for t in ts:
    th = t * direction
    st = exact_gap(circle, th)
    rows.append((st.J.item(), grad_success_prob(circle, th).norm().item(), st.gap.norm().item()))
J_sweep, grad_norm, gap_norm = map(np.array, zip(*rows))
ratio_err = np.max(np.abs(grad_norm / gap_norm - J_sweep * (1 - J_sweep)))

# %%
print(f"J swept over [{J_sweep.min():.3f}, {J_sweep.max():.3f}]; "
      f"max |‖∇J‖/‖g‖ - J(1-J)| = {ratio_err:.0e}")

# %%
# NBVAL_CHECK_OUTPUT
assert expect("‖∇J‖/‖g‖ = J(1-J) along the sweep: max error", ratio_err, at_most=1e-8,
       why="exact float64 identity: only rounding error is allowed")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
axes[0].plot(J_sweep, gap_norm, color="C0", label=r"$\|g\|$ (Gradient Gap)")
axes[0].plot(J_sweep, grad_norm, color="C1", label=r"$\|\nabla J\|$ (policy gradient)")
axes[0].set(xlabel="success probability $J$", ylabel="norm", title="circle policy, 8 responses")
axes[0].legend()
axes[1].plot(J_sweep, grad_norm / gap_norm, "o", ms=3, color="C1", label=r"measured $\|\nabla J\|/\|g\|$")
jj = np.linspace(0, 1, 200)
axes[1].plot(jj, jj * (1 - jj), "--", color="C3", label="theory $J(1-J)$")
axes[1].set(xlabel="success probability $J$", ylabel="ratio", title="the reward-variance factor")
axes[1].legend()
savefig(fig, "policy_gradient_is_variance_times_gap", notebook="01_gradient_gap", claim="P1",
        params={"seed": SEED, "t_range": [-4, 16], "points": 121},
        caption="||grad J|| and ||g|| along a line in parameter space; their ratio is J(1-J).")
show(fig)

# %% [markdown]
# *Notice:* $\|g\|$ stays of order one across the whole range while $\|\nabla J\|$ vanishes at both
# ends; their ratio lies on the parabola $J(1-J)$. **[measured]** The identity holds to rounding error
# at every one of the 121 points.
#
# ## 5. The curvature of the log-odds along a direction
#
# **[derived]** For a direction $w$, write $s(o)=\langle w,\nabla\log\pi(o)\rangle$ and
# $h(o)=w^\top\nabla^2\log\pi(o)\,w$, and $\mathbb E^\pm,\operatorname{Var}^\pm$ for the laws of $o$
# given $r=1$ and $r=0$. Then
# $$
# \frac{d^2}{dt^2}\operatorname{logit}J(\theta+tw)\Big|_{t=0} = \operatorname{Var}^+(s)-\operatorname{Var}^-(s)+\mathbb E^+[h]-\mathbb E^-[h].
# $$
#
# <details><summary>Proof (four steps)</summary>
#
# 1. $\operatorname{logit}J = \log\sum_{o:r=1}\pi(o) - \log\sum_{o:r=0}\pi(o)$.
# 2. For any set $S$, $\frac{d}{dt}\log\sum_{o\in S}\pi_t(o) = \mathbb E_{\pi_t}[\dot\ell(o)\mid S]$ with
#    $\ell=\log\pi$ and $\dot\ell=\frac{d}{dt}\ell$ (differentiate the sum, divide by it).
# 3. Differentiate once more: $\frac{d}{dt}\mathbb E[\dot\ell\mid S] = \mathbb E[\ddot\ell\mid S] +
#    \mathbb E[\dot\ell^2\mid S]-\mathbb E[\dot\ell\mid S]^2 = \mathbb E[\ddot\ell\mid S]+\operatorname{Var}(\dot\ell\mid S)$
#    (the conditional weights $\pi_t(o)/\pi_t(S)$ have derivative $\pi_t(o)(\dot\ell(o)-\mathbb E[\dot\ell\mid S])/\pi_t(S)$).
# 4. At $t=0$, $\dot\ell=s$ and $\ddot\ell=h$; subtract the $S=\{r=0\}$ term from the $S=\{r=1\}$ term.
# </details>
#
# This is the lever for every step-size threshold in notebooks 02–05: a step $\eta w$ raises the
# log-odds by $\eta\langle w,g\rangle$ to first order and the curvature decides whether the
# second-order term can undo it.
#
# **Check.** The right-hand side (enumeration) against two independent computations of the left:
# forward-mode autograd twice, and a central finite difference $D(h)$ with $h=10^{-3}$.
# **[derived] tolerance of the finite difference.** $D(h) = f'' + c\,h^2 + O(h^4)$, so
# $D(2h) - D(h) \approx 3c\,h^2$: the truncation error of $D(h)$ is estimated by
# $|D(2h)-D(h)|/3$ (Richardson), on the policy itself, and float64 round-off adds about
# $4\varepsilon\,|\operatorname{logit}J|/h^2$. The check allows twice that estimate (the $O(h^4)$
# remainder and the maximum over prompts); a fixed tolerance would depend on the policy's fourth
# derivative, which changes with the seed.

# %%
curv_rows = {}
for name, pol in policies.items():
    w = torch.randn(pol.dim, generator=gen, dtype=torch.float64)
    curv_rows[name] = curvature_checks(pol, thetas[name], w, h=1e-3)
curv = pd.DataFrame(curv_rows).T

# %%
print("relative error of the curvature identity against two independent computations")
print(curv.map(lambda e: f"{e:.0e}").to_string())

# %%
# NBVAL_CHECK_OUTPUT
assert expect("curvature identity vs autograd Hessian, every policy", curv["identity vs autograd"],
       at_most=1e-8, why="exact float64 identity: only rounding error is allowed")
assert expect("curvature identity vs central finite differences: error / Richardson estimate, every policy",
       curv["finite diff error / its estimate"], at_most=2.0,
       why="O(h^2) truncation estimated by |D(2h) - D(h)|/3 plus float64 round-off (derived)")

# %%
w_c = torch.tensor([0.0, 1.0], dtype=torch.float64)
theta0 = torch.tensor([0.5, -0.3], dtype=torch.float64)
tt = np.linspace(-4, 4, 81)
logit_path = np.array([torch.logit(success_prob(circle, theta0 + t * w_c)).item() for t in tt])
curv_path = np.array([curvature_identity(circle, theta0 + t * w_c, w_c).item() for t in tt])
fd_path = np.gradient(np.gradient(logit_path, tt), tt)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].plot(tt, logit_path, color="C0")
axes[0].set(xlabel="$t$", ylabel=r"$\mathrm{logit}\,J(\theta_0+t w)$", title="log-odds along a line")
axes[1].plot(tt, curv_path, color="C3", label="identity: Var$^+$−Var$^-$+E$^+h$−E$^-h$")
axes[1].plot(tt[2:-2], fd_path[2:-2], "o", ms=3, color="C0", label="finite differences of the left panel")
axes[1].axhline(0, color="0.5", lw=0.8)
axes[1].set(xlabel="$t$", ylabel="second derivative", title="curvature identity")
axes[1].margins(y=0.3)  # room above the curve for the legend
axes[1].legend(fontsize="small", loc="upper center")
savefig(fig, "log_odds_curvature_identity", notebook="01_gradient_gap", claim="P1",
        params={"theta0": theta0.tolist(), "w": w_c.tolist(), "t_range": [-4, 4]},
        caption="Second derivative of the log-odds along a line: identity vs finite differences.")
show(fig)

# %% [markdown]
# *Notice:* the curvature is negative everywhere on this line. **[derived]** That is no accident:
# with a single correct response $\operatorname{Var}^+(s)=0$, and for a log-linear policy $h(o)$ is the
# same for every $o$, so the curvature is $-\operatorname{Var}^-(s)\le0$ — the log-odds is concave, the
# first-order gain $\eta\langle w,g\rangle$ is an upper bound, and a long step can only do worse than it
# promises. With several correct responses $\operatorname{Var}^+(s)>0$ and the curvature can take either sign.
# **[measured]** On all four policies the identity matches autograd to rounding error and the
# finite differences to their truncation error.
#
# ## Exercises
#
# 1. Change `SEED` and rerun: which numbers in the checked cells change, and which cannot?
# 2. Show that for a tabular softmax ($\phi(o)$ = one-hot) the Gradient Gap has entries
#    $\pi(o)/J$ on correct responses and $-\pi(o)/(1-J)$ on incorrect ones.
# 3. Prove identity (iii) without (i)–(ii), directly from $\nabla J = \sum_o r(o)\nabla\pi(o)$.
# 4. For the log-linear policy, show that $h(o)=-\operatorname{Var}_\pi(\langle w,\phi\rangle)$ does not
#    depend on $o$, so the curvature is $\operatorname{Var}^+(s)-\operatorname{Var}^-(s)$. Check it numerically.
# 5. Estimate $\nabla J$ by REINFORCE ($\frac1n\sum_i r_i s_i$) and by $\hat J(1-\hat J)\hat g$: which has the
#    smaller error at the same $n$ when $J$ is close to 1?
#
# <details><summary>Solutions</summary>
#
# 1. None of the printed lines should change: they report whether errors are below fixed tolerances
#    and a slope rounded to two digits; the underlying random policies and samples do change.
# 2. $\nabla_{\theta_o}\log\pi(o')=\mathbf 1[o=o']-\pi(o)$; average over correct $o'$ (weights $\pi(o')/J$) and
#    incorrect $o'$ and subtract: the $-\pi(o)$ terms cancel.
# 3. $\sum_o r\nabla\pi = \sum_o r\pi\nabla\log\pi = J\mu^+$, and $\mu^+ = \mu^+ - (J\mu^+ + (1-J)\mu^-) = (1-J)g$.
# 4. $\nabla^2\log\pi(o) = -\operatorname{Cov}_\pi(\phi)$ for every $o$; use `LogLinearPolicy.log_prob_hessian_closed_form`.
# 5. Try it with `rlvr_core.paper.gap.mc_policy_gradient` and `mc_gap`; near $J=1$ the incorrect group is small and
#    $\hat g$ is noisy, but the factor $\hat J(1-\hat J)$ is small too.
# </details>

# %%
print(versions())
