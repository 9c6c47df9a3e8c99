"""Notebook 06 (REINFORCE, GRPO, Dr. GRPO and DAPO as update directions, claim P7): its sizes, the
analyses its sections run, the figure and the sentences that quote their numbers.

The analyses are the notebook's former cell code, moved here unchanged (same seeds, same cache
name and parameters), so the figure and the checked numbers stay what they were:

1. ``population_check``: the mean of sampled directions at a fixed length against the population
   formula (every population direction is a positive multiple of the Gradient Gap g);
2. ``collapse_sweep`` / ``collapse_summary``: the collapse threshold eta* of every algorithm with
   variable lengths, against the Theorem-1 step scale E<w,g>/E|w|^2 and the baseline 1/RMS|w|.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from rlvr_core.notebook import figures
from rlvr_core.infra.cache import cached
from rlvr_core.paper.directions import ALGORITHM_LABELS, ALGORITHMS, population_direction
from rlvr_core.stats.thresholds import first_failure
from rlvr_core.paper.token_policies import (check_start_success, circle_token_features, model_gap,
                                            model_success, start_theta)
from rlvr_core.simulators.answer_last import direction_statistics, sweep_answer_last
from rlvr_core.infra.arguments import check_grid, check_int, check_probability, check_profile, check_seed

NOTEBOOK = "06_algorithms"
Z_MAX = 5.0  # Monte-Carlo standard errors allowed between a sampled mean and its closed form
LENGTH_WEIGHTS = {"none": "1", "per_response": "1/|o_i|", "constant": "1/L_max",
                  "token_mean": "1/mean|o|"}
PREDICTORS = {"theory E<w,g>/E|w|^2": ("eta_pred", "eta*/eta_pred"),
              "baseline 1/RMS|w|": ("eta_base", "eta*/eta_base")}


@dataclass(frozen=True)
class Sizes:
    """Monte-Carlo groups and seeds of one profile (``sizes``) and the grids both share."""
    groups: int   # sampled groups per direction estimate
    seeds: int    # runs per step size of the collapse sweep
    steps: int = 300
    etas: list = field(default_factory=lambda: check_grid("ETAS", [0.05 * 2 ** (k / 2) for k in range(31)]))


def sizes(profile: str) -> Sizes:
    """The sizes of the ``default`` (fast, ~20 s) and ``full`` profiles, in one place."""
    if check_profile(profile) == "default":
        return Sizes(groups=20000, seeds=16)
    return Sizes(groups=200000, seeds=64)


def check_parameters(seed, j0, level, max_length, fixed_length, group_size, vocab):
    """Validate the notebook's knobs with errors that name the parameter; returns the circle
    features and the start theta with success rate ``j0``."""
    check_seed("SEED", seed)
    check_probability("LEVEL", level)
    check_int("MAX_LENGTH", max_length, minimum=1)
    check_int("FIXED_LENGTH", fixed_length, minimum=1)
    check_int("GROUP_SIZE", group_size, minimum=2)
    check_int("VOCAB", vocab, minimum=2)
    check_start_success("J0", j0, vocab)
    phi = circle_token_features(vocab)
    return phi, start_theta(phi, j0)


def show(fig, name: str, *, claim: str, params: dict, caption: str) -> None:
    """Save the figure under ``name`` (png, pdf and a manifest entry) and show it in the cell."""
    figures.savefig(fig, name, notebook=NOTEBOOK, claim=claim, params=params, caption=caption)
    figures.show(fig)


# --- 1. population directions --------------------------------------------------------------------

def population_check(phi, theta0, fixed_length: int, group_size: int, s: Sizes, seed: int) -> dict:
    """``s.groups`` sampled directions per algorithm at one fixed length against the population
    formula: the factor of g of each, their ratio, cos(E w, g), and for the no-std algorithms the
    distance of the sampled mean from (G-1)/G times the population direction in standard errors."""
    stats = direction_statistics(phi, theta0, fixed_length, group_size, s.groups, seed=seed)
    j_start = float(model_success(phi, theta0, 1))
    g0 = model_gap(phi, theta0, 1)
    rows, z_scores = [], {}
    for alg in ALGORITHMS:
        pop = population_direction(alg, torch.tensor(j_start), g0, length=fixed_length,
                                   max_length=fixed_length)
        pop_factor = float(pop @ g0 / (g0 @ g0))
        st = stats[alg]
        rows.append({"algorithm": ALGORITHM_LABELS[alg], "std": ALGORITHMS[alg][0],
                     "length weight": ALGORITHMS[alg][1], "population factor": pop_factor,
                     "sampled mean factor": st["eff"], "ratio": st["eff"] / pop_factor,
                     "cos(E w, g)": st["cos_mean"]})
        if not ALGORITHMS[alg][0]:  # no std: E w = (G-1)/G * population, exactly [derived]
            expected = (group_size - 1) / group_size * pop.numpy()
            z_scores[alg] = np.abs(st["mean"] - expected) / st["se"]
    return {"table": pd.DataFrame(rows), "z": z_scores, "g0": g0, "group_size": group_size}


def population_table(pop: dict) -> str:
    """The fixed-length table and the factor (G-1)/G it should show for the no-std algorithms."""
    g = pop["group_size"]
    return pop["table"].round(3).to_string(index=False) + f"\n(G-1)/G = {(g - 1) / g:.3f}"


def population_verdict(pop: dict) -> str:
    """The sentence of Section 1: the no-std algorithms match (G-1)/G times the population
    formula (largest distance in standard errors), the std ones sit at another fixed ratio."""
    tab = pop["table"]
    z = max(float(np.max(v)) for v in pop["z"].values())
    ratios = tab.loc[tab["std"], "ratio"]
    agree = z <= Z_MAX
    return ("[measured] The sampled means of the no-std algorithms "
            + (f"agree with (G-1)/G times the population formula (largest distance {z:.2g} "
               f"standard errors, allowed {Z_MAX:g})" if agree else
               f"do NOT agree with (G-1)/G times the population formula ({z:.2g} standard errors, "
               f"allowed {Z_MAX:g})")
            + f"; the std-normalised ones come out at ratio {ratios.min():.3f}"
            + ("" if round(ratios.min(), 3) == round(ratios.max(), 3) else f" .. {ratios.max():.3f}")
            + f"; the smallest cos(E w, g) is {tab['cos(E w, g)'].min():.3f} (three decimals).")


# --- 2. which collapses first ---------------------------------------------------------------------

def collapse_sweep(phi, j0, max_length, group_size, level, s: Sizes, seed: int) -> dict:
    """Final J of ``s.seeds`` runs per step of ``s.etas`` for every algorithm with lengths uniform
    on 1..max_length (cached), and eta*: the end of the first block of steps whose runs end at a
    mean J >= ``level``, counted from the smallest passing step (smaller ones fail by slowness)."""
    params = {"J0": j0, "Lmax": max_length, "G": group_size, "V": phi.shape[0], "etas": s.etas,
              "seeds": s.seeds, "steps": s.steps, "seed": seed}
    finals = cached("algorithms_collapse_sweep", params, lambda: {
        alg: sweep_answer_last(phi, j0, max_length, s.etas, s.seeds, algorithm=alg,
                               group_size=group_size, steps=s.steps, seed=seed,
                               length_mode="uniform")[..., -1].numpy()
        for alg in ALGORITHMS})
    brackets = {}
    for alg in ALGORITHMS:
        passes = torch.as_tensor(finals[alg]).mean(-1) >= level
        start = int(passes.to(torch.int64).argmax()) if bool(passes.any()) else len(s.etas) - 1
        brackets[alg] = first_failure(passes[start:], s.etas[start:], name="ETAS")
    return {"finals": finals, "brackets": brackets, "params": params, "level": level,
            "etas": s.etas, "steps": s.steps, "max_length": max_length}


def collapse_summary(phi, theta0, max_length, group_size, s: Sizes, seed: int, sweep: dict,
                     g0) -> dict:
    """Per algorithm at the start (lengths uniform on 1..max_length, ``s.groups`` groups): the
    effective step per eta, the realised cos(w_k, g), E|w|^2, the two predicted step scales, and
    eta* with its ratios to them; how well each predictor ranks eta* and how much its ratio spreads."""
    stats = direction_statistics(phi, theta0, max_length, group_size, s.groups, seed=seed,
                                 length_mode="uniform")
    eta_star = {alg: b.last_pass for alg, b in sweep["brackets"].items()}
    summary = pd.DataFrame([{
        "algorithm": ALGORITHM_LABELS[alg], "1/std": "yes" if ALGORITHMS[alg][0] else "no",
        "length weight": LENGTH_WEIGHTS[ALGORITHMS[alg][1]],
        "eff. step per eta": stats[alg]["eff"], "cos(w_k, g)": stats[alg]["cos_realised"],
        "E|w|^2": stats[alg]["m2"],
        "eta_pred": stats[alg]["eff"] * float(g0 @ g0) / stats[alg]["m2"],
        "eta_base": 1 / math.sqrt(stats[alg]["m2"]),
        "eta* measured": eta_star[alg]} for alg in ALGORITHMS])
    summary["eta*/eta_pred"] = summary["eta* measured"] / summary["eta_pred"]
    summary["eta*/eta_base"] = summary["eta* measured"] / summary["eta_base"]
    return {"summary": summary, "groups": s.groups, **compare_predictors(summary)}


def compare_predictors(summary: pd.DataFrame) -> dict:
    """Rank correlation of each predictor with eta*, the spread (max/min) of eta*/prediction, the
    algorithm that collapses first and the factor eta* spans."""
    rank_meas = summary["eta* measured"].rank().to_numpy()
    comparison = {}
    for name, (col, ratio_col) in PREDICTORS.items():
        rho = float(np.corrcoef(summary[col].rank().to_numpy(), rank_meas)[0, 1])
        comparison[name] = (rho, float(summary[ratio_col].max() / summary[ratio_col].min()))
    return {"comparison": comparison,
            "first": summary.loc[summary["eta* measured"].idxmin(), "algorithm"],
            "first_predicted": summary.loc[summary["eta_pred"].idxmin(), "algorithm"],
            "eta_span": float(summary["eta* measured"].max() / summary["eta* measured"].min())}


def collapse_tables(cs: dict, sweep: dict) -> str:
    """The per-algorithm table, split in two (what each update is; thresholds and predictions),
    with three significant digits so that small E|w|^2 stay readable, then the comparison lines."""
    tab = cs["summary"]
    fmt = "{:.3g}".format  # significant digits, not decimals
    what = ["algorithm", "1/std", "length weight", "eff. step per eta", "cos(w_k, g)", "E|w|^2"]
    when = ["algorithm", "eta_pred", "eta_base", "eta* measured", "eta*/eta_pred", "eta*/eta_base"]
    lines = [tab[what].to_string(index=False, float_format=fmt), "",
             tab[when].to_string(index=False, float_format=fmt)]
    for name, (rho, spread) in cs["comparison"].items():
        lines.append(f"{name:<22} rank correlation with eta*: {rho:5.2f}   spread of "
                     f"eta*/prediction (max/min): {spread:5.2f}")
    lines.append(f"collapses first (smallest eta*): {cs['first']}; eta* spans a factor {cs['eta_span']:.3g}")
    lines.append("brackets (last pass, first fail): " + "; ".join(
        f"{ALGORITHM_LABELS[alg]} ({b.last_pass:.3g}, {b.first_fail:.3g})"
        for alg, b in sweep["brackets"].items()))
    return "\n".join(lines)


def collapse_verdict(cs: dict) -> str:
    """The sentence of Section 2: how far eta* spreads, how closely the theory's step scale and
    the baseline 1/RMS|w| follow it, and whether the theory adds anything over the baseline."""
    (rho_t, spread_t), (rho_b, spread_b) = cs["comparison"].values()
    if spread_t >= spread_b and rho_t <= rho_b:
        verdict = ("the theory's predictor adds nothing over the baseline here: the algorithms "
                   "differ mostly by a scalar scale of w, and the size of the update alone "
                   "already ranks them")
    else:
        better = [n for n, b in (("rank", rho_t > rho_b), ("spread", spread_t < spread_b)) if b]
        verdict = "the theory's predictor does better than the baseline on " + " and ".join(better)
    return (f"[measured] eta* spans a factor {cs['eta_span']:.3g} across the "
            f"{len(cs['summary'])} directions; eta*/eta_pred of the theory's step scale "
            f"E<w,g>/E|w|^2 stays within a factor {spread_t:.3g} (rank correlation {rho_t:.2f}); "
            f"the baseline 1/sqrt(E|w|^2), which ignores the alignment, has ratio spread "
            f"{spread_b:.3g} and rank correlation {rho_b:.2f}: {verdict}.")


def plot_collapse(sweep: dict, cs: dict):
    """Mean final J against eta for every algorithm, and eta* against the two predicted scales."""
    finals, summary, etas = sweep["finals"], cs["summary"], sweep["etas"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for alg in ALGORITHMS:
        axes[0].semilogx(etas, finals[alg].mean(-1), "o-", ms=3, label=ALGORITHM_LABELS[alg])
    axes[0].axhline(sweep["level"], color="k", lw=0.7, ls=":")
    axes[0].set(xlabel="step size $\\eta$", ylabel=f"mean $J$ after {sweep['steps']} steps",
                title=f"same $\\eta$, six directions ($|o|\\sim U\\{{1..{sweep['max_length']}\\}}$)")
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
    return fig
