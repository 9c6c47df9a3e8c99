# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · Length normalisation on SmolLM2: does `loss_type` move the threshold? A pre-registered test
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlvr-companion/rlvr-gradient-gap/blob/main/notebooks/09_smollm2_length_normalisation.ipynb)
#
# The paper's P8 says length normalisation moves GRPO's learning-rate threshold. TRL exposes the
# choice as `loss_type`: `grpo` divides each reply's score by its length, `dr_grpo` by the
# completion cap. On the tiny transformer (notebook 07) the threshold moved as the algebra says; on
# SmolLM2-135M-Instruct at a 24-token cap (notebook 08) the two normalisers nearly agree and nothing
# could show. Here the cap is 128 tokens, which the replies mostly fit in, and the test was
# **pre-registered**: the prediction, the rule and the runs were committed before the deciding runs
# were made. A practitioner learns by how much switching `loss_type` shifts a safe learning rate.
#
# **In short [measured]:** the prediction holds: `dr_grpo`'s threshold is 3.21 times grpo's,
# against the predicted 3.93 (band [2.0, 10.2]).
#
# **Run time (default profile, 2-core laptop): a few seconds, re-plotting the committed runs
# (`results/llm/smollm2`, 128-token cap); `RECOMPUTE=True` reruns them, up to an hour per run
# (the measured seconds per step are printed in §1's checks).**
# Labels: **[paper]** the paper's claim, **[derived]** proved here, **[measured]** this notebook's runs.

# %% tags=["hide-input"]
# Setup. On Colab (or wherever RLVR_INSTALL names a pip source), install the companion first.
import os
import subprocess
import sys

if "google.colab" in sys.modules or os.environ.get("RLVR_INSTALL"):
    source = os.environ.get("RLVR_INSTALL") or "git+https://github.com/rlvr-companion/rlvr-gradient-gap"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"rlvr-core[llm] @ {source}"],
                   check=True)
from rlvr_core.notebook.expect import expect
from rlvr_core.notebook.figures import set_style, show
from rlvr_core.notebook.nbutils import versions
from rlvr_core.studies import smollm2_length_normalisation as study
from rlvr_core.infra.arguments import check_choice, check_profile
set_style()

# %% tags=["parameters"]
PROFILE = "default"      # "default" or "full": both read the same stored runs
RECOMPUTE = False        # True: rerun the plan's 128-token runs (days)

# %% tags=["hide-input"]
# Validate the parameters (a bad papermill -p value fails here, naming it) and get the plan.
check_profile(PROFILE)
check_choice("RECOMPUTE", RECOMPUTE, (True, False))
S = study.sizes(PROFILE)
d = study.load(S, recompute=RECOMPUTE)
print(study.runs_line(d))

# %% [markdown]
# ## 1. Dropping $1/|o|$ raises the threshold by the factor it rescales the step
#
# **[paper] Theorem 3 and its consequence.** The admissible step shrinks with the response length;
# dividing a response's score by $|o|$ (GRPO's length normalisation) removes that factor, so the
# normaliser moves the learning-rate threshold.

# %%
v = study.verdict(d)
t = study.table(d)
show(study.plot(d, t, v))
print(study.verdict_sentence(v, d))

# %% [markdown]
# *Notice:* in the lower left, the collapsing seeds are those whose replies end at the cap (a
# truncated, repeating reply); in the lower right, `dr_grpo`'s seeds stay stable to larger rates
# than `grpo`'s.
#
# **[derived] What to expect.** With scores $s_i$ summed over tokens, `grpo` weighs reply $i$ by
# $1/|o_i|$ and `dr_grpo` by $1/L_{\max}$ (notebook 07 §2):
#
# 1. for replies of mean length $\bar T$, `grpo`'s step is about $L_{\max}/\bar T$ times smaller
#    than `dr_grpo`'s at the same $\eta$;
# 2. a step $\eta w$ crosses the threshold when $\eta$ times that factor does, so
#    $\eta^*_{\text{dr\_grpo}}/\eta^*_{\text{grpo}} \approx L_{\max}/\bar T$;
# 3. read directly: with the same seed both loss types sample the same first batch, so the ratio of
#    their step-1 gradient norms is the factor by which `grpo`'s normaliser shrinks the step.
#
# **The pre-registered test.** The first 30 runs (both loss types, five rates × three seeds) bracket
# each threshold to one ×3.3 grid step. Before running anything more, we fixed in
# `docs/preregistration/smollm2_cap128_midpoints.md` the prediction (the step-1 ratio and its spread
# over seeds), the rule, and 12 runs at the two brackets' midpoints. **The rule:** a seed is
# *collapsed* when its replies end mostly at the cap over the last 5 steps (a truncated reply can
# still end with the right number, and the verifier rewards it) or when its success there falls
# below $J_0 - 2$ s.e.; a rate is stable when 2 of its 3 seeds are. The prediction holds when the
# refined ratio lies within one refined grid step (×1.8) of the spread. `rlvr_core.llm.midpoints`
# holds the rule and `scripts/cap128_midpoints.py` runs and scores it.

