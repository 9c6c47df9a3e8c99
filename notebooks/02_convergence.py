# %% [markdown]
# # 02 · Convergence below the step-size threshold (Theorem 1)
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlvr-companion/rlvr-gradient-gap/blob/main/notebooks/02_convergence.ipynb)
#
# The paper's first theorem says that an update which is aligned with the Gradient Gap, taken with
# a step small enough for the policy's smoothness, raises the log-odds of success by at least half
# of the accumulated alignment $M(K)$; when $M(K)\to\infty$ the success rate goes to 1, and when the
# alignment dries up it can stall. For a practitioner this is the "safe learning rate" half of the
# story: below the threshold, progress is guaranteed and measurable. This notebook proves the bound
# through the log-odds potential and the curvature identity, computes the constants for log-linear
# bandits exactly, and checks the bound on many random contextual bandits, with exact and sampled
# (finite-group) updates.
# **Run time (default profile, 2-core laptop): about 20 s.**
# Labels: **[paper]** the paper's claim, **[derived]** proved here, **[measured]** our experiment.

# %%
# Setup. On Colab (or wherever RLVR_INSTALL names a pip source), install the companion first.
import os
import subprocess
import sys

if "google.colab" in sys.modules or os.environ.get("RLVR_INSTALL"):
    source = os.environ.get("RLVR_INSTALL") or "git+https://github.com/rlvr-companion/rlvr-gradient-gap"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"rlvr-core @ {source}"],
                   check=True)

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from rlvr_core.simulators import theorem1

from rlvr_core.paper import theory
from rlvr_core.notebook.expect import expect
from rlvr_core.notebook.figures import savefig, set_style, show
from rlvr_core.simulators.instances import random_instances, random_starts
from rlvr_core.notebook.nbutils import versions
from rlvr_core.paper.policies import LogLinearPolicy, MLPPolicy
from rlvr_core.simulators.sim import simulate
from rlvr_core.infra.arguments import check_int, check_positive, check_profile, check_seed

set_style()

# %% tags=["parameters"]
PROFILE = "default"   # "default" (fast) or "full"
SEED = 0
NUM_RESPONSES = 8     # responses per prompt
DIM = 4               # feature dimension d
MAX_CORRECT = 3       # each prompt has 1..MAX_CORRECT correct responses
GROUP_SIZE = 8        # G for the sampled (finite-group) updates
ETA_MULTIPLIER = 1.0  # eta_k = ETA_MULTIPLIER x the per-step bound (Theorem 1 needs <= 1)
ALIGNMENT_DECAY = 1.0 # cos(w_k, g_k) = (k+1)^-ALIGNMENT_DECAY for the poorly aligned runs

# %%
# Validate parameters (a bad papermill -p value fails here with a clear message) and derive sizes.
check_profile(PROFILE)
check_seed("SEED", SEED)
check_int("NUM_RESPONSES", NUM_RESPONSES, minimum=2)
check_int("DIM", DIM, minimum=2)
check_int("MAX_CORRECT", MAX_CORRECT, minimum=1, maximum=NUM_RESPONSES - 1)
check_int("GROUP_SIZE", GROUP_SIZE, minimum=2)
check_positive("ETA_MULTIPLIER", ETA_MULTIPLIER)
if ETA_MULTIPLIER > 1:
    raise ValueError(f"ETA_MULTIPLIER={ETA_MULTIPLIER!r} is invalid: expected a number in (0, 1] "
                     "(Theorem 1 needs the step at or below its bound)")
check_positive("ALIGNMENT_DECAY", ALIGNMENT_DECAY)
if ALIGNMENT_DECAY <= 0.5:
    raise ValueError(f"ALIGNMENT_DECAY={ALIGNMENT_DECAY!r} is invalid: expected a number > 0.5 "
                     "(so that sum cos^2 converges and M stays bounded)")
NUM_INSTANCES = 64 if PROFILE == "default" else 256
NUM_STEPS = 300 if PROFILE == "default" else 1000
NUM_PROMPTS_CONTEXTUAL = 3
# negative control: eta_k = c x the per-step bound, c on a log grid from 1 (the theorem's
# hypothesis) to 1024; the same instances and directions as the positive check
NEG_MULTIPLIERS = [2 ** (j / 2) for j in range(21)]

