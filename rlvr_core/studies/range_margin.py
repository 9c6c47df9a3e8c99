"""Notebook 10, "The margin": does the range test's answer divided by a margin chosen on the tiny
model stay stable on SmolLM2 over twice the sweeps' horizon?

Two plans, each with its margin, collapse rule and prediction fixed before its runs:
``configs/plans/smollm2_margin.yaml`` (V1: the answers of the test that read J0 from the first
batch) and ``configs/plans/smollm2_margin_evalref.yaml`` (V2: the answers of the test that reads
J0 from the evaluation set, the current one). This module only reads them and the stored runs,
and applies them."""
from __future__ import annotations

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np

from rlvr_core.llm.config import setting_label
from rlvr_core.llm.horizon import collapse_step, run_rewards, trailing_mean
from rlvr_core.llm.plans import load_plan, plan_path
from rlvr_core.llm.range_test import MARGIN_PLAN, MARGIN_PLANS
from rlvr_core.llm.store import stored_runs
from rlvr_core.llm.sweeps import final_success, seed_stable, smollm2_runs
from rlvr_core.stats.fit import wilson_interval

OPTIM_NAMES = {"sgd": "SGD", "adamw_torch": "AdamW"}
# The negative control's rates, named in the plan: the sweeps' runs from about each range-test
# answer upward (margin about 1: SGD 0.03 = 0.95x its answer 0.0316, AdamW 1e-4 = 0.51x 1.957e-4).
CONTROL_FROM = {"sgd": 0.03, "adamw_torch": 1e-4}


def margin_plan(name: str = MARGIN_PLAN):
    """A pre-registered margin plan (its runs and its ``analysis`` block); by default the one that
    validates the current range test."""
    if name not in MARGIN_PLANS:
        raise ValueError(f"plan {name!r} is not a margin plan: expected one of {MARGIN_PLANS}")
    return load_plan(plan_path(name))


def margin_runs(plan) -> list[dict]:
    """The plan's runs that are stored (an interrupted plan: the part stored so far)."""
    return stored_runs(plan.configs)


def planned_rates(analysis: dict) -> dict[str, float]:
    """Each optimiser's range-test answer divided by the margin, to 2 significant digits."""
    m = float(analysis["margin"])
    return {opt: float(f"{float(a) / m:.2g}") for opt, a in analysis["range_test_answers"].items()}


def _eval_at(run: dict, step: int) -> dict | None:
    return next((e for e in run.get("eval") or [] if e["step"] == step), None)


