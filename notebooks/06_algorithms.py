# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · REINFORCE, GRPO, Dr. GRPO and DAPO as update directions
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlvr-companion/rlvr-gradient-gap/blob/main/notebooks/06_algorithms.ipynb)
#
# Every policy-gradient method is an iteration $\theta_{k+1}=\theta_k+\eta w_k$; the algorithms differ
# only in the direction $w_k$. This notebook writes REINFORCE, GRPO (with and without the std
# factor $1/\sigma$ and the length factor $1/|o|$), Dr. GRPO and DAPO-style token normalisation as
# directions, derives their population (exact-baseline) forms through the Gradient Gap, measures
# how well their sampled updates align with the Gradient Gap, how large a step each one actually
# takes for the same learning rate, and which one collapses first when the learning rate is raised.
# For a practitioner: "the same learning rate" means very different steps across these algorithms,
# and the safe learning rate of one does not transfer to another.
#
# **Covers:** claim P7 of the claims registry (`rlvr_core/claims.yaml`, map in notebook 00). **Run time (default profile, 2-core laptop): about 20 s.**
# Statements are labelled **[paper]**, **[derived]** or **[measured]**.

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
import pandas as pd
import torch
from IPython.display import Markdown, display

from rlvr_core.infra.cache import cached
from rlvr_core.notebook.expect import expect
from rlvr_core.paper.directions import ALGORITHM_LABELS, ALGORITHMS, population_direction
from rlvr_core.notebook.figures import savefig, set_style, show
from rlvr_core.notebook.nbutils import versions
from rlvr_core.tokens import (check_start_success, circle_token_features, direction_statistics,
                              model_gap, model_success, start_theta, sweep_answer_last)
from rlvr_core.stats.thresholds import first_failure
from rlvr_core.infra.arguments import check_grid, check_int, check_probability, check_profile, check_seed

set_style()

# %% tags=["parameters"]
PROFILE = "default"  # "default" (fast) or "full"
SEED = 0             # seeds every sampled group
J0 = 0.2             # starting success rate
MAX_LENGTH = 32      # responses have lengths uniform on 1..MAX_LENGTH (section 2, 3)
FIXED_LENGTH = 8     # the fixed length of section 1
GROUP_SIZE = 8       # G responses per step
VOCAB = 8            # tokens on the circle
LEVEL = 0.8          # eta*: the largest eta whose runs end, on average, at J >= LEVEL

# %%
# Validate the parameters (a bad papermill -p value stops here) and derive the sizes.
check_profile(PROFILE)
check_seed("SEED", SEED)
check_probability("LEVEL", LEVEL)
check_int("MAX_LENGTH", MAX_LENGTH, minimum=1)
check_int("FIXED_LENGTH", FIXED_LENGTH, minimum=1)
check_int("GROUP_SIZE", GROUP_SIZE, minimum=2)
check_int("VOCAB", VOCAB, minimum=2)
check_start_success("J0", J0, VOCAB)
GROUPS = 20000 if PROFILE == "default" else 200000   # Monte-Carlo groups per direction estimate
SEEDS = 16 if PROFILE == "default" else 64
STEPS = 300
ETAS = check_grid("ETAS", [0.05 * 2 ** (k / 2) for k in range(31)])
PHI = circle_token_features(VOCAB)
THETA0 = start_theta(PHI, J0)

# %% [markdown]
# ## 1. Population directions
#
# **[paper]** GRPO's population direction is
# $w_{\rm GRPO}=\mathbb E_{q,o}\bigl[\tfrac{A(q,o)}{\sigma(q)}\,\tfrac1{|o|}\,\nabla\log\pi(o\mid q)\bigr]$ with a
# group-centred advantage $A$ and $\sigma(q)=\sqrt{J_q(1-J_q)}$; Dr. GRPO drops $1/|o|$ and $1/\sigma$
# (replacing $1/|o|$ by a constant $1/L_{\max}$); the paper reads each through its theory.
#
# **[derived]** Per prompt, exact baseline $J$, fixed length $T$, using $\mathbb E[(r-J)s]=\nabla J=J(1-J)g$:
# $$
# w_{\rm REINFORCE}=J(1-J)\,g,\quad w_{\rm GRPO\,w/o\,1/|o|}=\sqrt{J(1-J)}\,g,\quad
# w_{\rm GRPO}=w_{\rm DAPO}=\frac{\sqrt{J(1-J)}}{T}\,g,\quad w_{\rm GRPO\,w/o\,std}=\frac{J(1-J)}{T}g,\quad
# w_{\rm Dr.GRPO}=\frac{J(1-J)}{L_{\max}}\,g .
# $$
# All are positive multiples of $g$: **alignment $\cos(w,g)=1$ for every algorithm**; they differ only
# in length — the effective step $\eta\,\alpha$ along $g$. With a finite group and the group mean as
# baseline, the sampled no-std directions have mean $\frac{G-1}{G}$ times these (the mean includes the
# response itself); the std-normalised ones have no closed form at finite $G$.
#
# **Check:** the average of `GROUPS` sampled directions at fixed length `FIXED_LENGTH` against the
# population formula (no-std algorithms: must agree within 5 Monte-Carlo standard errors).