# %% [markdown]
# ## 1. The claim and its proof
#
# **[paper] Theorem 1 (in our words).**
# *Hypotheses.* (H1) $\theta\mapsto\log\pi_\theta(o\mid q)$ is twice differentiable for every response $o$;
# (H2) $L_o=\sup_{\theta,o}\|\nabla^2_\theta\log\pi_\theta(o\mid q)\|_{op}$ and
# $G_o=\sup_{\theta,o}\|\nabla_\theta\log\pi_\theta(o\mid q)\|$ are finite — suprema over **all** $\theta$ and
# $o$, so they are infinite for a policy whose scores are unbounded (e.g. unbounded features, or a
# network whose score grows with $\|\theta\|$), and the theorem then says nothing;
# (H3) the iteration is $\theta_{k+1}=\theta_k+\eta_k w_k$ and every step satisfies
# $\eta_k \le [\Delta\mu_k]_+ / \big(2(L_o+8G_o^2)\big)$, where $\Delta\mu_k$ measures how well $w_k$ is
# aligned with the Gradient Gap $g(\theta_k)$.
# *Conclusion.* With $M(K)=\sum_{k<K}[\Delta\mu_k]_+\eta_k$,
# $$J(\theta_K)\;\ge\;\frac{J(\theta_0)}{J(\theta_0)+(1-J(\theta_0))\,e^{-M(K)/2}},\qquad\text{i.e.}\qquad
# \operatorname{logit}J(\theta_K)\ \ge\ \operatorname{logit}J(\theta_0)+\tfrac12 M(K).$$
#
# **What this notebook tests is the companion's reading of it**, which differs from the paper's
# statement in three places:
#
# | | paper | companion reading | difference |
# |---|---|---|---|
# | alignment | $\Delta\mu_k$, normalisation not known here | $\Delta\mu_k=\langle w_k,g(\theta_k)\rangle$, step bound divided by $\|w_k\|^2$ | the two coincide for $\|w_k\|=1$; ours is invariant to rescaling $w_k$ (so $w$ and $\alpha w$, $\alpha>0$, take the same step $\eta_kw_k$) |
# | constant | $2(L_o+8G_o^2)$ | $2L_o+G_o^2$ from the curvature identity (and a sharper log-linear one, below) | ours is smaller; every step the paper allows we allow |
# | sampled updates | — | $\Delta\mu_k$ of the realised $w_k$ computed with the **exact (oracle)** $g(\theta_k)$ | a practitioner cannot evaluate this step rule; it tests the bound, not a usable schedule |
#
# Rows labelled "paper constant" below are the companion reading run with the paper's constant.
#
# **[derived] Proof.** Let $f(\theta)=\operatorname{logit}J(\theta)$, the log-odds potential.
#
# 1. $\nabla f = g$ (notebook 01: the Gradient Gap is the gradient of the log-odds).
# 2. Along $w$, the curvature identity gives, with $s=\langle w,\nabla\log\pi(o)\rangle$ and
#    $h=w^\top\nabla^2\log\pi(o)\,w$,
#    $$\tfrac{d^2}{dt^2}f(\theta+tw)=\operatorname{Var}^+(s)-\operatorname{Var}^-(s)+\mathbb E^+[h]-\mathbb E^-[h].$$
# 3. Bounds: $0\le\operatorname{Var}^\pm(s)\le G_o^2\|w\|^2$ and $|h|\le L_o\|w\|^2$, so
#    $\big|\tfrac{d^2}{dt^2}f\big|\le (2L_o+G_o^2)\|w\|^2 =: C\|w\|^2$ everywhere.
# 4. Taylor with integral remainder:
#    $$f(\theta+\eta w)\ \ge\ f(\theta)+\eta\langle w,g\rangle-\tfrac{\eta^2}{2}C\|w\|^2 .$$
# 5. If $0\le\eta\le[\langle w,g\rangle]_+/(C\|w\|^2)$, the last term is at most $\tfrac\eta2\langle w,g\rangle$, so
#    $f(\theta+\eta w)\ge f(\theta)+\tfrac12\eta[\Delta\mu]_+$ (when $\Delta\mu\le0$ the rule forces $\eta=0$).
# 6. Summing over $k<K$: $f(\theta_K)\ge f(\theta_0)+M(K)/2$; apply the sigmoid for the $J$ form. $\square$
#
# Since $2(L_o+8G_o^2)\ge 2L_o+G_o^2$, the paper's step condition implies ours: **[derived]** the
# theorem holds with the paper's constant and with the companion's smaller constant $2L_o+G_o^2$.
#
# <details><summary>[derived] A sharper constant for log-linear policies</summary>
#
# For $\pi_\theta(o)\propto e^{\theta\cdot\phi(o)}$, $\nabla^2\log\pi(o)=-\operatorname{Cov}_\pi(\phi)$ is the
# same for every $o$, so $\mathbb E^+h-\mathbb E^-h=0$ and the curvature is
# $\operatorname{Var}^+(s)-\operatorname{Var}^-(s)\ge-\operatorname{Var}^-(s)$. The law of $s$ given $r=0$ lives on the incorrect
# responses, so by Popoviciu's inequality $\operatorname{Var}^-(s)\le R^-(w)^2/4$ with
# $R^-(w)=\max_{o\,\text{wrong}}\langle w,\phi(o)\rangle-\min_{o\,\text{wrong}}\langle w,\phi(o)\rangle$.
# Steps 4–6 then hold with $C\|w\|^2$ replaced by $R^-(w)^2/4$ — only the *negative* part of the
# curvature can cost progress. This is the "sharp" rule below.
# </details>
#
# **[derived] The constants of the log-linear policy.** With $D=\max_{o,o'}\|\phi(o)-\phi(o')\|$:
# $\nabla\log\pi(o)=\phi(o)-\mathbb E_\pi\phi$ and $\mathbb E_\pi\phi$ lies in the convex hull of the
# features, so $G_o=D$ (a supremum, approached when $\pi$ concentrates on the farthest response);
# $\|\operatorname{Cov}_\pi\phi\|_{op}=\max_{\|u\|=1}\operatorname{Var}_\pi\langle u,\phi\rangle\le D^2/4$, so $L_o=D^2/4$ is valid for
# every $\theta$. Then $2(L_o+8G_o^2)=16.5\,D^2$ against our $2L_o+G_o^2=1.5\,D^2$: a factor
# $16.5/1.5=11$, the same for every instance (the check below is an identity check of the code).

