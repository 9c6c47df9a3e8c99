# %% [markdown]
# # 01 · The Gradient Gap and its identities
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlvr-companion/rlvr-gradient-gap/blob/main/notebooks/01_gradient_gap.ipynb)
#
# Every result of the paper is phrased through one vector, the **Gradient Gap**: the average
# score of the responses that earn the reward minus the average score of those that do not.
# This notebook proves the four identities that tie it to the policy gradient and to the log-odds
# of success, and checks them by exact enumeration, autograd and Monte Carlo on log-linear and
# neural policies. For a practitioner the punchline is the factor $J(1-J)$: the policy gradient
# is the Gradient Gap shrunk by the reward variance, which is why learning stalls on a prompt
# that is almost always solved, or almost never.
#
# **Covers:** claim P1 of the claims registry (`rlvr_core/claims.yaml`, map in notebook 00).
# **Run time (default profile, 2-core laptop): about 10 s.** Labels: **[paper]** the paper's
# claim, **[derived]** proved here, **[measured]** what this notebook's computation shows. Each
# section ends with a folded *Checks and limits* part holding the asserted checks and tables.

# %% tags=["hide-input"]
# Setup. On Colab (or wherever RLVR_INSTALL names a pip source), install the companion first.
import os
import subprocess
import sys

if "google.colab" in sys.modules or os.environ.get("RLVR_INSTALL"):
    source = os.environ.get("RLVR_INSTALL") or "git+https://github.com/rlvr-companion/rlvr-gradient-gap"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"rlvr-core @ {source}"],
                   check=True)
from rlvr_core.notebook.expect import expect
from rlvr_core.notebook.figures import set_style, show
from rlvr_core.notebook.nbutils import versions
from rlvr_core.studies import gradient_gap as study
from rlvr_core.infra.arguments import check_int, check_profile, check_seed
set_style()

# %% tags=["parameters"]
PROFILE = "default"  # "default" (fast) or "full"
SEED = 0             # seeds every random policy, parameter and sample below
MC_SEEDS = 16        # independent Monte-Carlo repetitions per sample size

# %% tags=["hide-input"]
# Validate the parameters (a bad papermill -p value stops here) and derive the sizes.
check_profile(PROFILE)
check_seed("SEED", SEED)
check_int("MC_SEEDS", MC_SEEDS, minimum=2)
S = study.sizes(PROFILE)

# %% [markdown]
# ## 1. The Gradient Gap
#
# **[paper]** For a prompt $q$ and a policy $\pi_\theta(o\mid q)$ with a verifiable reward
# $r(q,o)\in\{0,1\}$, the Gradient Gap is the expected score $\nabla_\theta\log\pi_\theta(o\mid q)$
# over high-reward responses minus that over low-reward responses: the direction that leads from
# the failing region of response space to the succeeding one.
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
# Each side is computed separately: $\mu^\pm$ and $g$ by enumerating every response with scores
# from autograd, $\nabla J$ and $\nabla\operatorname{logit} J$ by differentiating $J$ itself, on four
# policies: a random contextual bandit, the 8-response circle policy of notebook 03, a bandit where
# half of the responses are correct, and a small neural (MLP) policy whose score is not a feature
# difference.

# %%
ids = study.identities(SEED)
print(study.identities_verdict(ids.errors))

# %% [markdown]
# **So.** **[measured]** The identities hold to rounding error on every policy, the neural one
# included — as they must: they use nothing but $\sum_o\pi(o)=1$, so they hold for any
# differentiable policy.
#
# ### Checks and limits

# %% tags=["hide-cell"]
print("max relative error of each identity (float64, exact enumeration vs autograd)")
print(study.error_table(ids.errors))

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
assert expect("P1 identities, every policy: max relative error", ids.errors.to_numpy(), at_most=1e-8,
       why="exact float64 identities: only rounding error is allowed")

