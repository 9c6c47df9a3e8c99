"""Notebook 09's study: does TRL's ``loss_type`` (``grpo``'s 1/|o| against ``dr_grpo``'s
1/max_completion_length) move SmolLM2-135M's learning-rate threshold at a completion cap the
replies fit in (128 tokens)? The pre-registered rule and criterion live in
``rlvr_core.llm.midpoints`` (fixed before the midpoint runs); this module reads the stored runs
(``results/llm/smollm2``, ``max_completion_length: 128``), tabulates and plots them, and words the
verdict from the computed numbers."""
from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..llm import midpoints
from ..llm.evaluation import starting_success
from ..llm.smollm2 import is_available
from ..llm.sweeps import (SE_MULT, SMOLLM2_LONG_CAP, by_setting, final_success, run_all,
                          smollm2_long_plan, smollm2_runs, sort_runs, sweep_summary)
from rlvr_core.studies import smollm2_learning_rate as short_cap

NOTEBOOK = "09_smollm2_length_normalisation"
LOSS_TYPES = ("grpo", "dr_grpo")


def sizes(profile: str) -> list:
    """The planned 128-token runs: five rates × three seeds per loss type, then the pre-registered
    midpoints (three seeds each). A run costs up to an hour on 2 cores, so both profiles read the
    same stored plan; ``profile`` is validated by the notebook and kept for the common interface."""
    del profile
    base = {(c.loss_type, c.seed): c for c in smollm2_long_plan(midpoints.SEEDS)}
    mids = [dataclasses.replace(base[(lt, s)], learning_rate=lr)
            for s in midpoints.SEEDS for lt, lrs in midpoints.MIDPOINTS.items() for lr in lrs]
    return smollm2_long_plan() + mids


def load(plan: list, recompute: bool = False) -> SimpleNamespace:
    """The stored 128-token runs (``recompute=True`` reruns the plan, where the model's wheel is
    installed), the starting model's success at both caps, and the 24-token runs' step-normaliser
    ratio (the negative control's second value)."""
    redo = recompute and is_available()
    runs = sort_runs(run_all(plan, refresh=True)) if redo else smollm2_runs(SMOLLM2_LONG_CAP)
    short = short_cap.load(short_cap.sizes("default"))
    start = starting_success(plan[0], compute=False)
    if not runs or start is None:
        raise SystemExit("no stored 128-token SmolLM2 runs: scripts/cap128_midpoints.py run, or RECOMPUTE=True")
    n_mid = len(midpoints.SEEDS) * sum(len(v) for v in midpoints.MIDPOINTS.values())
    stored_mid = sum(r["config"]["learning_rate"] in midpoints.MIDPOINTS[r["config"]["loss_type"]]
                     for r in runs)
    return SimpleNamespace(runs=runs, plan=plan, start=start, short=short, J0=start["success"],
                           J0_se=start["se"], cut=start["success"] - midpoints.SE_MULT * start["se"],
                           n_mid=n_mid, stored_mid=stored_mid,
                           short_ratio=short_cap.settings(short).ratios.get("dr_grpo / grpo (SGD)", 1.0))


def runs_line(d: SimpleNamespace) -> str:
    n_planned = len(d.plan) - d.n_mid
    return (f"{len(d.runs)} runs at the {SMOLLM2_LONG_CAP}-token cap are stored: {len(d.runs) - d.stored_mid} "
            f"of the {n_planned} planned and {d.stored_mid} of the {d.n_mid} pre-registered midpoints "
            "(scripts/cap128_midpoints.py run adds the missing ones)")


def lengths_report(d: SimpleNamespace) -> str:
    """How long the starting model's replies want to be: the evaluation set at a 128-token cap,
    against the share cut at the 24-token cap of notebook 08."""
    s, q = d.start, d.start["length_quantiles"]
    return (f"replies capped at 128 tokens: success {s['success']:.2f} ± {s['se']:.2f}; length median "
            f"{q['50']:.0f}, 90th percentile {q['90']:.0f}, 99th {q['99']:.0f} tokens; {s['clipped']:.0%} at "
            f"the cap ({s['n']} replies sampled in {s['provenance']['seconds']:.0f} s); at the 24-token "
            f"cap: {d.short.start['clipped']:.0%} at the cap")


def prediction_sentence(d: SimpleNamespace) -> str:
    """[derived] The two readings of the factor: L_max / mean length, and the pre-registered
    step-1 gradient-norm ratio with its band."""
    lo, hi = midpoints.PREDICTED["band"]
    r_lo, r_hi = midpoints.PREDICTED["range"]
    return (f"[derived] Mean reply length of the starting model {d.start['mean_length']:.1f} tokens: "
            f"L_max / mean length = {SMOLLM2_LONG_CAP / d.start['mean_length']:.2f}. Pre-registered "
            f"prediction (step-1 gradient-norm ratio): {midpoints.PREDICTED['median']} (seeds {r_lo} to "
            f"{r_hi}); it holds when the refined threshold ratio lies in [{lo:.1f}, {hi:.1f}].")


