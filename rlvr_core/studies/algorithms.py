"""Notebook 06 (REINFORCE, GRPO, Dr. GRPO and DAPO as update directions, claim P7): its sizes, the
analyses its sections run, the figure and the sentences that quote their numbers.

The analyses are the notebook's former cell code, moved here unchanged (same seeds, same cache
name and parameters), so the figure and the checked numbers stay what they were:

1. ``population_check``: the mean of sampled directions at a fixed length against the population
   formula (every population direction is a positive multiple of the Gradient Gap g);
2. ``collapse_sweep`` / ``collapse_summary``: the former Section 2 (eta* read as "mean final J >=
   LEVEL"), no longer called by the notebook;
3. ``direction_sweep`` / ``direction_summary``: eleven directions (the six, plus PPO-clip, a KL
   penalty and stale batches from ``simulators.off_policy``) with the shared threshold rule of
   ``stats.thresholds`` (a run passes when J_K >= J_0, majority of seeds, first failure, seed-
   bootstrap CIs), both predictors' rank correlations with bootstrap CIs, the transition width.
"""
from __future__ import annotations

import math
import re
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
    if level is not None:  # notebook 06 no longer has a LEVEL (one threshold rule, thresholds.py)
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


# --- 3. directions that are not multiples of g: PPO-clip, KL, stale batches ------------------------
# (import of the new names from their real modules; the import lines above stay as they are)
from rlvr_core.simulators.off_policy import Variant, simulate_variant  # noqa: E402
from rlvr_core.simulators.sim import grid_runs  # noqa: E402
from rlvr_core.stats.thresholds import bootstrap_bracket, bracket_from_seeds  # noqa: E402

WINDOW = 30          # steps at the start of each run over which the direction's moments are taken
TRANSITION_BAND = (0.1, 0.9)  # width: first step with <= 10% passing / last of the >= 90% block
N_BOOT = 300
DIRECTIONS = {**{alg: (ALGORITHM_LABELS[alg], Variant(base=alg)) for alg in ALGORITHMS},
              "ppo_clip": ("GRPO + PPO-clip (4 epochs, eps 0.2)", Variant(epochs=4, clip=0.2)),
              "kl_small": ("GRPO + KL (beta 0.04)", Variant(beta=0.04)),
              "kl_large": ("GRPO + KL (beta 0.4)", Variant(beta=0.4)),
              "stale": ("GRPO, 4 steps stale", Variant(stale=4)),
              "stale_is": ("GRPO, 4 steps stale + IS", Variant(stale=4, importance=True))}
NEW_DIRECTIONS = ("ppo_clip", "kl_small", "kl_large", "stale", "stale_is")


def direction_sweep(phi, j0, max_length, group_size, s: Sizes, seed: int, progress=None) -> dict:
    """Every direction of ``DIRECTIONS`` on the step grid x ``s.seeds`` seeds (cached, one batch
    per direction): the final J, and per run the first ``WINDOW`` steps' sums of <w,g>, |w|^2,
    cos(w,g), of the vectors w and g (w: the effective direction (theta_{k+1} - theta_k)/eta)."""
    params = {"J0": j0, "Lmax": max_length, "G": group_size, "V": phi.shape[0], "etas": s.etas,
              "seeds": s.seeds, "steps": s.steps, "seed": seed, "window": WINDOW,
              "directions": {k: v.params() for k, (_, v) in DIRECTIONS.items()}}
    from rlvr_core.paper.token_policies import start_theta

    def compute():
        E = torch.tensor(s.etas, dtype=torch.float64)
        T, eta, _ = grid_runs(torch.tensor([float(max_length)]), E, torch.arange(s.seeds))
        out = {}
        names = list(DIRECTIONS) if progress is None else progress(list(DIRECTIONS))
        for name in names:
            o = simulate_variant(phi, start_theta(phi, j0), T, eta, DIRECTIONS[name][1],
                                 group_size=group_size, steps=s.steps, seed=seed)
            sh = (len(s.etas), s.seeds)
            w, g = o["w"][:, :WINDOW], o["g"][:, :WINDOW]
            cos = torch.nn.functional.cosine_similarity(w, g, dim=-1, eps=1e-300)
            out[name + "/final"] = o["J"][:, -1].reshape(sh).numpy()
            out[name + "/inner"] = o["inner"][:, :WINDOW].sum(-1).reshape(sh).numpy()
            out[name + "/norm2"] = o["norm2"][:, :WINDOW].sum(-1).reshape(sh).numpy()
            out[name + "/cos"] = cos.sum(-1).reshape(sh).numpy()
            out[name + "/w"] = w.sum(1).reshape(*sh, -1).numpy()
            out[name + "/g"] = g.sum(1).reshape(*sh, -1).numpy()
        return out
    res = cached("algorithms_direction_sweep", params, compute)
    stack = {k: np.stack([res[f"{n}/{k}"] for n in DIRECTIONS]) for k in
             ("final", "inner", "norm2", "cos", "w", "g")}  # [D, E, S, ...]
    return {**stack, "j0": j0, "etas": s.etas, "params": params, "steps": s.steps}


