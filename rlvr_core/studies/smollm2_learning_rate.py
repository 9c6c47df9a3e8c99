"""Notebook 08's study: the learning-rate threshold of GRPO on SmolLM2-135M-Instruct at a
24-token completion cap, read from the stored runs (``results/llm/smollm2``) by the companion's
rule, with its seeds; ``dr_grpo`` and AdamW (with and without clipping) by the same rule; the
fixed evaluation set against the training batches. Sentences quote the computed numbers.

A run takes tens of minutes on 2 cores, so the notebook re-plots the stored runs; ``recompute``
is its own switch, never implied by the profile."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..llm.evaluation import evaluation_rows, starting_success
from ..llm.smollm2 import is_available
from ..stats.fit import wilson_interval
from ..llm.sweeps import (SE_MULT, SMOLLM2_ADAMW_LRS, by_setting, final_success,
                          mean_curve, run_all, smollm2_adamw_configs, smollm2_dr_grpo_plan,
                          smollm2_fine_plan, smollm2_plan, smollm2_runs, smollm2_seed_plan,
                          sort_runs, stable_fraction, sweep_summary, sweep_table, threshold,
                          threshold_ci)

NOTEBOOK = "08_smollm2_learning_rate"
GRPO = "grpo, SGD"
COMPARISONS = {"dr_grpo / grpo (SGD)": ("dr_grpo, SGD", "grpo, SGD"),
               "AdamW clipping 1 / clipping off": ("grpo, AdamW, clipping 1", "grpo, AdamW")}


def sizes(profile: str) -> list:
    """The planned runs (every set of the notebook). A SmolLM2 run costs tens of minutes, so both
    profiles read the same stored plan; ``profile`` is validated by the notebook and kept for the
    common interface."""
    del profile
    return (smollm2_plan() + smollm2_seed_plan() + smollm2_dr_grpo_plan()
            + smollm2_adamw_configs(SMOLLM2_ADAMW_LRS) + smollm2_fine_plan())


def load(plan: list, recompute: bool = False) -> SimpleNamespace:
    """The stored runs at the 24-token cap (``recompute=True`` reruns the plan, where the model's
    wheel is installed) and the starting model's success J0 on the fixed evaluation set."""
    redo = recompute and is_available()
    runs = sort_runs(run_all(plan, refresh=True)) if redo else smollm2_runs()
    start = starting_success(plan[0], refresh=recompute, compute=redo)
    if start is None or not by_setting(runs).get(GRPO):
        raise SystemExit("no stored SmolLM2 results: install requirements-llm.txt and set RECOMPUTE=True")
    return SimpleNamespace(runs=runs, start=start, sets=by_setting(runs), plan=plan, recomputed=redo,
                           J0=start["success"], J0_se=start["se"])


def runs_line(d: SimpleNamespace) -> str:
    where = "recomputed" if d.recomputed else "from results/llm/smollm2"
    return f"{len(d.runs)} of {len(d.plan)} planned SmolLM2 runs ({where})"


def runs_table(d: SimpleNamespace) -> pd.DataFrame:
    """One row per setting: its runs, rates, seeds, evaluation sets, cost and provenance."""
    def row(name, runs):
        prov = [r["provenance"] for r in runs]
        return {"setting": name, "runs": len(runs),
                "rates": " ".join(f"{lr:g}" for lr in sorted({r["config"]["learning_rate"] for r in runs})),
                "seeds": " ".join(map(str, sorted({r["config"]["seed"] for r in runs}))),
                "with evaluation set": sum(bool(r.get("eval")) for r in runs),
                "s/step (median)": np.median([p["seconds_per_step"] for p in prov]),
                "LM head on completions only": sum(p.get("lm_head_positions") == "completion" for p in prov),
                "threads": " ".join(map(str, sorted({p.get("torch_threads") for p in prov}))),
                "trl": " ".join(sorted({p["versions"]["trl"] for p in prov}))}
    return pd.DataFrame([row(n, rs) for n, rs in d.sets.items()]).set_index("setting").round(1)


# ---- §1 grpo's threshold ------------------------------------------------------------------------