def table(d: SimpleNamespace) -> pd.DataFrame:
    """One row per 128-token run: its success and share of replies at the cap over the last 5
    steps, the pre-registered verdict, reply length, device, cost and starting weights."""
    def row(r):
        c, p, last = r["config"], r["provenance"], r["metrics"][-5:]
        return {"loss_type": c["loss_type"], "lr": c["learning_rate"], "seed": c["seed"],
                "success, last 5 steps": final_success(r),
                "at the cap, last 5 steps": np.mean([m["completions/clipped_ratio"] for m in last]),
                "verdict": "stable" if midpoints.seed_stable(r, d.cut) else "collapsed",
                "length, last 5 steps": np.mean([m["completions/mean_length"] for m in last]),
                "device": p.get("gpu") or f"CPU, {p['cpu']['torch_threads']} thread(s)",
                "s/step": p["seconds_per_step"], "starting weights": p.get("weights")}
    return pd.DataFrame([row(r) for r in d.runs]).sort_values(["loss_type", "lr", "seed"], ignore_index=True)


def shown_table(t: pd.DataFrame) -> pd.DataFrame:
    return t.round(2).assign(lr=t["lr"].map("{:g}".format))


def rule_line(d: SimpleNamespace) -> str:
    return (f"J0 at the {SMOLLM2_LONG_CAP}-token cap = {d.J0:.3f} ± {d.J0_se:.3f}; a seed is stable when under "
            f"half its replies end at the cap and its success is >= {d.cut:.3f} (last 5 steps)")


def starting_weights(d: SimpleNamespace) -> int:
    """How many distinct starting-weights hashes the 128- and 24-token runs record (1: one model)."""
    return len({r["provenance"].get("weights") for r in d.runs + d.short.runs if r["provenance"].get("weights")})


def verdict(d: SimpleNamespace):
    """The pre-registered rule and criterion on every stored 128-token run."""
    return midpoints.evaluate(d.runs, d.cut)


def success_only(d: SimpleNamespace) -> SimpleNamespace:
    """Reported, not scored: the 24-token rule (success only, chosen after the first 30 runs were
    seen) on the same runs, and the ratio it gives."""
    summary = {name: sweep_summary(runs, d.J0, d.J0_se) for name, runs in by_setting(d.runs).items()}
    ratio = math.nan
    if {"grpo, SGD", "dr_grpo, SGD"} <= set(summary):
        ratio = summary["dr_grpo, SGD"]["bracket"].estimate / summary["grpo, SGD"]["bracket"].estimate
    return SimpleNamespace(summary=summary, ratio=ratio)


def success_only_report(so: SimpleNamespace, d: SimpleNamespace) -> str:
    lines = [f"{name}, success only: stable <= {sm['bracket'].last_pass:.2g}, collapsed >= "
             f"{sm['bracket'].first_fail:.2g}, estimate {sm['bracket'].estimate:.2g} (rates with fewer "
             f"than 3 seeds count)" for name, sm in so.summary.items()]
    lines.append(f"ratio by the success-only rule: {so.ratio:.2f}; mean reply length of the starting "
                 f"model {d.start['mean_length']:.1f} tokens, L_max / mean length = "
                 f"{SMOLLM2_LONG_CAP / d.start['mean_length']:.2f}")
    return "\n".join(lines)


OUTCOME = {True: "holds", False: "fails (not reproduced)"}


def verdict_sentence(v, d: SimpleNamespace) -> str:
    """The headline: the two brackets, their ratio against the prediction and the band, and the
    pre-registered outcome."""
    if v.holds is None:
        return (f"[measured] The pre-registered test is not decided yet: {v.midpoint_runs} of {d.n_mid} "
                "midpoint runs are stored.")
    br, (lo, hi) = v.brackets, midpoints.PREDICTED["band"]
    return (f"[measured] Pre-registered rule on {len(d.runs)} runs: grpo's threshold lies in "
            f"({br['grpo'].last_pass:g}, {br['grpo'].first_fail:g}], dr_grpo's in "
            f"({br['dr_grpo'].last_pass:g}, {br['dr_grpo'].first_fail:g}]; the ratio of their midpoints is "
            f"{v.ratio:.2f} against the predicted {midpoints.PREDICTED['median']} (band [{lo:.1f}, {hi:.1f}]), "
            f"so the prediction {OUTCOME[v.holds]}.")