def _edge_statistics(sw: dict, idx, seeds) -> dict:
    """The window moments at grid index ``idx[d]`` of each direction, over the seeds ``seeds``."""
    D = len(idx)
    pick = lambda key: sw[key][np.arange(D), idx][:, seeds]  # noqa: E731  [D, S', ...]
    n = WINDOW * len(seeds)
    inner, norm2 = pick("inner").sum(1) / n, pick("norm2").sum(1) / n
    w, g = pick("w").sum(1), pick("g").sum(1)
    cos_mean = (w * g).sum(-1) / (np.linalg.norm(w, axis=-1) * np.linalg.norm(g, axis=-1))
    return {"inner": inner, "norm2": norm2, "cos": pick("cos").sum(1) / n, "cos_mean": cos_mean,
            "eta_pred": inner / norm2, "eta_base": 1 / np.sqrt(norm2)}


def _thresholds(passed, etas):
    """eta* per direction (shared rule: majority of seeds with J_K >= J_0, first failure): the
    bracket estimate, the last pass where censored; and the grid index of the last pass."""
    b = bracket_from_seeds(torch.as_tensor(passed), etas, name="ETAS")
    last = b.last_pass.numpy()
    est = np.where(np.isfinite(b.estimate.numpy()), b.estimate.numpy(), last)
    idx = np.searchsorted(np.asarray(etas), last)
    return b, est, np.clip(idx, 0, len(etas) - 1)


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr
    return float(spearmanr(x, y).statistic)