def _seed_row(run: dict, J0: float, se: float, rule: dict) -> dict:
    cfg, r = run["config"], run_rewards(run)
    short = {**run, "metrics": run["metrics"][:30]}
    mid, end = _eval_at(run, cfg["max_steps"] // 2), _eval_at(run, cfg["max_steps"])
    return {"optim": cfg["optim"], "seed": cfg["seed"], "lr": cfg["learning_rate"], "rewards": r,
            "steps": len(r), "collapse_step": collapse_step(r, J0, **rule),
            "min_window": float(np.nanmin(trailing_mean(r, rule["window"])[1])),
            "last5_30": final_success(short), "last5_end": final_success(run),
            "eval_mid": None if mid is None else mid["success"],
            "eval_end": None if end is None else end["success"],
            "len_end": np.mean([m["completions/mean_length"] for m in run["metrics"][-5:]]),
            "sps": run["provenance"].get("seconds_per_step")}


def margin(plan, runs: list[dict], start: dict) -> SimpleNamespace:
    """Per optimiser: each stored seed under the plan's rule (J0 = the starting model's success on
    the evaluation set), notebook 08's last-5 rule at step 30 and at the end, the evaluation set in
    the middle and at the end; the plan's prediction (V1, V2) and the Wilson 90% upper ends of the
    collapse probability."""
    a = plan.analysis
    if a.get("j0") != "start_success":
        raise ValueError(f"plan {plan.name}: J0 must be the starting model's success (j0: start_success)")
    rates = planned_rates(a)
    for c in plan.configs:
        if c.learning_rate != rates[c.optim]:
            raise ValueError(f"plan {plan.name}: {c.optim} rate {c.learning_rate:g} is not its "
                             f"answer / margin {rates[c.optim]:g}")
    J0, se, rule = float(start["success"]), float(start["se"]), a["collapse"]
    rows = [_seed_row(r, J0, se, rule) for r in sorted(runs, key=lambda r: (r["config"]["optim"], r["config"]["seed"]))]
    for row in rows:
        row["stable_30"], row["stable_end"] = (bool(v) for v in
                                              seed_stable([row["last5_30"], row["last5_end"]], J0, se))
    per_opt = {}
    for opt in rates:
        mine = [row for row in rows if row["optim"] == opt]
        k = sum(row["collapse_step"] is not None for row in mine)
        per_opt[opt] = {"n": len(mine), "collapsed": k,
                        "wilson_hi": float(wilson_interval(k, len(mine))[1]) if mine else float("nan")}
    pred = a["prediction"]
    limit = pred.get("max_collapsed", pred.get("v1_max_collapsed"))   # the first plan's key
    k_all = sum(p["collapsed"] for p in per_opt.values())
    n_all = sum(p["n"] for p in per_opt.values())
    return SimpleNamespace(plan=plan, runs=runs, rows=rows, J0=J0, se=se, rule=rule, rates=rates,
                           margin=float(a["margin"]), horizon=max(c.max_steps for c in plan.configs),
                           planned=len(plan.configs), per_opt=per_opt,
                           pooled={"n": n_all, "collapsed": k_all,
                                   "wilson_hi": float(wilson_interval(k_all, n_all)[1]) if n_all else float("nan")},
                           prediction=pred.get("id", "V1"), max_collapsed=int(limit),
                           holds=all(p["collapsed"] <= limit for p in per_opt.values()),
                           complete=len(rows) == len(plan.configs))


def negative_control(mg: SimpleNamespace) -> list[dict]:
    """The same rule and J0 on the stored 30-step sweeps (grpo, clipping off) at or above
    ``CONTROL_FROM``: per run, its collapse step (the rule must find one) and notebook 08's verdict."""
    out = []
    for run in smollm2_runs():
        cfg = run["config"]
        lo = CONTROL_FROM.get(cfg["optim"])
        if lo is None or setting_label(cfg) not in ("grpo, SGD", "grpo, AdamW") or cfg["learning_rate"] < lo:
            continue
        out.append({"optim": cfg["optim"], "lr": cfg["learning_rate"], "seed": cfg["seed"],
                    "rewards": run_rewards(run),
                    "collapse_step": collapse_step(run_rewards(run), mg.J0, **mg.rule),
                    "stable_30": bool(seed_stable([final_success(run)], mg.J0, mg.se)[0])})
    return sorted(out, key=lambda r: (r["optim"], r["lr"], r["seed"]))


def margin_basis(ratios, margin: float) -> tuple[float, str]:
    """The margin's basis, read again: the largest tiny-model exponential answer over its 30-step
    threshold (section 4's table), and the line that says whether ten times it is within the margin."""
    worst = float(np.max(ratios))
    return worst, (f"tiny model, exponential answer / 30-step threshold: at most {worst:.2f}; "
                   f"x 10 = {10 * worst:.1f} {'<=' if 10 * worst <= margin else '>'} margin {margin:g}")


def _step(t) -> str:
    return "-" if t is None else str(t)


def _rate(v) -> str:
    return "-" if v is None else f"{v:.2f}"


def _opt(o: str) -> str:
    return OPTIM_NAMES.get(o, o)


def margin_table(mg: SimpleNamespace) -> str:
    """One line per seed: rate, collapse step by the plan's rule, the lowest 20-step mean, notebook
    08's last-5 verdict at step 30 and at the end, the evaluation set in the middle and at the end."""
    head = (f"J0 = {mg.J0:.3f} ± {mg.se:.3f} (starting model, evaluation set); collapsed once the trailing "
            f"{mg.rule['window']}-step mean < {mg.rule['level']:g} x J0 = {mg.rule['level'] * mg.J0:.3f}\n"
            f"{'optimiser':>9} {'seed':>4} {'rate':>8} {'steps':>5} {'collapse':>8} {'min 20-mean':>11} "
            f"{'last5@30':>9} {'last5@end':>9} {'eval mid':>8} {'eval end':>8} {'len@end':>7}")
    lines = [head]
    for r in mg.rows:
        lines.append(f"{_opt(r['optim']):>9} {r['seed']:>4} {r['lr']:>8.2g} {r['steps']:>5} "
                     f"{_step(r['collapse_step']):>8} {r['min_window']:>11.2f} "
                     f"{r['last5_30']:>5.2f} {'ok' if r['stable_30'] else 'low':>3} "
                     f"{r['last5_end']:>5.2f} {'ok' if r['stable_end'] else 'low':>3} "
                     f"{_rate(r['eval_mid']):>8} {_rate(r['eval_end']):>8} {r['len_end']:>7.1f}")
    sps = [r["sps"] for r in mg.rows if r["sps"]]
    if sps:
        lines.append(f"{len(mg.rows)} of {mg.planned} runs stored; median {np.median(sps):.1f} s/step "
                     "when computed (1 thread)")
    return "\n".join(lines)


def control_lines(control: list[dict]) -> str:
    """The negative control, one line per optimiser."""
    lines = []
    for opt in CONTROL_FROM:
        mine = [c for c in control if c["optim"] == opt]
        k = sum(c["collapse_step"] is not None for c in mine)
        lines.append(f"negative control, {_opt(opt)} sweeps at >= {CONTROL_FROM[opt]:g} (30 steps): the same "
                     f"rule calls {k}/{len(mine)} runs collapsed (steps "
                     + ", ".join(f"{c['lr']:g}/s{c['seed']}:{_step(c['collapse_step'])}" for c in mine)
                     + f"); notebook 08's rule: {sum(not c['stable_30'] for c in mine)}/{len(mine)} low")
    return "\n".join(lines)


def margin_verdict(mg: SimpleNamespace, control: list[dict]) -> str:
    """The sentence a reader takes away: what the margin bought over 60 steps, and its bound."""
    parts = [f"{_opt(o)} at {mg.rates[o]:g}: {p['collapsed']}/{p['n']} seeds collapsed "
             f"(collapse probability <= {p['wilson_hi']:.2f}, Wilson 90%)" for o, p in mg.per_opt.items()]
    k_ctl = sum(c["collapse_step"] is not None for c in control)
    text = (f"[measured] Range-test answer / {mg.margin:g} on SmolLM2 over {mg.horizon} steps: "
            + "; ".join(parts) + f"; pooled {mg.pooled['collapsed']}/{mg.pooled['n']} "
            f"(<= {mg.pooled['wilson_hi']:.2f}). Prediction {mg.prediction} (at most {mg.max_collapsed} "
            f"collapsed per optimiser, fixed before the runs): {'holds' if mg.holds else 'NOT REPRODUCED'}. "
            f"The same rule calls {k_ctl}/{len(control)} of the stored 30-step runs at "
            + " and ".join(f"{_opt(o)} >= {lo:g}" for o, lo in CONTROL_FROM.items())
            + " collapsed (the negative control).")
    if not mg.complete:
        text += f" Only {len(mg.rows)} of the {mg.planned} planned runs are stored: incomplete."
    return text


def plot_margin(mg: SimpleNamespace, control: list[dict]):
    """Per optimiser: the trailing-window mean batch success of each margin run (60 steps) and of
    the stored 30-step runs at the margin-1 rates (grey), against J0 and the collapse level."""
    w = mg.rule["window"]
    fig, axes = plt.subplots(1, len(mg.rates), figsize=(9, 4.4), sharey=True, squeeze=False)
    for ax, opt in zip(axes[0], mg.rates):
        for i, c in enumerate(c for c in control if c["optim"] == opt):
            ax.plot(*trailing_mean(c["rewards"], w), color="0.6", lw=1, ls="--",
                    label=f"stored 30-step runs at >= {CONTROL_FROM[opt]:g}" if i == 0 else None)
        for row in (r for r in mg.rows if r["optim"] == opt):
            ax.plot(*trailing_mean(row["rewards"], w), lw=1.8, label=f"seed {row['seed']}, η = {row['lr']:g}")
        ax.axhspan(mg.J0 - 2 * mg.se, mg.J0 + 2 * mg.se, color="C0", alpha=0.12, label=r"$J_0 \pm 2$ s.e.")
        ax.axhline(mg.rule["level"] * mg.J0, color="C3", lw=1, label=f"collapse: {mg.rule['level']:g}·$J_0$")
        ax.set(title=f"{_opt(opt)}: range-test answer / {mg.margin:g}", xlabel="step",
               xlim=(0, mg.horizon + 1), ylim=(-0.02, 1.02))
        ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    axes[0][0].set_ylabel(f"batch success,\ntrailing {w}-step mean")
    fig.tight_layout()
    return fig