def grpo_sweep(d: SimpleNamespace) -> SimpleNamespace:
    """The grpo (SGD) sweep read by the rule, with the share of replies at the cap per rate."""
    runs = d.sets[GRPO]
    lrs, seeds, final = sweep_table(runs)
    clipped = {lr: np.mean([m.get("completions/clipped_ratio", np.nan) for r in runs for m in r["metrics"]
                            if r["config"]["learning_rate"] == lr]) for lr in lrs}
    return SimpleNamespace(runs=runs, lrs=lrs, seeds=seeds, final=final, J0=d.J0, J0_se=d.J0_se,
                           recomputed=d.recomputed,
                           frac=stable_fraction(final, d.J0, d.J0_se),
                           bracket=threshold(lrs, final, d.J0, se=d.J0_se),
                           ci=threshold_ci(lrs, final, d.J0, d.J0_se), clipped=clipped,
                           complete=int((~np.isnan(final)).all(0).sum()),
                           L_max=runs[0]["config"]["max_completion_length"])


def grpo_table(g: SimpleNamespace, start: dict) -> str:
    lines = [f"J0 = {g.J0:.3f} ± {g.J0_se:.3f} (evaluation set, {start['n']} completions); "
             f"stable: final >= {g.J0 - SE_MULT * g.J0_se:.3f}",
             "lr       " + "  ".join(f"seed {s}" for s in g.seeds) + "  stable (Wilson 90%)"]
    for lr, row, f in zip(g.lrs, g.final, g.frac):
        n = int((~np.isnan(row)).sum())
        k = int(round(f * n)) if n else 0
        lo, hi = wilson_interval(k, n)
        lines.append(f"{lr:<8g} " + "  ".join("   -  " if np.isnan(v) else f"{v:6.2f}" for v in row)
                     + f"  {k}/{n} [{lo:.2f}, {hi:.2f}]")
    b = g.bracket
    lines.append(f"threshold: stable <= {b.last_pass:.2g}, collapsed >= {b.first_fail:.2g}, estimate "
                 f"{b.estimate:.2g}, seed-bootstrap range [{g.ci[0]:.2g}, {g.ci[1]:.2g}] (seeds complete "
                 f"at every rate: {g.complete}; 3 seeds have 10 distinct resamples: a range, not a "
                 f"calibrated CI)")
    lines.append(f"share of replies at the {g.L_max}-token cap, grpo: "
                 + ", ".join(f"{g.clipped[lr]:.0%} at η = {lr:g}" for lr in g.lrs))
    return "\n".join(lines)


def threshold_sentence(g: SimpleNamespace) -> str:
    """§1's verdict: the stable fraction from the smallest to the largest rate, and the bracket."""
    b, steps = g.bracket, g.lrs[1:] / g.lrs[:-1]
    return (f"[measured] From J0 = {g.J0:.2f} ± {g.J0_se:.2f}, the grpo stable fraction falls from "
            f"{g.frac[0]:.2f} at η = {g.lrs[0]:g} to {g.frac[-1]:.2f} at η = {g.lrs[-1]:g}; the rule puts "
            f"the threshold between {b.last_pass:.2g} and {b.first_fail:.2g} (estimate {b.estimate:.2g}, "
            f"seed-bootstrap range [{g.ci[0]:.2g}, {g.ci[1]:.2g}] over {g.complete} seeds; the grid's steps are "
            f"×{steps.min():.1f} to ×{steps.max():.1f}, so the bracket is that coarse).")