# %%
print(study.prediction_sentence(d))

# %% [markdown]
# **So.** **[measured]** At a cap the replies fit in, dropping the $1/|o|$ normaliser raises the
# SGD learning-rate threshold by about the factor by which it rescales the step, as pre-registered
# (the verdict above). Three seeds per rate give counts, not a calibrated interval, so the brackets
# are reported with their stable counts (in the checks below), not with a CI.
#
# ### Checks and limits

# %% tags=["hide-cell"]
print(study.lengths_report(d))
print(study.rule_line(d))
study.shown_table(t)

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
assert expect("SmolLM2 128-token runs start from the same weights as the 24-token runs",
              float(study.starting_weights(d)), at_most=1,
              why="one starting model: the GGUF dequantised the same way on both devices")

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
# The pre-registered rule and criterion (fixed before the midpoint runs) on every stored run
print(study.midpoints.report(v))
lo, hi = study.midpoints.PREDICTED["band"]
if v.complete:
    assert expect("SmolLM2 128-token cap, pre-registered: threshold ratio dr_grpo / grpo", v.ratio,
                  at_least=lo, at_most=hi,
                  why="the step-1 gradient-norm ratio 3.64 to 5.67, x/÷ one refined grid step (x1.8)")
# negative control: "loss_type has no effect" (ratio 1) and the 24-token runs' ratio, where the
# normalisers nearly agree, lie outside the band, so the criterion can fail
assert expect("negative control: ratio 1 and the 24-token ratio lie below the band",
              [1.0, d.short_ratio], at_most=lo,
              why="a band containing 'no effect' would not test the normaliser")

# %% tags=["hide-cell"]
print(study.evidence_sentence(v, t))

# %% [markdown]
# <details><summary>Devices, and the runs made on a GPU</summary>
#
# The first four 128-token runs were made on a lent GPU (an NVIDIA H200), which nothing in this
# project needs; each result's provenance names its device (the line above counts them), and the
# starting weights' hash must be the CPU runs' hash (checked above). A GPU recomputes a run
# statistically, not bit for bit, like two CPUs.
# </details>

# %% tags=["hide-cell"]
# Reported, not scored: the success-only rule of notebook 08 (chosen after the 30 runs were seen)
so = study.success_only(d)
print(study.success_only_report(so, d))

# %% [markdown]
# <details><summary>Why the success-only rule is only described</summary>
#
# An earlier check on success alone was chosen after the first 30 runs were seen, so it is kept
# as a description, not a test. It counts truncated but rewarded replies as stable and admits
# rates with one seed, which is why it places `dr_grpo`'s bracket higher than the pre-registered
# rule does.
# </details>

# %% [markdown]
# ## What we could not reproduce
#
# - **[measured]** The pre-registered midpoints refine each bracket to one ×1.8 step: that tells a
#   factor of 3 from a factor of 10, but not the measured ratio from the predicted one (both
#   printed in §1). Three seeds per rate give counts, not a calibrated
#   interval, and the seeds disagree at several rates (the table in the checks).
# - **[derived]** Reply length is not controlled on SmolLM2, so this tests the rescaling of the step
#   by the normaliser, not Theorem 3's $1/T$ dependence of the threshold itself; the tiny model
#   (notebook 07 §2) varies the length.
# - **[measured]** A larger cap or more seeds would multiply the cost per step (printed in the
#   checks) on this 2-core machine: not affordable for a sweep with seeds.
#
# ## Exercises
#
# 1. Before reading the verdict, use the printed mean reply length to predict the ratio from
#    $L_{\max}/\bar T$. Why was the pre-registered prediction taken from step-1 gradient norms
#    instead?
#    <details><summary>Solution</summary>$\bar T$ changes during training and differs between the
#    loss types; the step-1 ratio measures the normaliser's factor on the very batch both runs
#    share, with no assumption on how the lengths are distributed.</details>
# 2. The rule calls a seed collapsed when most replies end at the cap, even if they are rewarded.
#    Construct a reply that the verifier rewards but that a human would call a failure.
#    <details><summary>Solution</summary>A reply that repeats "7 7 7 …" until the cap when the sum
#    is 7: its last number is the sum.</details>
# 3. Which outcomes of the 12 midpoint runs would have failed the test? List the four ratios the
#    midpoints allow and say which lie outside the band.
#    <details><summary>Solution</summary>The pre-registration lists them; only `grpo` stable at
#    its upper midpoint together with `dr_grpo` collapsed at its lower midpoint falls below the
#    band.</details>
# 4. Write the pre-registration for a follow-up: a cap of 64 tokens. What would you predict, and
#    which runs would decide it?

# %%
print(versions(("accelerate", "datasets", "tokenizers")))
