"""Notebook 08 (is my learning rate safe? the step-size checker): its sizes, the analyses its
sections run, their figures and the sentences that quote their numbers.

The analyses are the notebook's former cell code, moved here unchanged (same seeds, same cached
runs and line searches), so the figures and checked numbers stay what they were:

1. ``bandit_check``: the statistics bound, the second-order model and the probe against the exact
   half-gain step on random log-linear bandits;
2. ``tiny_line_search``: the one-step line search from the tiny transformer's start against the
   learning-rate sweeps of notebook 07;
3. ``range_tests``: the grid and exponential learning-rate range tests against the same sweeps;
4. ``smollm2`` / ``smollm2_adamw``: the stored SmolLM2-135M-Instruct line search and range tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rlvr_core.notebook import figures
from rlvr_core.stepsize.against_bandits import compare_on_bandits
from ..llm.evaluation import starting_success
from ..llm.probe import line_search_cached, threshold_from_line_search
from ..llm.range_test import exponential_range_test_cached, range_test_cached
from ..llm.range_test import summary as ramp_summary
from ..llm.smollm2 import is_available as smollm2_available
from ..llm.sweeps import (SMOLLM2_ADAMW_LRS, log_grid, run_all, setting_label, smollm2_adamw_ramp,
                          smollm2_configs, smollm2_runs, sweep_summary, sweep_table, threshold,
                          threshold_ci, tiny_all_configs, tiny_plan, warm_start_J0)
from rlvr_core.infra.arguments import check_int, check_profile, check_seed

NOTEBOOK = "10_step_size_checker"
AGREE = 3.0  # a range test agrees with a sweep within this factor (fixed before the runs)
LINE_LRS = log_grid(0.003, 3.0, 13)
SMOL_LRS = log_grid(0.003, 1.0, 6)
RANGE_SEEDS, RANGE_STEPS, RAMP_STEPS = (0, 1, 2), 4, 25


@dataclass(frozen=True)
class Sizes:
    """What one profile runs (``sizes``): the probe sample sizes on bandits, notebook 07's tiny
    plan, whether the long responses are included, and whether stored results are recomputed."""
    group_sizes: tuple
    plan: dict
    long_settings: bool
    refresh: bool


def sizes(profile: str) -> Sizes:
    """The ``default`` profile re-reads the stored LLM results; ``full`` recomputes them and adds
    a probe size and the long responses."""
    full = check_profile(profile) == "full"
    return Sizes(group_sizes=(64, 1024, 16384) if full else (64, 4096), plan=tiny_plan(profile),
                 long_settings=full, refresh=full)


def check_parameters(seed, num_bandits) -> None:
    """Validate the notebook's knobs with errors that name the parameter."""
    check_seed("SEED", seed)
    check_int("NUM_BANDITS", num_bandits, minimum=8)


def show(fig, name: str, *, params: dict, caption: str) -> None:
    """Save the figure under ``name`` (png, pdf and a manifest entry) and show it in the cell."""
    figures.savefig(fig, name, notebook=NOTEBOOK, claim="checker", params=params, caption=caption)
    figures.show(fig)


# --- 2. bandits -----------------------------------------------------------------------------------

def bandit_check(num_bandits: int, group_sizes, seed: int) -> dict:
    """The checker's three predictions against the exact half-gain step on random bandits, the
    probe's curvature error per sample size and the second-order model's ratio to the truth."""
    table = compare_on_bandits(num_bandits, group_sizes, seed=seed)
    finite = np.isfinite(table["quad"]) & np.isfinite(table["exact"])
    kappa_err = {g: float(((table[f"kappa_{g}"] - table["kappa"]).abs() / table["kappa"].abs()).median())
                 for g in group_sizes}
    return {"table": table, "finite": finite, "kappa_err": kappa_err, "group_sizes": group_sizes,
            "ratio_quad": (table["quad"] / table["exact"])[finite], "seed": seed}