# %%
phi, rewards = random_instances(NUM_INSTANCES, 1, NUM_RESPONSES, DIM, max_correct=MAX_CORRECT,
                                seed=SEED)
theta0 = random_starts(NUM_INSTANCES, DIM, seed=SEED + 1)
L, G = theory.loglinear_constants(phi)
paper_c, ours_c = theory.theorem1_constant(L, G), theory.companion_constant(L, G)
# Independent check of the constants: scores and Hessians at many parameter points by autograd.
gen = torch.Generator().manual_seed(SEED + 2)
probe = 4 * torch.randn(8, DIM, generator=gen, dtype=torch.float64)
est = [theory.estimate_constants(LogLinearPolicy(phi[i], rewards[i]), probe) for i in range(8)]
L_est, G_est = torch.cat([e[0] for e in est]), torch.cat([e[1] for e in est])
# A neural policy has no closed form: the same estimator (max over sampled points; a lower
# estimate of the supremum, so an estimated step bound, not a guarantee).
mlp = MLPPolicy(phi[0], rewards[0], hidden=8)
mlp_points = mlp.init_theta(SEED) + 0.5 * torch.randn(16, mlp.dim, generator=gen, dtype=torch.float64)
L_mlp, G_mlp = theory.estimate_constants(mlp, mlp_points)

# %%
ratio = paper_c / ours_c
print(f"log-linear instances: D in [{G.min():.2f}, {G.max():.2f}]; paper constant / ours = "
      f"{ratio.min():.3f} .. {ratio.max():.3f}")
print(f"autograd estimate / closed-form bound: G_o up to {float((G_est / G[:8, 0]).max()):.2f}, "
      f"L_o up to {float((L_est / L[:8, 0]).max()):.2f}  (must be <= 1)")
print(f"MLP policy (estimated over 16 points): L_o ~ {float(L_mlp):.2f}, G_o ~ {float(G_mlp):.2f}")

# %%
# NBVAL_CHECK_OUTPUT
assert expect("paper constant / sharp constant, every log-linear instance (identity check)", ratio,
       reference=11.0, tol=1e-9, why="algebra: 16.5 D^2 / 1.5 D^2; checks the code, not the theory")
assert expect("autograd max of |score| / closed-form G_o", G_est / G[:8, 0], at_most=1 + 1e-12,
       why="the closed form is an upper bound (derived); 1e-12 rounding")
assert expect("autograd max of the Hessian norm / closed-form L_o", L_est / L[:8, 0], at_most=1 + 1e-12,
       why="the closed form is an upper bound (derived); 1e-12 rounding")

# %%
display(Markdown(
    f"**[measured]** The autograd maxima stay below the closed-form constants, as they must. "
    f"**[derived]** The paper's constant is {float(ratio.min()):.0f} times ours for every log-linear "
    f"instance (identity check above), so with the same alignment the paper's admissible step is "
    f"{float(ratio.min()):.0f} times smaller than the one the curvature identity allows."))