# %%
stats_fixed = direction_statistics(PHI, THETA0, FIXED_LENGTH, GROUP_SIZE, GROUPS, seed=SEED)
J_start = float(model_success(PHI, THETA0, 1))
g0 = model_gap(PHI, THETA0, 1)

# %%
rows, z_scores = [], {}
for alg in ALGORITHMS:
    pop = population_direction(alg, torch.tensor(J_start), g0, length=FIXED_LENGTH,
                               max_length=FIXED_LENGTH)
    pop_factor = float(pop @ g0 / (g0 @ g0))
    st = stats_fixed[alg]
    rows.append({"algorithm": ALGORITHM_LABELS[alg], "std": ALGORITHMS[alg][0], "length weight": ALGORITHMS[alg][1],
                 "population factor": pop_factor, "sampled mean factor": st["eff"],
                 "ratio": st["eff"] / pop_factor, "cos(E w, g)": st["cos_mean"]})
    if not ALGORITHMS[alg][0]:  # no std: E w = (G-1)/G * population, exactly [derived]
        expected = (GROUP_SIZE - 1) / GROUP_SIZE * pop.numpy()
        z_scores[alg] = np.abs(st["mean"] - expected) / st["se"]
print(pd.DataFrame(rows).round(3).to_string(index=False))
print(f"(G-1)/G = {(GROUP_SIZE - 1) / GROUP_SIZE:.3f}")

# %%
# NBVAL_CHECK_OUTPUT
for alg, z in z_scores.items():
    assert expect(f"{ALGORITHM_LABELS[alg]}: |sampled mean of w - (G-1)/G x population direction| in standard errors",
           z, at_most=5.0, why="derived E w = (G-1)/G w_pop; 5 SE of the Monte-Carlo mean")

# %% [markdown]
# **[measured]** The no-std algorithms match $\frac{G-1}{G}\times$ the population formula; the
# std-normalised ones come out at a different fixed ratio (the sample std of a group of 8 is not
# $\sqrt{J(1-J)}$, and groups with no spread contribute 0). The mean directions are aligned with $g$
# up to Monte-Carlo noise, as derived.
#
# ## 2. Realised alignment and effective step with variable lengths
#
# **[derived]** With lengths that differ within a group (here uniform on $1..L_{\max}$, independent
# of $\theta$ — the length plays the role of a context), the length weights differ: GRPO weights
# each response by $1/|o_i|$, DAPO by $1/\bar{|o|}$ of the group, Dr. GRPO by $1/L_{\max}$. The
# realised update $w_k$ also carries the free tokens' scores (notebook 04), which are orthogonal to
# $g$ on average, so $\cos(w_k,g)$ of a single update is well below 1. Theorem 1 reads a step as
# progress $\eta[\langle w_k,g\rangle]_+$ against a cost $\propto\eta^2\|w_k\|^2$ (notebook 05's cap),
# so the learning rate at which an algorithm collapses should scale like
# $\mathbb E\langle w,g\rangle/\mathbb E\|w\|^2$ — the algorithm with the largest
# $\mathbb E\|w\|^2$ per unit of progress collapses first.

# %%
stats_var = direction_statistics(PHI, THETA0, MAX_LENGTH, GROUP_SIZE, GROUPS, seed=SEED,
                                 length_mode="uniform")

# %% [markdown]
# ## 3. Which collapses first at the same $\eta$
#
# **Criterion, fixed before measuring:** a step $\eta$ of the grid $0.05\cdot2^{k/2}$ *passes* when its
# `SEEDS` runs (answer-last model, lengths uniform on $1..L_{\max}$, $J_0$, `STEPS` steps) end at a
# mean $J\ge$ `LEVEL`; $\eta^*$ is the end of the first block of passing steps
# (`thresholds.first_failure`), counted from the smallest passing step — smaller steps fail by
# slowness (too few steps to reach `LEVEL`), not by collapse, and are left out of the grid. **Prediction [derived, §2]:** $\eta^*$ ranks the algorithms like the
# Theorem-1 step scale $\eta_{\rm pred}=\mathbb E\langle w,g\rangle/\mathbb E\|w\|^2$ measured at the start.