def direction_summary(sw: dict, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The algorithm table over ALL directions: the window moments of the update taken at each
    direction's own last passing step (cos(w,g) realised and of the mean, E<w,g>, E|w|^2, the
    theory's E<w,g>/E|w|^2 and the baseline 1/RMS|w|), eta* with a seed-bootstrap CI, each
    predictor's rank correlation with eta* with a seed-bootstrap CI, and the transition width."""
    etas = sw["etas"]
    passed = sw["final"] >= sw["j0"]  # [D, E, S]: a run passes when it does not end below J_0
    b, est, idx = _thresholds(passed, etas)
    S = passed.shape[-1]
    st = _edge_statistics(sw, idx, np.arange(S))
    ci = bootstrap_bracket(torch.as_tensor(passed), etas, n_boot=n_boot, seed=seed).numpy()
    rng = np.random.default_rng(seed)
    rho = {"theory": [], "baseline": []}
    for _ in range(n_boot):
        sel = rng.integers(S, size=S)
        _, est_b, idx_b = _thresholds(passed[..., sel], etas)
        st_b = _edge_statistics(sw, idx_b, sel)
        rho["theory"].append(_spearman(st_b["eta_pred"], est_b))
        rho["baseline"].append(_spearman(st_b["eta_base"], est_b))
    rho = {k: np.asarray(v) for k, v in rho.items()}
    diff = rho["theory"] - rho["baseline"]
    wb = bracket_from_seeds(torch.as_tensor(passed), etas, TRANSITION_BAND, name="ETAS")
    table = pd.DataFrame({
        "direction": [lab for lab, _ in DIRECTIONS.values()],
        "cos(w,g)": st["cos"], "cos(Ew,Eg)": st["cos_mean"], "E<w,g>": st["inner"],
        "E|w|^2": st["norm2"], "E<w,g>/E|w|^2": st["eta_pred"], "1/RMS|w|": st["eta_base"],
        "eta*": est, "CI low": ci[:, 0], "CI high": ci[:, 1],
        "bracket": [f"({lo:.3g}, {hi:.3g})" for lo, hi in zip(b.last_pass.tolist(), b.first_fail.tolist())]})
    q = lambda a: np.nanquantile(a, [0.05, 0.95])  # noqa: E731
    return {"table": table, "passed": passed, "eta_star": est,
            "rho": {"theory": (_spearman(st["eta_pred"], est), *q(rho["theory"])),
                    "baseline": (_spearman(st["eta_base"], est), *q(rho["baseline"]))},
            "rho_diff": (float(np.nanmean(diff)), *q(diff)),
            "width": (wb.first_fail / wb.last_pass).numpy(),
            "width_bound": (etas[-1] / wb.last_pass).numpy(), "n_boot": n_boot}


def direction_table(ds: dict) -> str:
    """The algorithm table, three significant digits."""
    return ds["table"].to_string(index=False, float_format="{:.3g}".format)


def direction_verdict(ds: dict) -> str:
    """Which predictor ranks eta* better over all directions: the theory only when the CI of the
    difference of the two rank correlations excludes 0 (and likewise for the baseline)."""
    (rt, lt, ht), (rb, lb, hb) = ds["rho"]["theory"], ds["rho"]["baseline"]
    _, ld, hd = ds["rho_diff"]
    if ld > 0:
        who = "the theory's predictor ranks the thresholds better than the baseline"
    elif hd < 0:
        who = "the baseline ranks the thresholds better than the theory's predictor"
    else:
        who = "neither predictor ranks the thresholds better than the other"
    return (f"[measured] Over all {len(ds['table'])} directions, rank correlation with eta*: "
            f"theory E<w,g>/E|w|^2 {rt:.2f} (90% seed-bootstrap CI [{lt:.2f}, {ht:.2f}]), baseline "
            f"1/RMS|w| {rb:.2f} [{lb:.2f}, {hb:.2f}]; difference theory - baseline CI "
            f"[{ld:.2f}, {hd:.2f}]: {who}.")


def transition_verdict(ds: dict) -> str:
    """How sharp the threshold is: the ratio (first step with <= 10% of seeds passing) / (end of
    the leading block with >= 90% passing), per direction; where no step of the grid falls to
    <= 10%, the grid's end / the block's end is a lower bound."""
    w, bound = ds["width"], ds["width_bound"]
    fin = np.isfinite(w)
    both = np.where(fin, w, bound)
    return (f"[measured] Transition width (first eta with <= 10% of seeds passing / last eta of "
            f"the leading >= 90% block): factor {np.min(w[fin]):.2g} to {np.max(w[fin]):.2g} for "
            f"the {fin.sum()} of {len(w)} directions that fall to <= 10% on the grid; the other "
            f"{(~fin).sum()} never do (width > {np.min(bound[~fin]):.2g}); median over all, counting "
            f"the bounds: > {np.median(both):.2g}"
            + (": well over the factor 2 of a sharp threshold; the fraction of seeds that collapse "
               "rises gradually with eta." if np.median(both) > 2 else ".") if (~fin).any() else
            f"[measured] Transition width: median factor {np.median(w):.2g} "
            f"(range {w.min():.2g} to {w.max():.2g}).")


def _short_label(direction: str) -> str:
    """A direction's name without its parenthetical, except the KL weight that tells two apart."""
    return re.sub(r" \(beta ([0-9.]+)\)", r", β=\1", direction).split(" (")[0]


def plot_directions(ds: dict):
    """Measured eta* (with CI) against the theory's E<w,g>/E|w|^2 and the baseline 1/RMS|w|."""
    tab = ds["table"]
    new = np.array([k in NEW_DIRECTIONS for k in DIRECTIONS])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    err = np.abs(np.stack([tab["eta*"] - tab["CI low"], tab["CI high"] - tab["eta*"]]))
    for ax, col, name in zip(axes, ["E<w,g>/E|w|^2", "1/RMS|w|"], ["theory", "baseline"]):
        for m, mk, lab in ((~new, "o", "multiples of g"), (new, "s", "PPO-clip / KL / stale")):
            ax.errorbar(tab[col][m], tab["eta*"][m], yerr=np.nan_to_num(err[:, m]), fmt=mk, ms=5,
                        capsize=2, label=lab)
        # directions that share a grid bracket sit at one eta*: their labels are stacked apart
        rank = tab.groupby("eta*")[col].rank(method="first") - 1
        size = tab.groupby("eta*")[col].transform("size")
        for i, row in tab.iterrows():
            ax.annotate(_short_label(row["direction"]), (row[col], row["eta*"]), fontsize=6,
                        xytext=(3, 8 * (rank[i] - (size[i] - 1) / 2)), textcoords="offset points",
                        va="center")
        r, lo, hi = ds["rho"][name]
        ax.set(xscale="log", yscale="log", xlabel=f"{name}: {col} (at the edge)",
               ylabel="measured $\\eta^*$ (majority of seeds end at $J\\geq J_0$)",
               title=f"{name}: Spearman {r:.2f} [{lo:.2f}, {hi:.2f}]")
        ax.legend(fontsize=7)
    return fig


def plot_transition(ds: dict, etas):
    """Fraction of seeds passing against eta / eta* for every direction."""
    fig, ax = plt.subplots(figsize=(6, 4))
    frac = ds["passed"].mean(-1)
    for d, (lab, _) in enumerate(DIRECTIONS.values()):
        ax.semilogx(np.asarray(etas) / ds["eta_star"][d], frac[d], "-", lw=1, label=lab)
    ax.axhline(0.5, color="k", lw=0.7, ls=":")
    ax.set(xlabel="$\\eta/\\eta^*$", ylabel="fraction of seeds with $J_K\\geq J_0$",
           title="how sharp is the threshold")
    ax.legend(fontsize=6)
    return fig


def alignment_contrast(sw: dict) -> dict:
    """Negative control of the new directions: at the base GRPO's last passing step (one grid
    index for all), each new direction's mean realised cos(w,g) over the first ``WINDOW`` steps
    minus GRPO's, in Monte-Carlo standard errors (seed spread of the per-run window means)."""
    passed = sw["final"] >= sw["j0"]
    _, _, idx = _thresholds(passed, sw["etas"])
    names = list(DIRECTIONS)
    i = int(idx[names.index("grpo")])
    per_run = sw["cos"][:, i] / WINDOW  # [D, S]
    S = per_run.shape[-1]
    base = per_run[names.index("grpo")]
    out = {}
    for n in NEW_DIRECTIONS:
        x = per_run[names.index(n)]
        se = math.sqrt(x.var(ddof=1) / S + base.var(ddof=1) / S)
        out[n] = (float(x.mean() - base.mean()), se)
    return {"eta": sw["etas"][i], "diff": out}


def contrast_verdict(c: dict) -> str:
    """The alignment contrast of ``alignment_contrast`` in words: the difference of each new
    direction's mean realised cos(w,g) from GRPO's, in standard errors."""
    parts = [f"{DIRECTIONS[n][0]} {d:+.2f} ({abs(d) / se:.1f} SE)" for n, (d, se) in c["diff"].items()]
    return (f"[measured] mean realised cos(w,g) minus GRPO's at eta = {c['eta']:.3g} (first "
            f"{WINDOW} steps, seeds' spread): " + "; ".join(parts) + ".")


def progress(items):
    """A progress bar over the directions of a sweep, on the kernel's terminal (not in the cell)."""
    from tqdm.auto import tqdm
    import sys
    return tqdm(items, desc="directions", file=sys.__stderr__, leave=False)