# %% [markdown]
# ## 2. The bound on many runs
#
# **[derived] Rescaled directions take the same steps.** For a single prompt, REINFORCE's and GRPO's
# population directions are $w=\alpha g$ with a scalar $\alpha=J(1-J)$ or $\sqrt{J(1-J)}>0$. Under the
# $\|w\|^2$-normalised rule $\eta_k w_k=c\,\langle\alpha g,g\rangle\,\alpha g/(C\alpha^2\|g\|^2)=c\,g/C$ (the sharp
# $C(w)=R^-(w)^2/4$ also scales as $\alpha^2$), and $\eta_k\Delta\mu_k$ is unchanged: **their runs are the
# $w=g$ runs**, not independent evidence. They are not repeated below; one identity check confirms
# the code agrees.

# %%
display(Markdown(
    f"**[measured]** {NUM_INSTANCES} random single-prompt bandits ({NUM_RESPONSES} responses, "
    f"$d={DIM}$, 1–{MAX_CORRECT} correct, random start) and a contextual set ({NUM_INSTANCES} bandits "
    f"of {NUM_PROMPTS_CONTEXTUAL} prompts sharing $\\theta$), {NUM_STEPS} steps at "
    f"{ETA_MULTIPLIER:g} × the per-step bound ($\\eta_k$ recomputed at every step), with the paper's "
    f"constant and with the sharp log-linear one, along $w=g$ and GRPO's sampled finite-group "
    f"direction ($G={GROUP_SIZE}$ responses, std-normalised advantages). Theorem 1 is about the "
    f"realised $w_k$, so it covers sampled updates too: $\\Delta\\mu_k$ is then the alignment of the "
    f"random update with the oracle $g$, which may be negative (the rule then sets $\\eta_k=0$)."))

# %% [markdown]
# **Several prompts: two readings.** Theorem 1 is per prompt. With prompts sharing $\theta$, requiring
# its hypothesis for every prompt means $\eta_k\le\min_q[\Delta\mu_{q,k}]_+/C_q$, which is $0$ as soon
# as one prompt has $\Delta\mu_q\le0$ — and a deterministic run with $\eta_0=0$ never moves again
# ("per-prompt reading", rows `contextual w = g`; the fraction of frozen runs is measured below).
# **[derived] Aggregate reading** (`rlvr_core.simulators.theorem1`): the mean log-odds
# $\bar f=\frac1P\sum_q\operatorname{logit}J_q$ has gradient $\bar g=\frac1P\sum_q g_q$ and curvature
# $\ge-\frac1P\sum_qC_q(w)=:-\bar C(w)$, so the same Taylor steps 4–6 give
# $\bar f(\theta_K)\ge\bar f(\theta_0)+\bar M(K)/2$ for $\eta_k\le[\langle w_k,\bar g\rangle]_+/\bar C(w_k)$,
# $\bar M=\sum_k\eta_k[\langle w_k,\bar g\rangle]_+$. Along $w=\bar g$ the alignment is $\|\bar g\|^2>0$: the rule
# never freezes. It guarantees the mean log-odds, not each prompt's; rows `contextual aggregate`.

# %%
phi_c, rewards_c = random_instances(NUM_INSTANCES, NUM_PROMPTS_CONTEXTUAL, NUM_RESPONSES, DIM,
                                    max_correct=MAX_CORRECT, seed=SEED + 3)
settings = [("w = g", dict(direction="gap")),
            (f"GRPO sampled G={GROUP_SIZE}", dict(direction="grpo_no_length", group_size=GROUP_SIZE)),
            ("contextual w = g", dict(direction="gap"))]
RULE_NAMES = {"theorem1": "paper const", "sharp": "sharp const", "companion": "companion const"}
runs = {}
for label, kw in settings:
    f, r = (phi_c, rewards_c) if label.startswith("contextual") else (phi, rewards)
    for rule in ("theorem1", "sharp"):
        runs[label, rule] = simulate(f, r, theta0, ETA_MULTIPLIER, NUM_STEPS, step_rule=rule,
                                     seed=SEED, **kw)
for rule in ("theorem1", "sharp"):
    runs["contextual aggregate", rule] = theorem1.aggregate_bound_run(
        phi_c, rewards_c, theta0, ETA_MULTIPLIER, NUM_STEPS, step_rule=rule)
# identity check of the derived rescaling invariance: REINFORCE's population direction J(1-J) g
reinforce = simulate(phi, rewards, theta0, ETA_MULTIPLIER, NUM_STEPS, step_rule="theorem1",
                     direction="reinforce", seed=SEED)