# %% [markdown]
# <details><summary>What the table shows</summary>
#
# One row per policy, one column per identity, and a fifth column for step 1 of the proof
# (the score's mean is zero). The tolerance $10^{-8}$ is fixed by the claim, not by the result:
# an exact float64 identity may only differ by rounding.
# </details>
#
# ## 3. Monte-Carlo estimation converges at the $1/\sqrt n$ rate
#
# **[derived]** In practice $g$ is estimated from sampled responses: the mean score of the correct
# samples minus the mean score of the incorrect ones. Each mean is an average of i.i.d. terms with
# finite variance, so by the central limit theorem the error is of order $1/\sqrt{n}$ (a ratio
# estimator, so the rate holds asymptotically, once both groups are non-empty). We measure the
# relative error $\|\hat g_n - g\|/\|g\|$ on the log-linear bandit, root mean square over
# `MC_SEEDS` independent seeds, against $n$.

# %%
mc = study.mc_rate(ids, S.sample_sizes, range(SEED, SEED + MC_SEEDS))
show(study.plot_mc_rate(mc, SEED, MC_SEEDS))

# %% [markdown]
# *Notice:* the single runs (grey) scatter around the mean line, which follows the $1/\sqrt n$
# reference over more than two decades.

# %%
print(study.rate_verdict(mc.slope))

# %% [markdown]
# **So.** **[measured]** The sampled Gradient Gap converges at the central-limit rate; the check
# below asks the fitted slope to be within $0.1$ of $-1/2$.
#
# ### Checks and limits

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
assert expect("P1 Monte-Carlo rate: slope of log error vs log n", mc.slope, reference=-0.5, tol=0.1,
       why="CLT rate n^-1/2; 0.1 allows the finite-sample scatter of an RMS over MC_SEEDS seeds")

# %% [markdown]
# <details><summary>Limits of this check</summary>
#
# The slope is a statistic of sampled runs: its last digit changes with `SEED`, so only the
# claim "within $0.1$ of $-1/2$" is checked, not the printed digits. At the smallest $n$ a group
# can be empty; such runs are left out of the mean (NaN), which is why the rate is asymptotic.
# </details>
#
# ## 4. The policy gradient is the Gradient Gap times the reward variance
#
# **[derived]** Identity (iii), $\|\nabla J\| = J(1-J)\,\|g\|$: the policy gradient vanishes at
# $J\to0$ and $J\to1$ even when the Gradient Gap does not. We sweep the circle policy along
# $\theta = t\,\phi(o^\star)$ (towards the correct response $o^\star$) so that $J$ runs over
# $(0,1)$, and compare $\|\nabla J\|$ (autograd of $J$) with $J(1-J)\|g\|$ (enumeration).

# %%
sweep = study.variance_sweep(ids)
show(study.plot_variance_sweep(sweep, SEED))

# %% [markdown]
# *Notice:* $\|g\|$ stays of order one across the whole range while $\|\nabla J\|$ vanishes at both
# ends; their ratio lies on the parabola $J(1-J)$.

# %%
print(study.sweep_verdict(sweep))

# %% [markdown]
# **So.** **[measured]** A prompt that is almost always or almost never solved gives almost no
# policy gradient, although its Gradient Gap is as large as anywhere: the factor $J(1-J)$ alone
# does it.
#
# ### Checks and limits

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
assert expect("‖∇J‖/‖g‖ = J(1-J) along the sweep: max error", sweep.ratio_err, at_most=1e-8,
       why="exact float64 identity: only rounding error is allowed")

# %% [markdown]
# <details><summary>Limits of this check</summary>
#
# One line through one policy: the check confirms identity (iii) numerically along the sweep,
# and §2 confirms it at one point of each of four policies; the proof covers every policy.
# </details>
#
# ## 5. The curvature of the log-odds along a direction
#
# **[derived]** For a direction $w$, write $s(o)=\langle w,\nabla\log\pi(o)\rangle$ and
# $h(o)=w^\top\nabla^2\log\pi(o)\,w$, and $\mathbb E^\pm,\operatorname{Var}^\pm$ for the laws of $o$
# given $r=1$ and $r=0$. Then
# $$
# \frac{d^2}{dt^2}\operatorname{logit}J(\theta+tw)\Big|_{t=0} = \operatorname{Var}^+(s)-\operatorname{Var}^-(s)+\mathbb E^+[h]-\mathbb E^-[h].
# $$
# This is the lever for every step-size threshold in notebooks 02–05: a step $\eta w$ raises the
# log-odds by $\eta\langle w,g\rangle$ to first order and the curvature decides whether the
# second-order term can undo it. The figure compares the identity with finite differences of the
# log-odds along one line of the circle policy.