# %%
params = {"J0": J0, "Lmax": MAX_LENGTH, "G": GROUP_SIZE, "V": VOCAB, "etas": ETAS, "seeds": SEEDS,
          "steps": STEPS, "seed": SEED}
finals = cached("algorithms_collapse_sweep", params, lambda: {
    alg: sweep_answer_last(PHI, J0, MAX_LENGTH, ETAS, SEEDS, algorithm=alg, group_size=GROUP_SIZE,
                           steps=STEPS, seed=SEED, length_mode="uniform")[..., -1].numpy()
    for alg in ALGORITHMS})
brackets = {}
for alg in ALGORITHMS:
    passes = torch.as_tensor(finals[alg]).mean(-1) >= LEVEL
    start = int(passes.to(torch.int64).argmax()) if bool(passes.any()) else len(ETAS) - 1
    brackets[alg] = first_failure(passes[start:], ETAS[start:], name="ETAS")
eta_star = {alg: b.last_pass for alg, b in brackets.items()}

# %%
summary = pd.DataFrame([{
    "algorithm": ALGORITHM_LABELS[alg],
    "1/std": "yes" if ALGORITHMS[alg][0] else "no",
    "length weight": {"none": "1", "per_response": "1/|o_i|", "constant": "1/L_max",
                      "token_mean": "1/mean|o|"}[ALGORITHMS[alg][1]],
    "eff. step per eta": stats_var[alg]["eff"],
    "cos(w_k, g)": stats_var[alg]["cos_realised"],
    "E|w|^2": stats_var[alg]["m2"],
    "eta_pred": stats_var[alg]["eff"] * float(g0 @ g0) / stats_var[alg]["m2"],
    "eta_base": 1 / math.sqrt(stats_var[alg]["m2"]),
    "eta* measured": eta_star[alg]} for alg in ALGORITHMS])
summary["eta*/eta_pred"] = summary["eta* measured"] / summary["eta_pred"]
summary["eta*/eta_base"] = summary["eta* measured"] / summary["eta_base"]
print(summary.round(3).to_string(index=False))
rank_meas = summary["eta* measured"].rank().to_numpy()
predictors = {"theory E<w,g>/E|w|^2": ("eta_pred", "eta*/eta_pred"),
              "baseline 1/RMS|w|": ("eta_base", "eta*/eta_base")}
comparison = {}
for name, (col, ratio_col) in predictors.items():
    rho = float(np.corrcoef(summary[col].rank().to_numpy(), rank_meas)[0, 1])
    spread = float(summary[ratio_col].max() / summary[ratio_col].min())
    comparison[name] = (rho, spread)
    print(f"{name:<22} rank correlation with eta*: {rho:5.2f}   spread of eta*/prediction "
          f"(max/min): {spread:5.2f}")
spearman = comparison["theory E<w,g>/E|w|^2"][0]
first = summary.loc[summary["eta* measured"].idxmin(), "algorithm"]
eta_span = float(summary["eta* measured"].max() / summary["eta* measured"].min())
print(f"collapses first (smallest eta*): {first}; eta* spans a factor {eta_span:.3g}")
print("brackets (last pass, first fail): " + "; ".join(
    f"{ALGORITHM_LABELS[alg]} ({b.last_pass:.3g}, {b.first_fail:.3g})" for alg, b in brackets.items()))

# %%
# NBVAL_CHECK_OUTPUT
# the algorithm predicted to collapse first does; the two rankings agree overall
assert expect("P7 the algorithm with the smallest predicted eta collapses first",
       bool(first == summary.loc[summary["eta_pred"].idxmin(), "algorithm"]),
       why="prediction from E<w,g>/E|w|^2, measured before the sweep")
assert expect("P7 rank correlation of measured eta* with the predicted eta", spearman, at_least=0.8,
       why="criterion fixed before the sweep")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for alg in ALGORITHMS:
    axes[0].semilogx(ETAS, finals[alg].mean(-1), "o-", ms=3, label=ALGORITHM_LABELS[alg])
axes[0].axhline(LEVEL, color="k", lw=0.7, ls=":")
axes[0].set(xlabel="step size $\\eta$", ylabel=f"mean $J$ after {STEPS} steps",
            title=f"same $\\eta$, six directions ($|o|\\sim U\\{{1..{MAX_LENGTH}\\}}$)")
axes[0].legend(fontsize=7)
ax = axes[1]
ax.loglog(summary["eta_pred"], summary["eta* measured"], "o", label="theory $\\eta_{\\rm pred}$")
ax.loglog(summary["eta_base"], summary["eta* measured"], "s", mfc="none",
          label="baseline $1/\\sqrt{\\mathbb{E}\\|w\\|^2}$ (x-axis for these)")