rescaled_gap = float((reinforce.log_odds - runs["w = g", "theorem1"].log_odds).abs().max())
frozen = {key: theorem1.frozen_fraction(res) for key, res in runs.items()
          if key[0].startswith("contextual")}

# %%
# margins are unclipped and taken over k >= 1 (at k = 0 the margin is 0 by construction); the
# "moved" columns keep only (run, k) with M(k) > 0, where the bound says something
print(f"{'direction':<22}{'rule':<13}{'median M(K)':>12}{'median J_K':>11}{'frozen':>8}"
      f"{'min margin':>12}{'moved: min margin':>19}{'min gain/(M/2)':>16}")
worst, worst_moved, ratio_moved = math.inf, math.inf, {}
for (label, rule), res in runs.items():
    m = float(res.margin[1:].min())
    moved = res.M[1:] > 1e-9
    m_moved = float(res.margin[1:][moved].min())
    worst, worst_moved = min(worst, m), min(worst_moved, m_moved)
    ratio_moved[label, rule] = float((res.logit_gain[1:][moved] / (res.M[1:][moved] / 2)).min())
    fr = f"{frozen[label, rule][1]:.2f}" if (label, rule) in frozen else "-"
    print(f"{label:<22}{RULE_NAMES[rule]:<13}{float(res.M[-1].median()):>12.3g}"
          f"{float(res.J[-1].median()):>11.3f}{fr:>8}{m:>12.3g}{m_moved:>19.3g}"
          f"{ratio_moved[label, rule]:>16.3f}")
print(f"minimum margin logit J_k - logit J_0 - M(k)/2 over all runs and steps k >= 1: {worst:.3g}; "
      f"over (run, k) with M(k) > 0: {worst_moved:.3g}")
print(f"REINFORCE (pop.) vs w = g, paper constant: max |log-odds difference| = {rescaled_gap:.2g}")
print("contextual, per-prompt reading: fraction of runs with eta_0 = 0 (then frozen for good): "
      + ", ".join(f"{RULE_NAMES[rule]} {frozen['contextual w = g', rule][0]:.2f}"
                  for rule in ("theorem1", "sharp")))

# %%
# NBVAL_CHECK_OUTPUT
assert expect("P2 Theorem 1 margin logit J_k - logit J_0 - M(k)/2, every run and step", worst,
       at_least=-1e-9, why="Theorem 1 is a bound; 1e-9 is float64 round-off of the log-odds")
assert expect("identity check: REINFORCE's population runs are the w = g runs (max |log-odds diff|)",
       rescaled_gap, at_most=1e-9, why="derived: eta_k w_k does not depend on the scale of w; "
       "1e-9 float64 round-off over the run")
assert expect("aggregate reading: fraction of contextual runs frozen at eta_0 = 0",
       [frozen["contextual aggregate", rule][0] for rule in ("theorem1", "sharp")], at_most=0.0,
       why="derived: along w = g_bar the alignment is ||g_bar||^2 > 0")

# %%
display(Markdown(
    f"**[measured]** Over steps $k\\ge1$ the smallest margin of any run is {worst:.3g} (it is $0$ at "
    f"$k=0$ by construction, and stays $0$ while $\\eta=0$: frozen runs and sampled runs whose first "
    f"updates have no positive alignment); over the (run, $k$) with $M(k)>0$ it is "
    f"{worst_moved:.3g}. The worst ratio of the measured gain to the guaranteed $M(k)/2$ is "
    f"{ratio_moved['w = g', 'theorem1']:.3g} for $w=g$ with the "
    f"paper's constant and {ratio_moved['w = g', 'sharp']:.3g} with the sharp one: the paper's constant "
    f"leaves a wide slack, the sharp one brings runs close to the bound. In the per-prompt reading "
    f"{frozen['contextual w = g', 'theorem1'][1]:.0%} of the contextual runs are frozen at "
    f"$\\eta=0$ from step 0 (some prompt has $\\Delta\\mu_q\\le0$) — they satisfy the bound "
    f"trivially and are no evidence; the aggregate reading freezes none, and its median $\\bar J_K$ "
    f"(mean log-odds) ends at {float(runs['contextual aggregate', 'sharp'].J[-1].median()):.3f} with the "
    f"sharp constant and {float(runs['contextual aggregate', 'theorem1'].J[-1].median()):.3f} with "
    f"the paper's."))