def evidence_sentence(v, t: pd.DataFrame) -> str:
    """What stands behind the brackets: stable counts, sanity conditions, same-rate Fisher tests,
    and the devices the runs were made on."""
    devices = t.groupby("device")["s/step"].agg(["size", "median"])
    counts = "; ".join(f"{lt} " + ", ".join(f"{lr:g}: {sum(s)}/{len(s)}" for lr, s in by.items())
                       for lt, by in v.by_rate.items())
    sanity = ", ".join(f"{k}: {'not all seeds run' if ok is None else ('yes' if ok else 'no')}"
                       for k, ok in v.sanity.items())
    fisher = "; ".join(f"η = {'+'.join(f'{r:g}' for r in rates)}: {dd[0]}/{dd[1]} against {g[0]}/{g[1]}, "
                       f"p = {p:.2f}" for rates, dd, g, p in v.same_rate)
    made = ", ".join(f"{int(row['size'])} on {dev} at a median {row['median']:.0f} s per step"
                     for dev, row in devices.iterrows())
    return (f"[measured] Stable seeds per rate: {counts}. Sanity conditions: {sanity}. At the same rate, "
            f"one-sided Fisher exact tests (dr_grpo more often stable): {fisher}. Runs: {made}.")


def plot(d: SimpleNamespace, t: pd.DataFrame, v):
    """The headline figure: success per seed for each loss type, the share of replies cut at the
    cap, and each seed's verdict by the pre-registered rule against the rate; saved, returned."""
    import matplotlib.pyplot as plt

    from rlvr_core.notebook.figures import rate_colours, savefig

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.4), layout="constrained")
    styles = {"grpo": "-", "dr_grpo": "--"}
    colour = rate_colours(fig, axes[0], [r["config"]["learning_rate"] for r in d.runs])
    for ax, lt in zip(axes[0], LOSS_TYPES):
        for r in d.runs:
            c = r["config"]
            if c["loss_type"] == lt:
                ax.plot([m["reward"] for m in r["metrics"]], styles[lt], color=colour[c["learning_rate"]], lw=1)
        ax.axhline(d.J0, color="k", ls=":", lw=1)
        ax.axhspan(d.cut, d.J0 + SE_MULT * d.J0_se, color="k", alpha=0.08)
        ax.set(xlabel="GRPO step", ylabel="batch success rate", ylim=(-0.05, 1.05),
               title=f"{lt}: success per seed (dotted: $J_0$, band ± 2 s.e.)")
    for r in d.runs:
        c = r["config"]
        axes[1, 0].plot([m["completions/clipped_ratio"] for m in r["metrics"]], styles[c["loss_type"]],
                        color=colour[c["learning_rate"]], lw=1)
    axes[1, 0].axhline(midpoints.CAP_SHARE, color="k", ls=":", lw=1)
    axes[1, 0].set(xlabel="GRPO step", ylabel="share of replies cut at the cap", ylim=(-0.05, 1.05),
                   title="replies cut at the cap (solid: grpo, dashed: dr_grpo)")
    _verdict_panel(axes[1, 1], d, t, v)
    fig.suptitle(f"SmolLM2-135M-Instruct at a {SMOLLM2_LONG_CAP}-token cap: {len(d.runs)} stored runs",
                 fontsize=10)
    savefig(fig, "llm_long_cap_smollm2", notebook=NOTEBOOK, claim="P8",
            params={"runs": [r["key"] for r in d.runs], "cap": SMOLLM2_LONG_CAP},
            caption=f"SmolLM2-135M-Instruct, grpo and dr_grpo at a {SMOLLM2_LONG_CAP}-token cap: success, "
                    f"share of replies at the cap, and the pre-registered rule's verdict per seed for the "
                    f"{len(d.runs)} stored runs.")
    return fig


def _verdict_panel(ax, d, t, v):
    ax.axhspan(d.cut, d.J0 + SE_MULT * d.J0_se, color="k", alpha=0.1, label=r"$J_0\pm2$ s.e.")
    for k, lt in enumerate(LOSS_TYPES):
        rows = t[t["loss_type"] == lt]
        for word, marker in (("stable", "o"), ("collapsed", "x")):
            sel = rows[rows["verdict"] == word]
            ax.scatter(sel["lr"], sel["success, last 5 steps"], marker=marker, color=f"C{k}", zorder=3,
                       label=f"{lt}: {word} seed")
        est = v.brackets[lt].estimate if v else math.nan
        if np.isfinite(est):
            ax.axvline(est, color=f"C{k}", lw=1, ls=":", label=f"{lt}: bracket estimate")
    ax.set(xscale="log", xlabel="learning rate η", ylabel="success, last 5 steps", ylim=(-0.05, 1.05),
           title="per seed (×: collapsed by the pre-registered rule)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