# %%
path = study.curvature_path(ids)
show(study.plot_curvature_path(path))

# %% [markdown]
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
# **[derived] Why the curvature is negative on this line.** With a single correct response
# $\operatorname{Var}^+(s)=0$, and for a log-linear policy $h(o)$ is the same for every $o$, so the
# curvature is $-\operatorname{Var}^-(s)\le0$: the log-odds is concave, the first-order gain
# $\eta\langle w,g\rangle$ is an upper bound, and a long step can only do worse than it promises.
# With several correct responses $\operatorname{Var}^+(s)>0$ and the curvature can take either sign.

# %%
curv = study.curvature(ids, SEED)
print(study.concavity_verdict(path))
print(study.curvature_verdict(curv))

# %% [markdown]
# **So.** **[measured]** The identity agrees with two independent computations of the second
# derivative on all four policies — autograd to rounding error, finite differences to their
# truncation error — and the one-correct-response line is concave, as derived.
#
# ### Checks and limits

# %% tags=["hide-cell"]
print("relative error of the curvature identity against two independent computations")
print(study.error_table(curv))

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
assert expect("curvature identity vs autograd Hessian, every policy", curv["identity vs autograd"],
       at_most=1e-8, why="exact float64 identity: only rounding error is allowed")
assert expect("curvature identity vs central finite differences: error / Richardson estimate, every policy",
       curv["finite diff error / its estimate"], at_most=2.0,
       why="O(h^2) truncation estimated by |D(2h) - D(h)|/3 plus float64 round-off (derived)")

# %% [markdown]
# <details><summary>[derived] Why this tolerance for the finite difference</summary>
#
# The right-hand side (enumeration) is compared with forward-mode autograd twice, and with a
# central finite difference $D(h)$, $h=10^{-3}$, along a random direction per policy.
# $D(h) = f'' + c\,h^2 + O(h^4)$, so $D(2h) - D(h) \approx 3c\,h^2$: the truncation error of $D(h)$
# is estimated by $|D(2h)-D(h)|/3$ (Richardson), on the policy itself, and float64 round-off adds
# about $4\varepsilon\,|\operatorname{logit}J|/h^2$. The check allows twice that estimate (the
# $O(h^4)$ remainder and the maximum over prompts); a fixed tolerance would depend on the policy's
# fourth derivative, which changes with the seed.
# </details>
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
# 1. None of the checked lines should change: they report whether errors are below fixed tolerances
#    and whether a slope is within $0.1$ of $-1/2$; the underlying random policies and samples, and
#    the unchecked printed numbers, do change.
# 2. $\nabla_{\theta_o}\log\pi(o')=\mathbf 1[o=o']-\pi(o)$; average over correct $o'$ (weights $\pi(o')/J$) and
#    incorrect $o'$ and subtract: the $-\pi(o)$ terms cancel.
# 3. $\sum_o r\nabla\pi = \sum_o r\pi\nabla\log\pi = J\mu^+$, and $\mu^+ = \mu^+ - (J\mu^+ + (1-J)\mu^-) = (1-J)g$.
# 4. $\nabla^2\log\pi(o) = -\operatorname{Cov}_\pi(\phi)$ for every $o$; use `LogLinearPolicy.log_prob_hessian_closed_form`.
# 5. Try it with `rlvr_core.paper.gap.mc_policy_gradient` and `mc_gap`; near $J=1$ the incorrect group is small and
#    $\hat g$ is noisy, but the factor $\hat J(1-\hat J)$ is small too.
# </details>

# %%
print(versions())