def plot_grpo(g: SimpleNamespace):
    """§1's figure: per-seed success and reply length per step, and final success per seed against
    the rate with the rule's band and the threshold's CI; saved, returned for the notebook to show."""
    import matplotlib.pyplot as plt

    from rlvr_core.notebook.figures import rate_colours, savefig

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    colour = rate_colours(fig, axes[1], g.lrs)
    for lr in g.lrs:
        runs_lr = [r for r in g.runs if r["config"]["learning_rate"] == lr]
        for r in runs_lr:
            axes[0].plot([m["reward"] for m in r["metrics"]], color=colour[lr], lw=0.7, alpha=0.5)
            axes[1].plot([m["completions/mean_length"] for m in r["metrics"]], color=colour[lr], lw=0.7,
                         alpha=0.5)
        axes[0].plot(mean_curve(runs_lr), color=colour[lr], lw=2.2)
        axes[2].scatter(np.full(len(runs_lr), lr), [final_success(r) for r in runs_lr], color=colour[lr],
                        zorder=3)
    axes[0].axhline(g.J0, color="k", ls=":", lw=1)
    axes[0].set(xlabel="GRPO step", ylabel="batch success rate", ylim=(-0.05, 1.05),
                title="SmolLM2, grpo, SGD (thin: seeds, thick: mean)")
    axes[1].axhline(24, color="k", ls=":", lw=1)
    axes[1].set(xlabel="GRPO step", ylabel="mean reply length (tokens)", title="reply length (dotted: the cap)")
    axes[2].axhspan(g.J0 - SE_MULT * g.J0_se, g.J0 + SE_MULT * g.J0_se, color="k", alpha=0.1,
                    label=r"$J_0\pm2$ s.e.")
    if np.all(np.isfinite(g.ci)):
        axes[2].axvspan(*g.ci, color="C3", alpha=0.15, label="threshold, 90% CI")
    axes[2].axvline(g.bracket.estimate, color="C3", lw=1.2, label="threshold estimate")
    axes[2].set(xscale="log", xlabel="learning rate η", ylabel="success, last 5 steps", ylim=(-0.05, 1.05),
                title="per seed, with the rule's band")
    axes[2].legend(fontsize=8, loc="upper right")
    savefig(fig, "llm_lr_threshold_smollm2", notebook=NOTEBOOK, claim="P8",
            params={"runs": [r["key"] for r in g.runs], "cached": not g.recomputed},
            caption="SmolLM2-135M-Instruct under GRPO with plain SGD: per-seed curves and the "
                    "learning-rate threshold by the companion's rule (cached runs).")
    return fig


# ---- §2 the other settings ----------------------------------------------------------------------

def settings(d: SimpleNamespace) -> SimpleNamespace:
    """Every setting by the same rule and J0, and the two threshold ratios the algebra predicts to
    be about 1 (compared only with two seeds complete at every rate)."""
    summary = {name: sweep_summary(runs, d.J0, d.J0_se) for name, runs in d.sets.items()}
    ratios = {}
    for label, (num, den) in COMPARISONS.items():
        if num in summary and den in summary:
            a, b = summary[num], summary[den]
            ready = min(a["complete_seeds"], b["complete_seeds"]) >= 2
            ratios[label] = a["bracket"].estimate / b["bracket"].estimate if ready else math.nan
    lrs = np.asarray(summary[GRPO]["lrs"])
    return SimpleNamespace(summary=summary, ratios=ratios, grid_step=float(np.max(lrs[1:] / lrs[:-1])),
                           T_bar=d.start["mean_length"], L_max=d.sets[GRPO][0]["config"]["max_completion_length"],
                           s_per_step=float(np.median([r["provenance"]["seconds_per_step"] for r in d.runs])))


def settings_report(st: SimpleNamespace) -> str:
    lines = []
    for name, sm in st.summary.items():
        if name == GRPO:
            continue                                   # §1's table
        lines.append(f"{name}: lr -> final success per seed {tuple(int(s) for s in sm['seeds'])} | "
                     "stable fraction")
        for lr, row, f in zip(sm["lrs"], sm["final"], sm["stable_fraction"]):
            lines.append(f"  {lr:<8g} " + "  ".join("   -" if np.isnan(v) else f"{v:4.2f}" for v in row)
                         + f"  | {f:.2f}")
    lines.append(f"mean reply length at the start {st.T_bar:.1f} tokens (cap {st.L_max}): predicted "
                 f"dr_grpo / grpo threshold ratio {st.L_max / st.T_bar:.2f}; one grid step = "
                 f"x{st.grid_step:.1f}")
    for label, (num, den) in COMPARISONS.items():
        if label not in st.ratios:
            lines.append(f"{label}: not run yet")
            continue
        a, b = st.summary[num]["bracket"].estimate, st.summary[den]["bracket"].estimate
        lines.append(f"{label}: {a:.3g} / {b:.3g} = {st.ratios[label]:.2f}"
                     + ("" if np.isfinite(st.ratios[label]) else " (fewer than 2 seeds at every rate: "
                                                                 "not compared)"))
    return "\n".join(lines)


