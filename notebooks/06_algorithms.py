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
# directions, derives their population (exact-baseline) forms through the Gradient Gap, and measures
# which one collapses first when the learning rate is raised, against the step scale that Theorem 1
# predicts and against a plain baseline.
# For a practitioner: "the same learning rate" means very different steps across these algorithms,
# and the safe learning rate of one does not transfer to another.
#
# **Covers:** claim P7 of the claims registry (`rlvr_core/claims.yaml`, map in notebook 00).
# **Run time (default profile, 2-core laptop): about 20 s.** Statements are labelled **[paper]**, **[derived]** or **[measured]**.

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
from rlvr_core.paper.directions import ALGORITHM_LABELS
from rlvr_core.notebook.figures import set_style
from rlvr_core.notebook.nbutils import versions
from rlvr_core.studies import algorithms as study
set_style()

# %% tags=["parameters"]
PROFILE = "default"  # "default" (fast) or "full"
SEED = 0             # seeds every sampled group
J0 = 0.2             # starting success rate
MAX_LENGTH = 32      # responses have lengths uniform on 1..MAX_LENGTH (section 2)
FIXED_LENGTH = 8     # the fixed length of section 1
GROUP_SIZE = 8       # G responses per step
VOCAB = 8            # tokens on the circle

# %% tags=["hide-input"]
# Validate the parameters (a bad papermill -p value stops here), the features, the sizes.
study.check_profile(PROFILE)
PHI, THETA0 = study.check_parameters(SEED, J0, None, MAX_LENGTH, FIXED_LENGTH, GROUP_SIZE, VOCAB)
S = study.sizes(PROFILE)

# %% [markdown]
# ## 1. Population directions are all multiples of the Gradient Gap
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
# All are positive multiples of $g$: **alignment $\cos(w,g)=1$ for every algorithm**; they differ
# only in length, the effective step $\eta\,\alpha$ along $g$. With a finite group and the group
# mean as baseline, the sampled no-std directions have mean $\frac{G-1}{G}$ times these (the mean
# includes the response itself, Exercise 1); the std-normalised ones have no closed form at finite
# $G$. We average `S.groups` sampled directions at the fixed length `FIXED_LENGTH`.

# %%
pop = study.population_check(PHI, THETA0, FIXED_LENGTH, GROUP_SIZE, S, SEED)
print(study.population_verdict(pop))

# %% [markdown]
# **So.** **[measured]** The no-std algorithms match $\frac{G-1}{G}\times$ the population formula
# within Monte-Carlo error; the std-normalised ones come out at a different fixed ratio (the sample
# std of a group of 8 is not $\sqrt{J(1-J)}$, and groups with no spread contribute 0). Every mean
# direction points along $g$, as derived.
#
# ### Checks and limits

# %% tags=["hide-cell"]
print(study.population_table(pop))
z_scores = pop["z"]

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
for alg, z in z_scores.items():
    assert expect(ALGORITHM_LABELS[alg] + ": |sampled mean of w - (G-1)/G x population direction| in standard errors",
           z, at_most=5.0, why="derived E w = (G-1)/G w_pop; 5 SE of the Monte-Carlo mean")

# %% [markdown]
# ## 2. Which collapses first, and directions that are not multiples of $g$
#
# **[paper]** Any policy-gradient algorithm is $\theta_{k+1}=\theta_k+\eta w_k$; the theory reads a
# step through the alignment of $w_k$ with the Gradient Gap.
#
# **[derived]** The six directions of Section 1 are positive multiples of $g$ in population, so a
# predictor built on the alignment cannot beat one built on the size of $w$ alone. We therefore
# add updates whose effective direction $w_k=(\theta_{k+1}-\theta_k)/\eta$ is **not** a multiple of
# $g$ (all on GRPO's advantages and $1/|o|$; `rlvr_core.simulators.off_policy`):
# PPO-clip with 4 epochs on one batch (token ratio $\pi_\theta/\pi_{\rm old}$ clipped at $1\pm0.2$),
# a KL penalty $-\beta\nabla{\rm KL}(\pi_\theta\|\pi_{\rm start})$ ($\beta$ = 0.04 and 0.4), and a batch
# drawn 4 steps earlier, with or without the per-token importance ratio. Theorem 1 reads a step as
#
# 1. progress $\eta\,[\langle w_k,g\rangle]_+$ against
# 2. a cost $\propto\eta^2\|w_k\|^2$ (notebook 05's cap), so
# 3. the step at which a direction collapses should scale like $\mathbb E\langle w,g\rangle/\mathbb E\|w\|^2$;
#    the baseline that ignores the alignment is $1/\sqrt{\mathbb E\|w\|^2}$.
#
# The new directions depend on $\eta$ and on the path (at the start, with $\eta\to0$, each equals
# GRPO's), so both predictors are measured on the runs themselves, over their first `study.WINDOW`
# steps, **at each direction's own last passing step** (the update as it is taken at the edge).
#
# **Criterion (the companion's one rule, `rlvr_core.stats.thresholds`, as in notebook 04):** a run
# passes when it ends at $J_K\ge J_0$; a step $\eta$ of the grid $0.05\cdot2^{k/2}$ passes when the
# majority of its `S.seeds` runs pass; $\eta^*$ is the first-failure bracket (its geometric mean;
# CI: bootstrap over seeds). Score: each predictor's rank correlation with $\eta^*$ over all
# directions, with a seed-bootstrap CI; the theory wins only if the CI of the difference excludes 0.

