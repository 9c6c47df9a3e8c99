# %% [markdown]
# # 00 · Overview: the Gradient Gap and step-size thresholds of RLVR
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlvr-companion/rlvr-gradient-gap/blob/main/notebooks/00_overview.ipynb)
#
# A reading guide to the companion of *"On the optimization dynamics of RLVR: Gradient gap and
# step size thresholds"* (Joe Suk and Yaqi Duan, arXiv 2510.08539): the paper in one page, in our
# own words, and the map from each of its claims to the notebook that proves and measures it.
# **Run time (default profile, 2-core laptop): a few seconds.**

# %% tags=["hide-input"]
# Setup. On Colab (or wherever RLVR_INSTALL names a pip source), install the companion first.
import os
import subprocess
import sys

if "google.colab" in sys.modules or os.environ.get("RLVR_INSTALL"):
    source = os.environ.get("RLVR_INSTALL") or "git+https://github.com/rlvr-companion/rlvr-gradient-gap"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"rlvr-core @ {source}"],
                   check=True)
import pandas as pd
from IPython.display import display_markdown
from rlvr_core.notebook.claims import claims_markdown_table, figure_table
from rlvr_core.notebook.nbutils import versions
from rlvr_core.infra.arguments import check_profile

# %% tags=["parameters"]
PROFILE = "default"  # "default" or "full" (this notebook does the same in both)

# %% tags=["hide-input"]
# Validate the parameter (a bad papermill -p value stops here); nothing here depends on its size.
_ = check_profile(PROFILE)

# %% [markdown]
# ## How to read the labels
#
# The paper's pages could be read only in part (abstract, section titles, main formulas), and no code
# was released with it. So every statement in these notebooks carries one label:
#
# - **[paper]** — what the paper claims, reported in our words;
# - **[derived]** — a statement this companion proves itself, with the proof in the notebook;
# - **[measured]** — what the companion's own computation shows, with the code that produced it.
#
# Where the paper's exact constant or setting is unknown, the notebook says so and uses its own.
#
# ## The paper in one page
#
# **[paper] Setting.** Reinforcement learning with verifiable rewards (RLVR) trains a language model
# $\pi_\theta(o\mid q)$ on prompts $q$ whose responses $o$ are checked automatically: the reward is
# $r(q,o)\in\{0,1\}$. The quantity to raise is the success probability
# $J_q(\theta)=\Pr[r=1]$. Every policy-gradient method — REINFORCE, GRPO, Dr. GRPO, DAPO — is an
# iteration $\theta_{k+1}=\theta_k+\eta_k w_k$ with a step size $\eta_k$ and an update direction $w_k$.
#
# **[paper] The Gradient Gap.** The average score $\nabla\log\pi$ of the successful responses minus
# the average score of the failed ones. **[derived]** It is the gradient of the log-odds of success,
# $g=\nabla\log\frac{J}{1-J}$, and the policy gradient is $\nabla J=J(1-J)\,g$ (notebook 01).
#
# **[paper] Convergence below a threshold (Theorem 1).** If each step is small compared with how
# well the update aligns with the Gradient Gap — $\eta_k$ at most the alignment divided by
# $2(L_o+8G_o^2)$, where $L_o$ and $G_o$ bound the curvature and size of $\log\pi$ — then the
# log-odds of success grow by at least half the accumulated alignment $M(K)$; success tends to 1
# when $M(K)\to\infty$ and can stall when the alignment runs out (notebook 02).
#
# **[paper] Collapse above it (Theorem 2).** There are instances where a step size a constant factor
# larger makes the success rate fall at every iteration, even with the update perfectly aligned:
# the threshold is sharp (notebook 03).
#
# **[paper] Token level (Theorem 3).** For responses of $T$ tokens the admissible step shrinks with
# the length $T$ and with the failure rate $1-J$. Dividing each response's score by its length — as
# the original GRPO does — removes the $T$ factor; with a fixed learning rate the success rate can
# stagnate strictly below 100% (notebooks 04 and 05). GRPO, Dr. GRPO and DAPO differ in how they
# scale the update, which the theory reads as different effective step sizes (notebook 06).
#
# **[paper] Experiments.** Bandit simulations and GRPO training of Qwen2.5(-Math)-7B showing
# collapse above a learning-rate threshold and stagnation below 100%. We redo them offline on
# bandits, token-level models and small language models trained with TRL (notebook 07).
#
# ## Map: claim → notebook → figures
#
# The claims P1–P8 are defined in the companion's claims registry, `rlvr_core/claims.yaml`: for
# each, the paper's statement in our words, the notebook that derives and measures it, its figures,
# and whether the notebook reproduced it, with one line on what it measured. The first table is
# rendered from the registry; the second lists every figure with the caption that
# `figures/manifest.json` recorded when the figure was saved (a figure saved but not yet in the
# registry is listed too).

# %%
display_markdown(claims_markdown_table(link_prefix=""), raw=True)  # the registry's own table
pd.set_option("display.max_colwidth", 90)
figure_table()

# %% [markdown]
# ## How to run
#
# ```bash
# make figures            # re-execute every notebook (default profile), regenerate every figure
# make test               # unit tests + nbval: re-run the notebooks and compare their checked outputs
# make figures PROFILE=full NB=03_collapse_threshold   # one notebook, larger grids
# ```
# Both commands create `.venv` and install the pinned requirements the first time. Each notebook
# has a `parameters` cell (papermill) with small defaults; the exercises at the end of each notebook
# use the same knobs.
#
# ## Exercises
#
# 1. Before opening notebook 01, guess the value of $\nabla J$ when $J=1/2$ and $\|g\|=1$.
# 2. Which of the paper's claims would you expect to survive an Adam optimiser, and which not? Keep
#    your answer and compare with notebook 07.
# 3. Find the claim in the map whose notebook you find least convincing, and write down what
#    experiment would convince you.
#
# <details><summary>Solutions</summary>
#
# 1. $\|\nabla J\| = J(1-J)\|g\| = 1/4$.
# 2. Adam rescales each coordinate by a running RMS of its gradient, so a constant factor on the loss
#    (length normalisation at fixed length, the $J(1-J)$ factor) barely changes the step; the
#    thresholds of the theorems are about the raw step $\eta w$ (notebook 07, §1 and §6).
# 3. Open-ended.
# </details>

# %%
print(versions())