def settings_table(st: SimpleNamespace) -> pd.DataFrame:
    """One row per setting: the bracket, its estimate and seed-bootstrap range (rates span 1e-5 to 0.3: 2 digits)."""
    rows = [{"setting": name, "runs": sm["runs"], "rates": len(sm["lrs"]),
             "seeds per rate (fewest)": sm["min_seeds"],
             "stable <=": sm["bracket"].last_pass, "collapsed >=": sm["bracket"].first_fail,
             "estimate": sm["bracket"].estimate, "bootstrap low": sm["ci"][0], "bootstrap high": sm["ci"][1]}
            for name, sm in st.summary.items()]
    return pd.DataFrame(rows).set_index("setting").map(lambda v: f"{v:.2g}" if isinstance(v, float) else v)


def settings_sentence(st: SimpleNamespace) -> str:
    """§2's verdict: each other setting's bracket, and the two ratios against the predicted ≈1."""
    parts = []
    for name, sm in st.summary.items():
        if name == GRPO:
            continue
        s = "s" * (sm["min_seeds"] > 1)
        text = (f"{name}: {sm['runs']} runs at {len(sm['lrs'])} rates (at least {sm['min_seeds']} seed{s} "
                f"each), stable up to {sm['bracket'].last_pass:.2g}")
        text += (f", collapsed from {sm['bracket'].first_fail:.2g}" if np.isfinite(sm["bracket"].first_fail)
                 else ", no rate collapsed (the threshold lies above the grid)")
        text += (f" (seed-bootstrap range [{sm['ci'][0]:.2g}, {sm['ci'][1]:.2g}])" if np.all(np.isfinite(sm["ci"]))
                 else f" ({sm['complete_seeds']} seed{'s' * (sm['complete_seeds'] != 1)} at every rate: "
                      "too few for a bootstrap range)")
        parts.append(text + ".")
    for label, r in st.ratios.items():
        parts.append(f"The {label} threshold ratio is {r:.2f}, "
                     + ("inside" if within_step(r, st.grid_step) else "outside")
                     + " one grid step of the predicted ≈1." if np.isfinite(r)
                     else f"The {label} ratio is not compared yet (fewer than 2 seeds at every rate).")
    return "[measured] " + " ".join(parts)


def within_step(ratio: float, step: float) -> bool:
    """Two bracket estimates on a grid of this step agree when they differ by at most one step."""
    return bool(1 / (1.01 * step) <= ratio <= 1.01 * step)


def evaluations(d: SimpleNamespace) -> SimpleNamespace:
    """The fixed evaluation set's success against the training batches' (what the rule reads): z of
    their difference and whether both give the same stable/collapsed verdict, at each run's end."""
    ev = pd.DataFrame(evaluation_rows(d.runs))
    cut = d.J0 - SE_MULT * d.J0_se
    if len(ev):
        ev["z"] = (ev["evaluation success"] - ev["training success"]) / np.sqrt(
            ev["se"] ** 2 + ev["training se"] ** 2)
        ev["same verdict"] = (ev["evaluation success"] >= cut) == (ev["training success"] >= cut)
    end = ev[ev["step"] == ev["step"].max()] if len(ev) else ev
    return SimpleNamespace(table=ev, end=end, cut=cut)


def evaluations_report(ev: SimpleNamespace) -> str:
    if not len(ev.table):
        return "no stored run carries the evaluation set yet"
    t, end = ev.table, ev.end
    runs = t[["setting", "learning_rate", "seed"]].drop_duplicates().shape[0]
    return (f"{len(t)} evaluations of {runs} runs; evaluation-set s.e. at most {t['se'].max():.3f}\n"
            f"at the end: the rule's verdict (stable: >= {ev.cut:.3f}) from the evaluation set agrees "
            f"with the training batches' in {int(end['same verdict'].sum())} of {len(end)} runs; "
            f"|z| <= 2 in {int((end['z'].abs() <= 2).sum())} of {len(end)} (z: the difference over its s.e.)")


def evaluations_sentence(ev: SimpleNamespace) -> str:
    if not len(ev.table):
        return "[measured] No stored run carries the evaluation set yet."
    end = ev.end
    return (f"[measured] The fixed evaluation set (64 problems × 2 completions, s.e. ≤ "
            f"{ev.table['se'].max():.2f}) and the training batches give the same stable/collapsed "
            f"verdict at the end of {int(end['same verdict'].sum())} of {len(end)} runs (the difference "
            f"is within 2 s.e. in {int((end['z'].abs() <= 2).sum())}).")