# %%
sweep = study.direction_sweep(PHI, J0, MAX_LENGTH, GROUP_SIZE, S, SEED, progress=study.progress)
ds = study.direction_summary(sweep, seed=SEED)
print(study.direction_table(ds))

# %%
fig = study.plot_directions(ds)
study.show(fig, "algorithms_collapse_threshold", claim="P7", params=sweep["params"],
           caption="Measured eta* (majority of seeds end at J >= J0; seed-bootstrap CI) against "
                   "E<w,g>/E|w|^2 and 1/RMS|w| of the update at the edge, for eleven directions.")

# %%
print(study.direction_verdict(ds))

# %% [markdown]
# **So.** **[measured]** The printed verdict says which predictor ranks the thresholds better once
# the alignment really differs across directions; the table shows how far each new direction's
# $\cos(w,g)$ moves from GRPO's.
#
# ### Checks and limits

# %% tags=["hide-cell"]
fig = study.plot_transition(ds, S.etas)
study.show(fig, "algorithms_transition_width", claim="P7", params=sweep["params"],
           caption="Fraction of seeds whose run ends at J >= J0 against eta/eta*, every direction.")
print(study.transition_verdict(ds))
print(study.contrast_verdict(study.alignment_contrast(sweep)))

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
assert expect("P7 the theory's predictor and the baseline both rank eta* positively",
       min(ds["rho"]["theory"][1], ds["rho"]["baseline"][1]), at_least=0.0,
       why="lower ends of the seed-bootstrap CIs; a predictor with no information straddles 0")

# %% [markdown]
# <details><summary>Reading the table, and what limits the comparison</summary>
#
# **[measured]** A single sampled update has $\cos(w_k,g)$ far below 1 because it carries the free
# tokens' scores, while its mean direction stays close to $g$ (column cos(Ew,Eg)). The run passes
# when it does not end below its start, so small steps never fail by slowness. Both predictors are
# taken at each direction's own edge: for the new, $\eta$-dependent directions this is where their
# update is defined, but it is a consistency test (is $\eta^*$ where the progress/cost ratio reaches
# the same level for every direction?), not a forecast made before the sweep. The pass fraction
# falls gradually over a wide range of $\eta$ (the transition figure), so $\eta^*$ of some
# directions (the KL with $\beta$ = 0.4 most) has a wide CI, and eleven directions on a grid of step
# $\sqrt2$ leave the rank correlations with wide CIs. The alignment contrast above is taken at one
# common step (GRPO's edge), from the seeds' first `study.WINDOW` steps.
# </details>
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
# 5. Show that the KL variant's first update equals GRPO's, and that PPO-clip's first epoch does too.
#    <details><summary>Solution</summary>$\nabla_\theta{\rm KL}(\pi_\theta\|\pi_{\rm start})=\Phi^\top p\odot(u-{\rm KL})$
#    with $u=\log p-\log p_{\rm start}=0$ at the start; in the first epoch $\theta=\theta_{\rm old}$, every
#    ratio is 1, no clip is active and the gradient of $\rho A$ is $A\,\nabla\log\pi$ (tests/test_off_policy.py
#    checks both).</details>

# %%
print(versions())