def bandit_lines(bc: dict) -> str:
    """The bandit results in five lines."""
    table, ratio = bc["table"], bc["ratio_quad"]
    lines = [f"bandits: {len(table)}; statistics bound below the true half-gain step on all: "
             f"{bool((table['stat'] <= table['exact']).all())}",
             f"median factor by which the statistics bound is conservative: "
             f"{10 ** round(np.log10((table['exact'] / table['stat']).median())):g} (order of magnitude)"]
    lines += [f"probe with G={g:>5}: median relative error of the curvature {bc['kappa_err'][g]:.1g}"
              for g in bc["group_sizes"]]
    lines.append(f"second-order model within a factor 2 of the true step: "
                 f"{(ratio.between(0.5, 2)).mean():.0%} of {int(bc['finite'].sum())} bandits with finite steps")
    return "\n".join(lines)


def bandit_verdict(bc: dict) -> str:
    """The sentence of Section 2: does the bound hold, how conservative is it, how good is the probe."""
    table, err, gs = bc["table"], bc["kappa_err"], bc["group_sizes"]
    held = bool((table["stat"] <= table["exact"]).all())
    factor = 10 ** round(np.log10((table["exact"] / table["stat"]).median()))
    return ("[measured] The statistics bound "
            + (f"held on all {len(table)} bandits" if held else
               f"EXCEEDED the true step on {int((table['stat'] > table['exact']).sum())} of {len(table)} bandits")
            + f", about {factor:g} times below the true half-gain step (median, order of magnitude); "
            f"the probe's curvature error falls from {err[gs[0]]:.1g} with G={gs[0]} to "
            f"{err[gs[-1]]:.1g} with G={gs[-1]} samples.")


def plot_bandits(bc: dict):
    """Predicted safe steps against the exact half-gain step, one point per bandit."""
    table, G = bc["table"], bc["group_sizes"][0]
    fig, ax = plt.subplots(figsize=(5.8, 4.6))
    lim = [1e-2, 1e3]
    ax.loglog(lim, lim, "--", color="0.4", label="prediction = truth")
    ax.loglog(table["exact"], table["stat"], "v", color="C0", label="statistics bound (guarantee)")
    ax.loglog(table["exact"], table["quad"], "o", mfc="none", color="C3", label="second-order model, exact curvature")
    ax.loglog(table["exact"], table[f"probe_{G}"], ".", color="C2", label=f"probe, G={G} samples")
    ax.set(xlim=lim, ylim=lim, xlabel=r"true half-gain step $\eta$ (line search)", ylabel=r"predicted safe step $\eta$",
           title="step-size checker vs exact computation (bandits)")
    ax.legend(fontsize="small", loc="upper left")
    return fig


# --- 3. tiny transformer: one-step line search ---------------------------------------------------

def tiny_settings(s: Sizes):
    """Notebook 07's configs and the (loss_type, length) settings this notebook compares."""
    configs = tiny_all_configs(s.plan)
    short, long = s.plan["lengths"]
    settings = [("grpo", short), ("dr_grpo", short)]
    return configs, settings + ([("grpo", long), ("dr_grpo", long)] if s.long_settings else [])


def tiny_line_search(configs, settings, seed: int) -> dict:
    """Per setting: notebook 07's sweep threshold (its J0 and rule) and the one-step line search
    from the starting model (cached), with their brackets."""
    rows, searches, sweeps = [], {}, {}
    for loss_type, L in settings:
        runs = run_all(configs[(loss_type, L)], progress=False)      # notebook 07's cached sweep
        lrs, _, final = sweep_table(runs)
        start, start_se = warm_start_J0(runs[0]["warm_start"])    # notebook 07's J0 and rule
        measured, stable, collapsed = threshold(lrs, final, start, se=start_se).as_tuple()
        search = line_search_cached(configs[(loss_type, L)][0], LINE_LRS, num_prompts=16,
                                    eval_samples=32, seed=seed)
        searches[(loss_type, L)], sweeps[(loss_type, L)] = search, (lrs, final)
        predicted, safe, unsafe = threshold_from_line_search(search).as_tuple()
        rows.append({"loss_type": loss_type, "L": L, "sweep threshold": measured, "sweep stable <=": stable,
                     "sweep collapsed >=": collapsed, "one-step threshold": predicted,
                     "one-step safe <=": safe, "one-step drop >=": unsafe})
    comparison = pd.DataFrame(rows)
    return {"comparison": comparison, "searches": searches, "sweeps": sweeps, "settings": settings,
            "ratio": comparison["one-step threshold"] / comparison["sweep threshold"]}