def plot_settings(d: SimpleNamespace, st: SimpleNamespace, ev: SimpleNamespace):
    """§2's figure: one panel per other setting (per-seed curves, mean, range band, evaluation-set
    points) and the evaluation set against the training batches; saved, returned to show."""
    import matplotlib.pyplot as plt

    from rlvr_core.notebook.figures import savefig

    names = [n for n in st.summary if n != GRPO]
    n_panels = len(names) + 1
    n_cols = min(3, n_panels)
    n_rows = -(-n_panels // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(5 * n_cols, 4.4 * n_rows), squeeze=False,
                             layout="constrained")
    axes = axes.ravel()
    for ax in axes[n_panels:]:
        ax.remove()
    for ax, name in zip(axes, names):
        _setting_panel(fig, ax, name, st.summary[name], d.sets[name], d.J0)
    _evaluation_panel(axes[n_panels - 1], ev)
    fig.suptitle("SmolLM2-135M-Instruct. Curves: thin per seed, thick the mean, band the range over seeds; "
                 "diamonds: evaluation set ± 2 s.e.\nRight: each run's middle and end evaluation; dotted "
                 "lines: the rule's cut", fontsize=10)
    savefig(fig, "llm_settings_smollm2", notebook=NOTEBOOK, claim="P8",
            params={"runs": [r["key"] for s_ in names for r in d.sets[s_]], "cached": not d.recomputed},
            caption="SmolLM2-135M-Instruct: dr_grpo and AdamW sweeps (per-seed curves, evaluation-set "
                    "points) and the evaluation set against the training batches.")
    return fig


def _setting_panel(fig, ax, name, sm, runs, J0):
    from rlvr_core.notebook.figures import rate_colours

    colour = rate_colours(fig, ax, sm["lrs"])
    for lr in sm["lrs"]:
        runs_lr = [r for r in runs if r["config"]["learning_rate"] == lr]
        for r in runs_lr:
            ax.plot([m["reward"] for m in r["metrics"]], color=colour[lr], lw=0.7, alpha=0.5)
            for e in r.get("eval", []):
                ax.errorbar(e["step"], e["success"], yerr=2 * e["se"], fmt="D", ms=4, color=colour[lr],
                            capsize=2, alpha=0.8)
        ax.plot(mean_curve(runs_lr), color=colour[lr], lw=2.2)
        if len(runs_lr) > 1:                      # band: the range over seeds
            curves = np.array([[m["reward"] for m in r["metrics"]] for r in runs_lr])
            ax.fill_between(np.arange(curves.shape[1]), curves.min(0), curves.max(0),
                            color=colour[lr], alpha=0.12, lw=0)
    ax.axhline(J0, color="k", ls=":", lw=1)
    ax.set(xlabel="GRPO step", ylabel="success rate", ylim=(-0.05, 1.05), title=f"{name} ({len(runs)} runs)")


def _evaluation_panel(ax, ev):
    if len(ev.table):
        for i, (name, grp) in enumerate(ev.table.groupby("setting", sort=False)):
            ax.errorbar(grp["training success"], grp["evaluation success"], xerr=2 * grp["training se"],
                        yerr=2 * grp["se"], fmt="o", color=f"C{i}", ms=4, alpha=0.8, label=name)
        ax.axhline(ev.cut, color="k", ls=":", lw=0.8)
        ax.axvline(ev.cut, color="k", ls=":", lw=0.8)
    ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--")
    ax.set(xlabel="training batches, last 5 steps (± 2 s.e.)", ylabel="evaluation set (± 2 s.e.)",
           title="evaluation set vs training batches", xlim=(-0.05, 1.05), ylim=(-0.05, 1.05))
    ax.legend(fontsize=8, loc="upper left")


def cap_sentence(st: SimpleNamespace) -> str:
    """[derived] Why this cap cannot show length normalisation: L_max / mean length vs the grid."""
    return (f"[derived] With replies of mean length {st.T_bar:.0f} under a cap of {st.L_max}, GRPO's 1/|o| "
            f"and Dr. GRPO's 1/max_completion_length differ by a factor of about {st.L_max / st.T_bar:.1f}, "
            f"less than one step of the grid (×{st.grid_step:.1f}), so this cap cannot show length "
            f"normalisation at work. Cost: a median of {st.s_per_step:.0f} s per step, two runs sharing "
            "the 2 cores (1 thread each).")