# %%
fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
for i, ((label, rule), res) in enumerate(runs.items()):
    M = res.M[-1].flatten().numpy()
    gain = res.logit_gain[-1].flatten().numpy()
    keep = M > 1e-6
    ax[0].scatter(M[keep], gain[keep], s=8, alpha=0.5, color=colors[i // 2 % len(colors)],
                  marker="o" if rule == "theorem1" else "^",
                  label=f"{label}, {'paper' if rule == 'theorem1' else 'sharp'} constant")
grid = np.logspace(-3, 4, 50)
ax[0].plot(grid, grid / 2, "k-", lw=2, label="Theorem 1: gain = M(K)/2")
ax[0].set(xscale="log", yscale="log", xlim=(1e-3, 1e4), ylim=(1e-3, 1e4),
          xlabel="cumulative alignment $M(K)$", ylabel=r"logit $J_K$ - logit $J_0$")
ax[0].legend(fontsize=6, ncol=1, loc="upper left")
res = runs["w = g", "theorem1"]
ks = np.arange(NUM_STEPS + 1)
for b in range(6):
    ax[1].plot(ks, res.logit_gain[:, b, 0], color=colors[b], lw=1.5)
    ax[1].plot(ks, res.M[:, b, 0] / 2, color=colors[b], lw=1, ls="--")
ax[1].set(xlabel="iteration $k$", ylabel=r"logit $J_k$ - logit $J_0$",
          title="6 runs, w = g, paper constant: measured (solid), M(k)/2 (dashed)")
savefig(fig, "theorem1_logit_gain_vs_M", notebook="02_convergence", claim="P2",
        params=dict(SEED=SEED, NUM_INSTANCES=NUM_INSTANCES, NUM_STEPS=NUM_STEPS, DIM=DIM,
                    NUM_RESPONSES=NUM_RESPONSES, GROUP_SIZE=GROUP_SIZE, ETA=ETA_MULTIPLIER),
        caption="Every run lies above the slope-1/2 line of Theorem 1, at every step.")
show(fig)

# %% [markdown]
# *Notice:* every point lies on or above the line $\text{gain}=M(K)/2$; the points of exact
# directions with the sharp constant sit closest to it (the sharp constant is the one that can be
# tight), the paper's constant leaves a large slack.
#
# ## 2b. Negative control: the same check above the bound
#
# A check that cannot fail proves nothing. Run the same single-prompt instances along $w=g$ at
# $\eta_k=c\times$ the per-step bound for $c$ on a log grid from 1 up; above $c=1$ the hypothesis fails
# and the margin may go negative. **Rule fixed in advance:** a run *violates* at $c$ if its margin goes
# below $-10^{-9}$ at any step; the control's multiplier is the first failure of "no run violates"
# on the grid (`thresholds.first_failure`: the end of the first passing block, then the first fail).
# **[derived] Expected:** no violation at $c\le1$ for any constant (Theorem 1); the paper's rule at $c$ is
# the companion rule at $c/11$, so it cannot fail below $c=11$; the sharp constant can be tight, so it
# should fail just above 1.

# %%
controls = {rule: theorem1.negative_control(phi, rewards, theta0, NEG_MULTIPLIERS, NUM_STEPS,
                                            step_rule=rule)
            for rule in ("theorem1", "companion", "sharp")}
grid_t = torch.tensor(NEG_MULTIPLIERS, dtype=torch.float64)

# %%
print(f"fraction of the {NUM_INSTANCES} runs whose margin goes negative, eta_k = c x bound")
print(f"{'c':>8}" + "".join(f"{RULE_NAMES[rule]:>16}" for rule in controls))
for e, c in enumerate(NEG_MULTIPLIERS):
    print(f"{c:>8.3g}" + "".join(f"{float(nc.fraction[e]):>16.2f}" for nc in controls.values()))
for rule, nc in controls.items():
    per_run = nc.per_run.first_fail
    print(f"{RULE_NAMES[rule]:<16} first failure (any run): last pass c = {nc.bracket.last_pass:.3g}, "
          f"first fail c = {nc.bracket.first_fail:.3g}; per run: median first fail "
          f"{float(per_run.nanmedian()):.3g}, {float(nc.per_run.censored.to(torch.float64).mean()):.0%} "
          f"never fail on the grid")

# %%
# NBVAL_CHECK_OUTPUT
for rule, nc in controls.items():
    assert expect(f"negative control, {RULE_NAMES[rule]}: fraction of runs violating at c <= 1",
           nc.fraction[grid_t <= 1], at_most=0.0, why="Theorem 1 (c <= 1 satisfies its hypothesis)")
assert expect("negative control, paper const: fraction of runs violating at c <= 11",
       controls["theorem1"].fraction[grid_t <= 11], at_most=0.0,
       why="derived: c x paper bound = (c/11) x companion bound")
assert expect("negative control, sharp: some run violates somewhere on the grid",
       float(controls["sharp"].fraction.max()), at_least=1.0 / NUM_INSTANCES,
       why="the control must be able to fail: one violating run")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
for i, (rule, nc) in enumerate(controls.items()):
    ax.semilogx(NEG_MULTIPLIERS, nc.fraction.numpy(), "o-", ms=3, color=colors[i],
                label=f"{RULE_NAMES[rule]} (first fail c = {nc.bracket.first_fail:.3g})")
ax.axvline(1, color="k", lw=1, ls=":", label="c = 1: Theorem 1's hypothesis")
ax.axvline(11, color="grey", lw=1, ls="--", label="c = 11: paper rule = companion rule at c = 1")
ax.set(xlabel="step multiplier $c$ ($\\eta_k = c\\times$ per-step bound)",
       ylabel="fraction of runs with a negative margin", ylim=(-0.02, 1))
ax.legend(fontsize=7)
savefig(fig, "theorem1_negative_control", notebook="02_convergence", claim="P2",
        params=dict(SEED=SEED, NUM_INSTANCES=NUM_INSTANCES, NUM_STEPS=NUM_STEPS, DIM=DIM,
                    NUM_RESPONSES=NUM_RESPONSES, MULTIPLIERS=NEG_MULTIPLIERS),
        caption="Above the bound the Theorem 1 check fails: just above c = 1 for the sharp constant, "
                "only two orders of magnitude above it for the paper's.")
show(fig)

# %%
display(Markdown(
    f"**[measured]** The check can fail. With the sharp constant the first violation on the grid is "
    f"at $c={controls['sharp'].bracket.first_fail:.3g}$ (last passing $c="
    f"{controls['sharp'].bracket.last_pass:.3g}$); with the companion constant at "
    f"$c={controls['companion'].bracket.first_fail:.3g}$; with the paper's constant only at "
    f"$c={controls['theorem1'].bracket.first_fail:.3g}$ (last passing $c="
    f"{controls['theorem1'].bracket.last_pass:.3g}$). Runs that never violate are those whose "
    f"log-odds is convex along $g$ (e.g. a single incorrect response): there no step along $g$ "
    f"loses progress."))

# %% [markdown]
# ## 3. Poor alignment stalls
#
# **[paper]** If $M(K)$ stays bounded, Theorem 1 no longer forces $J\to1$, and the success rate can stall.
#
# **[derived] A direction that provably stalls** (`theory.decaying_alignment_ceiling`). Take
# $w_k=\|g_k\|(\cos_k\,\hat g_k+\sin_k\,u_k)$ with $u_k\perp g_k$ and $\cos_k=(k+1)^{-p}$, $p>1/2$, at
# $c$ times Theorem 1's step, $\eta_k=c\,\Delta\mu_k/(C_1\|w_k\|^2)$, $C_1=2(L_o+8G_o^2)$. Then
# 1. $\eta_k\Delta\mu_k=c\,\cos_k^2\|g_k\|^2/C_1\le c\cos_k^2D^2/(16.5D^2)$, so
#    $M(\infty)\le c\,\zeta(2p)/16.5$ ($\|g\|\le D$ since $g=\mathbb E^+\phi-\mathbb E^-\phi$).
# 2. The upper Taylor bound with $|f''|\le(2L_o+G_o^2)\|w\|^2$ gives a per-step gain
#    $\le\eta_k\Delta\mu_k\,(1+c\,\tfrac{2L_o+G_o^2}{2C_1})=(1+\tfrac{c}{22})\,\eta_k\Delta\mu_k$.
# 3. Hence $\operatorname{logit}J_\infty\le\operatorname{logit}J_0+(1+\tfrac{c}{22})\,c\,\zeta(2p)/16.5$: $J$ stalls below 1.
#
# With $w=g$ instead, $\eta_k\Delta\mu_k=\|g_k\|^2/C_1$ does not shrink and $J\to1$.

# %%
stall = simulate(phi, rewards, theta0, ETA_MULTIPLIER, NUM_STEPS, direction="decaying_alignment",
                 alignment_decay=ALIGNMENT_DECAY, step_rule="theorem1", seed=SEED)
aligned = runs["w = g", "theorem1"]
M_cap, gain_cap = theory.decaying_alignment_ceiling(ALIGNMENT_DECAY, ETA_MULTIPLIER)

# %%
print(f"poorly aligned: max M(K) = {float(stall.M[-1].max()):.4f} (bound {M_cap:.4f}); "
      f"max logit gain = {float(stall.logit_gain[-1].max()):.4f} (bound {gain_cap:.4f})")
print(f"median J_K: poorly aligned {float(stall.J[-1].median()):.3f}, w = g "
      f"{float(aligned.J[-1].median()):.3f}, start {float(stall.J[0].median()):.3f}")

# %%
# NBVAL_CHECK_OUTPUT
assert expect("poorly aligned runs: M(K) below its derived cap", stall.M[-1] - M_cap, at_most=1e-12,
       why="the cap is a derived bound on a convergent series; 1e-12 rounding")
assert expect("poorly aligned runs: logit gain below its derived ceiling", stall.logit_gain[-1] - gain_cap,
       at_most=1e-9, why="derived ceiling; 1e-9 float64 round-off of the log-odds")
assert expect("poorly aligned runs: Theorem 1 margin", float(stall.margin.min()), at_least=-1e-9,
       why="Theorem 1 is a bound; 1e-9 float64 round-off")
assert expect("aligned runs end above the poorly aligned ones, every instance",
       bool(torch.all(aligned.log_odds[-1] > stall.log_odds[-1])),
       why="Theorem 1: M(K) grows without bound only for the aligned runs")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
for res, name, c in ((aligned, "w = g", colors[0]), (stall, "cos(w, g) = 1/(k+1)", colors[3])):
    med = res.J[:, :, 0].median(1).values
    lb = theory.lower_bound_success(res.J[0, :, 0], res.M[:, :, 0]).median(1).values
    ax.plot(ks, med, color=c, lw=2, label=f"{name}: measured median J")
    ax.plot(ks, lb, color=c, lw=1.5, ls="--", label=f"{name}: Theorem 1 lower bound (median)")
ax.plot(ks, torch.sigmoid(stall.log_odds[0, :, 0] + gain_cap).median().repeat(len(ks)),
        color=colors[3], ls=":", label="poorly aligned: derived ceiling (median)")
ax.set(xlabel="iteration $k$", ylabel="success rate $J_k$", ylim=(0, 1))
ax.legend(fontsize=7)
savefig(fig, "theorem1_aligned_vs_stalled", notebook="02_convergence", claim="P2",
        params=dict(SEED=SEED, NUM_INSTANCES=NUM_INSTANCES, NUM_STEPS=NUM_STEPS,
                    ALIGNMENT_DECAY=ALIGNMENT_DECAY),
        caption="With bounded M(K) the success rate stalls under a derived ceiling; aligned runs keep climbing.")
show(fig)

# %% [markdown]
# *Notice:* the poorly aligned runs barely move and stay under the derived ceiling, while the
# aligned runs climb above their Theorem 1 lower bound.
# **[measured]** Both halves of the theorem's message show on the same instances and the same
# rule: progress is proportional to accumulated alignment, and without alignment there is none.
#
# ## What we could not reproduce
# The paper's exact definition of $\Delta\mu$ (normalised or not) and how its constants are
# defined are unknown here; we used $\langle w,g\rangle$ with $\|w\|^2$ in the step bound and the
# oracle $g$ for sampled updates (§1's table). With this reading the paper's constant is valid but
# conservative by the factor derived in §1, and the negative control (§2b) shows how much more:
# the check first fails only far above the paper's bound. For several prompts the per-prompt
# reading freezes many runs; the aggregate reading is the companion's, not the paper's.
#
# ## Exercises
# 1. Replace the paper's rule by `step_rule="constant"` with a large step: find an instance where
#    the margin becomes negative. Why does that not contradict Theorem 1?
# 2. Show that for a tabular softmax ($\phi(o)=e_o$) $D=\sqrt2$ and compute both constants.
# 3. Prove that for one incorrect response the log-odds is convex along every line, so any step
#    along an aligned direction makes progress.
# 4. Change `ALIGNMENT_DECAY` to 0.5: what does the bound on $M(\infty)$ become, and what do you see?
#
# <details><summary>Solutions</summary>
#
# 1. The theorem's hypothesis (step at most the bound) is violated; the bound is only sufficient.
# 2. $D=\|e_o-e_{o'}\|=\sqrt2$, $L_o=1/2$, $G_o=\sqrt2$: paper $2(1/2+16)=33$, ours $1+2=3$.
# 3. With one incorrect response $\operatorname{Var}^-(s)=0$, so $f''=\operatorname{Var}^+(s)\ge0$ (log-linear).
# 4. $\sum 1/(k+1)$ diverges: $M$ grows like $\log K/16.5$ and $J$ creeps to 1 — the validation cell
#    refuses $p\le 1/2$ because the derived ceiling no longer exists.
# </details>

# %%
print(versions())