def tiny_table(tl: dict) -> str:
    """The comparison table and the ratios of prediction to measurement."""
    with pd.option_context("display.float_format", "{:.2g}".format):
        text = tl["comparison"].to_string(index=False)
    return text + "\none-step prediction / measured sweep threshold: " + ", ".join(
        f"{r:.1f}" for r in tl["ratio"])


def tiny_verdict(tl: dict) -> str:
    """The sentence of Section 3: the ratios of prediction to measurement, and whether every
    sweep's stable rates lie below the first rate whose single step lowers J."""
    c = tl["comparison"]
    below = bool((c["sweep stable <="] < c["one-step drop >="]).all())
    return ("[measured] One-step threshold / measured 30-step sweep threshold: "
            + ", ".join(f"{r:.1f} ({lt}, L={L})" for r, lt, L in zip(tl["ratio"], c.loss_type, c.L))
            + ("; in every setting the sweep's stable rates lie below the first rate whose single "
               "step lowers J, as they must." if below else
               "; in some setting a sweep is stable at a rate whose first step already lowers J: "
               "the line search is too noisy there."))


def plot_tiny(tl: dict):
    """The one-step line search and notebook 07's sweep, one panel per setting."""
    settings, comparison = tl["settings"], tl["comparison"]
    fig, axes = plt.subplots(1, len(settings), figsize=(5 * len(settings), 4.1), squeeze=False,
                             layout="constrained")
    for ax, (loss_type, L) in zip(axes[0], settings):
        s = tl["searches"][(loss_type, L)]
        ax.semilogx(s["lrs"], s["J"], "o-", color="C0", label="one step from the start (checker)")
        ax.axhspan(s["J0"] - 2 * s["se"], s["J0"] + 2 * s["se"], color="C0", alpha=0.15, label=r"$J_0 \pm 2$ s.e.")
        lrs, final = tl["sweeps"][(loss_type, L)]
        ax.semilogx(lrs, np.nanmean(final, 1), "s--", color="C3", label="after 30 steps (notebook 07 sweep)")
        row = comparison[(comparison.loss_type == loss_type) & (comparison.L == L)].iloc[0]
        ax.axvline(row["sweep threshold"], color="C3", lw=1, ls=":")
        ax.axvline(row["one-step threshold"], color="C0", lw=1, ls=":")
        ax.set(xlabel=r"learning rate $\eta$ (SGD, no clipping)", ylabel="success rate",
               title=f"tiny transformer, loss_type={loss_type}, L={L}")
    fig.legend(*axes[0][0].get_legend_handles_labels(), fontsize="small", ncol=3, loc="outside lower center")
    return fig


# --- 4. range tests ------------------------------------------------------------------------------

def range_settings(short: int) -> dict:
    """setting -> (optimiser, grid of the grid test, ramp of the exponential test)."""
    return {("grpo", short): ("SGD", log_grid(0.003, 3.0, 13), (1e-3, 10.0)),
            ("dr_grpo", short): ("SGD", log_grid(0.003, 3.0, 13), (1e-3, 10.0)),
            ("adamw", short): ("AdamW + clip 1.0", log_grid(1e-4, 0.3, 13), (1e-5, 1.0))}


def _label(key) -> str:
    return f"{key[0] if key[0] != 'adamw' else 'grpo'} L={key[1]}"