for _, row in summary.iterrows():
    ax.annotate(row["algorithm"], (row["eta_pred"], row["eta* measured"]), fontsize=7)
lim = np.array([summary["eta_pred"].min() / 2, summary["eta_pred"].max() * 2])
ax.loglog(lim, lim * float(np.exp(np.log(summary["eta*/eta_pred"]).mean())), "k--",
          label="$\\eta^*\\propto\\eta_{\\rm pred}$ (derived shape)")
ax.set(xlabel="predicted step scale at the start (theory: dots; baseline: squares)",
       ylabel="measured $\\eta^*$", title="threshold vs Theorem-1 step scale and a baseline")
ax.legend(fontsize=8)
savefig(fig, "algorithms_collapse_threshold", notebook="06_algorithms", claim="P7", params=params,
        caption="Final J vs eta for six directions, and measured eta* against the Theorem-1 step scale "
                "and the baseline 1/RMS|w|.")
show(fig)

# %%
(rho_t, spread_t), (rho_b, spread_b) = comparison.values()
verdict = ("the theory's predictor adds nothing over the baseline here: the algorithms differ mostly "
           "by a scalar scale of $w$, and the size of the update alone already ranks them"
           if spread_t >= spread_b and rho_t <= rho_b else
           "the theory's predictor does better than the baseline on "
           + " and ".join(n for n, better in (("rank", rho_t > rho_b), ("spread", spread_t < spread_b))
                          if better))
display(Markdown(
    f"*Notice:* the curves are shifted copies of each other along the $\\eta$ axis. "
    f"**[measured]** $\\eta^*$ spans a factor {eta_span:.3g} across the six directions; the ratio "
    f"$\\eta^*/\\eta_{{\\rm pred}}$ of the theory's step scale "
    f"$\\mathbb E\\langle w,g\\rangle/\\mathbb E\\|w\\|^2$ stays within a factor {spread_t:.3g} (rank "
    f"correlation {rho_t:.2f}); a plain baseline that ignores the alignment, "
    f"$1/\\sqrt{{\\mathbb E\\|w\\|^2}}$ (the step that moves $\\theta$ by a fixed RMS distance), has "
    f"ratio spread {spread_b:.3g} and rank correlation {rho_b:.2f}: {verdict}. Both predictors are "
    f"measured at the start only, from {GROUPS} sampled groups; the ranks rest on {len(summary)} "
    f"algorithms and a grid of step $\\sqrt2$, so differences within one grid step are not resolved."))

# %% [markdown]
# **[measured]** (table above) Every direction is aligned with $g$ on average, but a single sampled
# update has $\cos(w_k,g)$ far below 1 because it carries the free tokens' scores. The $1/\sigma$
# factor is one number per group: it changes the length of $w_k$, never its direction, so algorithms
# with the same length weight have the same realised alignment. Without any length
# weight (REINFORCE, GRPO w/o $1/|o|$) the same $\eta$ is a step $\sim L_{\max}$ times larger and these
# collapse first; the $1/\sigma$ factor makes GRPO's step larger than its no-std version at this $J_0$.
# GRPO and DAPO differ only through how they weight short and long responses and end up close.
#
# ## Exercises
#
# 1. Derive $\mathbb E[w_{\rm REINFORCE}]=\frac{G-1}{G}J(1-J)g$ for the group-mean baseline.
#    <details><summary>Solution</summary>$A_i=r_i-\frac1G\sum_j r_j$; the $j\ne i$ terms are
#    independent of $s_i$ and vanish in expectation since $\mathbb E s_i=0$; the $j=i$ term leaves
#    $(1-\frac1G)\mathbb E[r_is_i]=\frac{G-1}{G}\nabla J$.</details>
# 2. Change `MAX_LENGTH` to 8. Which algorithms' $\eta^*$ move, and by how much?
#    <details><summary>Solution</summary>Those without a length weight see their sampled update
#    shrink (fewer free tokens), so their $\eta^*$ rises; the normalised ones change less.</details>
# 3. Why is DAPO's direction equal to GRPO's when all responses have the same length?
#    <details><summary>Solution</summary>Then $1/|o_i|=1/\overline{|o|}$ for every $i$.</details>
# 4. Make the lengths depend on $\theta$ (e.g. an end-of-sequence token). Which term appears in the
#    gradient that the length-independent model lacks? <details><summary>Solution</summary>The score
#    of the length itself; $1/|o|$ then biases the direction towards long failed and short correct
#    responses — the length blow-up practitioners report.</details>

# %%
print(versions())