def range_tests(configs, settings: dict, refresh: bool) -> dict:
    """Both range tests per setting (cached) against notebook 07's sweep threshold and its 90% CI:
    the estimate, its ratio to the sweep, whether it agrees within ``AGREE`` and is conservative."""
    rows, tests = [], {}
    for key, (optimiser, grid, ramp) in settings.items():
        runs = run_all(configs[key], progress=False)                 # notebook 07's cached sweep
        lrs, _, final = sweep_table(runs)
        j0, j0_se = warm_start_J0(runs[0]["warm_start"])
        measured = threshold(lrs, final, j0, se=j0_se)
        ci = threshold_ci(lrs, final, j0, j0_se)
        grid_test = range_test_cached(configs[key][0], grid, RANGE_STEPS, RANGE_SEEDS, refresh=refresh)
        ramp_test = exponential_range_test_cached(configs[key][0], *ramp, RAMP_STEPS, RANGE_SEEDS,
                                                  refresh=refresh)
        tests[key] = (lrs, final, grid_test, ramp_test)
        grid_est = float(np.sqrt(grid_test["largest_passing_lr"] * grid_test["first_failing_lr"]))
        for method, est, test in (("grid", grid_est, grid_test),
                                  ("exponential", ramp_test["largest_safe_lr"], ramp_test)):
            rows.append({"setting": _label(key), "optimiser": optimiser, "method": method,
                         "sweep threshold": measured.estimate, "sweep 90% CI": f"[{ci[0]:.2g}, {ci[1]:.2g}]",
                         "sweep stable <=": measured.last_pass,
                         "sweep collapsed >=": measured.first_fail, "estimate": est,
                         "estimate / sweep": est / measured.estimate,
                         "ratio 90% CI": f"[{est / ci[1]:.2g}, {est / ci[0]:.2g}]",
                         "cost (s)": test["provenance"].get("seconds", np.nan)})
    table = pd.DataFrame(rows)
    table["agrees (x3)"] = table["estimate / sweep"].between(1 / AGREE, AGREE)
    table["conservative"] = table["estimate"] <= table["sweep stable <="]
    return {"table": table, "tests": tests, "settings": settings}


def range_text(rt: dict) -> str:
    """The range-test table and what each test costs in runs and steps."""
    with pd.option_context("display.float_format", "{:.3g}".format, "display.width", 200):
        text = rt["table"].to_string(index=False)
    rates = len(next(iter(rt["settings"].values()))[1])
    return (text + f"\ngrid test: {len(RANGE_SEEDS)} seeds x {rates} rates x {RANGE_STEPS + 1} steps "
            f"per setting; exponential: {len(RANGE_SEEDS)} runs of at most {RAMP_STEPS} steps")


def negative_control(rt: dict, short: int) -> float:
    """GRPO's grid estimate over Dr. GRPO's sweep threshold: settings whose thresholds differ, so
    the factor-3 criterion must fail on this ratio."""
    t = rt["table"]
    grpo_grid = t[(t.method == "grid") & (t.setting == f"grpo L={short}") & (t.optimiser == "SGD")]["estimate"].iloc[0]
    return grpo_grid / t[t.setting == f"dr_grpo L={short}"]["sweep threshold"].iloc[0]


def range_verdict(rt: dict) -> str:
    """The sentence of Section 4: how many estimates agree within the factor, how many are
    conservative, and the range of their ratios to the sweeps."""
    t = rt["table"]
    r = t["estimate / sweep"]
    return (f"[measured] {int(t['agrees (x3)'].sum())} of {len(t)} range-test estimates agree with "
            f"the measured sweeps within a factor {AGREE:g} (ratios {r.min():.2f} .. {r.max():.2f}); "
            f"{int(t['conservative'].sum())} of {len(t)} are conservative (at most the sweep's "
            "largest stable rate).")


def plot_range(rt: dict):
    """Both range tests against notebook 07's sweep, one panel per setting."""
    table, settings = rt["table"], rt["settings"]
    fig, axes = plt.subplots(1, len(settings), figsize=(5 * len(settings), 3.8), squeeze=False)
    for ax, (key, (lrs, final, grid_test, ramp_test)) in zip(axes[0], rt["tests"].items()):
        rows = table[(table["optimiser"] == settings[key][0])
                     & table["setting"].str.startswith(key[0] if key[0] != "adamw" else "grpo")]
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
        ax.set(xlabel=f"learning rate ({settings[key][0]})", ylabel="success rate",
               title=f"{key[0] if key[0] != 'adamw' else 'grpo, AdamW'}, L={key[1]}")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize="small")
    return fig


# --- 5. SmolLM2 -----------------------------------------------------------------------------------

def smollm2(s: Sizes, seed: int) -> dict | None:
    """The stored (``s.refresh``: recomputed when the model is installed) one-step line search and
    exponential range test on SmolLM2-135M-Instruct against notebook 08's grpo SGD sweep; None
    when nothing is stored."""
    refresh = s.refresh and smollm2_available()
    cfg = smollm2_configs(learning_rates=(0.03,))[0]
    every = smollm2_runs()                 # notebook 08's sweeps at the 24-token cap
    runs = [r for r in every if setting_label(r["config"]) == "grpo, SGD"]
    search = line_search_cached(cfg, SMOL_LRS, num_prompts=4, eval_samples=16, seed=seed,
                                refresh=refresh, compute=smollm2_available())
    start = starting_success(cfg, compute=False)   # notebook 08's J0 (the evaluation set)
    ramp = exponential_range_test_cached(cfg, 1e-3, 10.0, RAMP_STEPS, RANGE_SEEDS,
                                         refresh=refresh, compute=smollm2_available())
    out = {"cfg": cfg, "all_runs": every, "start": start, "refresh": refresh, "ramp": ramp}
    if search is None or not runs or start is None:
        return {**out, "search": None}
    lrs, _, final = sweep_table(runs)
    s_thr, s_stable, s_collapsed = threshold(lrs, final, start["success"], se=start["se"]).as_tuple()
    p_thr, p_safe, p_drop = threshold_from_line_search(search).as_tuple()
    return {**out, "search": search, "runs": runs, "lrs": lrs, "final": final, "s_thr": s_thr,
            "s_stable": s_stable, "s_collapsed": s_collapsed, "p_thr": p_thr, "p_safe": p_safe,
            "p_drop": p_drop}


def smollm2_lines(sm: dict) -> str:
    """The SmolLM2 sweep, line search and their ratio, or how to produce them."""
    if sm["search"] is None:
        return ("no stored SmolLM2 results: run `make figures PROFILE=full NB=10_step_size_checker` "
                "with requirements-llm.txt installed")
    return (f"SmolLM2 sweep (notebook 08, {len(sm['runs'])} runs, its rule): stable <= {sm['s_stable']:.2g}, "
            f"collapsed >= {sm['s_collapsed']:.2g}\n"
            f"one-step line search: J0 = {sm['search']['J0']:.2f}; safe <= {sm['p_safe']:.2g}, "
            f"drop >= {sm['p_drop']:.2g}\n"
            f"one-step threshold / sweep threshold = {sm['p_thr']:.2g} / {sm['s_thr']:.2g} = "
            f"{sm['p_thr'] / sm['s_thr']:.1f}")


def _within(ratio: float) -> str:
    return "within" if 1 / AGREE <= ratio <= AGREE else "outside"


def smollm2_verdict(sm: dict) -> str:
    """The sentence on SmolLM2 with SGD: sweep bracket, one-step line search, exponential test."""
    if sm["search"] is None:
        return "[measured] Nothing stored for SmolLM2: no comparison."
    text = (f"[measured] On SmolLM2, notebook 08's sweep ({len(sm['runs'])} grpo runs, its rule and J0) "
            f"is stable up to {sm['s_stable']:.2g} and collapsed from {sm['s_collapsed']:.2g}. The "
            f"one-step line search sees no drop up to {sm['p_safe']:.2g} (first drop at "
            f"{sm['p_drop']:.2g}): {sm['p_thr'] / sm['s_thr']:.1f} times the sweep's threshold.")
    ramp = sm["ramp"]
    if ramp is not None:
        ratio = ramp["largest_safe_lr"] / sm["s_thr"]
        text += (f" The exponential range test of section 4 ({len(ramp['per_seed'])} seeds, "
                 f"{ramp['censored']} never dropped) gives {ramp['largest_safe_lr']:.2g}, {ratio:.1f} "
                 f"times the sweep's threshold: {_within(ratio)} section 4's factor 3.")
    return text


def plot_smollm2(sm: dict):
    """The one-step line search on SmolLM2 and notebook 08's SmolLM2 sweep."""
    search = sm["search"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.semilogx(search["lrs"], search["J"], "o-", color="C0", label="one step from the start (checker)")
    ax.axhspan(search["J0"] - 2 * search["se"], search["J0"] + 2 * search["se"],
               color="C0", alpha=0.15, label=r"$J_0 \pm 2$ s.e.")
    ax.semilogx(sm["lrs"], np.nanmean(sm["final"], 1), "s--", color="C3", label="after 30 steps (notebook 08)")
    ax.set(xlabel=r"learning rate $\eta$ (SGD, no clipping)", ylabel="success rate",
           title="SmolLM2-135M-Instruct, loss_type=grpo")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def smollm2_adamw(sm: dict) -> dict | None:
    """The exponential range test with AdamW (stored; its earlier version, with J0 from the first
    batch, placed notebook 08's AdamW rates); its ratio to that sweep's threshold, the bracket's
    width, and the same ratio on the first (coarse) grid alone. None when nothing is stored."""
    ramp = smollm2_adamw_ramp(compute=sm["refresh"])
    runs = [r for r in sm["all_runs"] if setting_label(r["config"]) == "grpo, AdamW"]
    start = sm["start"]
    if ramp is None or not runs or start is None:
        return None if ramp is None else {"ramp": ramp, "sweep": None}
    sweep = sweep_summary(runs, start["success"], start["se"])
    coarse = sweep_summary([r for r in runs if r["config"]["learning_rate"] in SMOLLM2_ADAMW_LRS],
                           start["success"], start["se"])
    b = sweep["bracket"]
    return {"ramp": ramp, "sweep": sweep, "ratio": ramp["largest_safe_lr"] / b.estimate,
            "width": b.first_fail / b.last_pass,
            "coarse_ratio": ramp["largest_safe_lr"] / coarse["bracket"].estimate}


def adamw_lines(ad: dict) -> str:
    """The AdamW range test per seed, then the sweep bracket and the test's ratio to it."""
    if ad["sweep"] is None:
        return ramp_summary(ad["ramp"])
    b = ad["sweep"]["bracket"]
    return ramp_summary(ad["ramp"]) + "\n" + (f"AdamW sweep (notebook 08, {ad['sweep']['runs']} runs, its rule): stable <= "
            f"{b.last_pass:.2g}, collapsed >= {b.first_fail:.2g}; range test / sweep threshold = "
            f"{ad['ratio']:.2f} ({_within(ad['ratio'])} section 4's factor 3)")


def adamw_verdict(ad: dict) -> str:
    """The sentence on SmolLM2 with AdamW, with the caveat of where the sweep's rates were placed."""
    b, ramp = ad["sweep"]["bracket"], ad["ramp"]
    return (f"[measured] With AdamW on SmolLM2 the exponential range test gives "
            f"{ramp['largest_safe_lr']:.2g} (median of {len(ramp['per_seed'])} seeds), and notebook "
            f"08's AdamW sweep ({ad['sweep']['runs']} runs) puts the threshold between "
            f"{b.last_pass:.2g} and {b.first_fail:.2g}: a ratio of {ad['ratio']:.2f}, "
            f"{_within(ad['ratio'])} section 4's factor 3. The sweep's rates were placed around the "
            f"answer of the earlier version of the test (J0 from the first batch), not around this "
            f"one. The sweep's "
            f"bracket is x{ad['width']:.1f} wide, so the ratio is known to that factor: on the first "
            f"grid alone (rates x3 apart, before its bracket's midpoint was added) the same "
            f"comparison gives {ad['coarse_ratio']:.2f}.")
