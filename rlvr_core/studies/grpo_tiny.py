"""Notebook 07's study: GRPO (TRL) on the tiny transformer. The learning-rate threshold, how
``loss_type`` moves it with the response length, a fixed rate's tail, the Gradient-Gap callback and
AdamW with clipping — read from the stored runs (``results/llm/tiny``), re-plotted, and said in
sentences that quote the computed numbers (so a rerun cannot leave stale prose).

The threshold rule is ``rlvr_core.llm.sweeps``'s (fixed before the runs); this module only
arranges its inputs and words its outputs."""
from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..llm.device import device_info, on_cpu
from ..llm.evaluation import alignment_rows
from ..llm.grpo_config import grpo_config_fields
from ..llm.sweeps import (FLAT_SLOPE, SE_MULT, STABLE_BAND, mean_ci, mean_curve, per_run_tail_slopes,
                          run_all, stable_fraction, sweep_summary, sweep_table, tail_state,
                          threshold, threshold_ci, tiny_all_configs, tiny_plan, warm_start_J0)

L_MAX = 24                      # max_completion_length of every tiny-model run (TINY_COMMON)
LOSS_TYPES = ("grpo", "dr_grpo", "dapo")
CONFIG_KEYS = ("optim", "max_grad_norm", "lr_scheduler_type", "loss_type", "scale_rewards", "beta",
               "num_iterations", "num_generations", "per_device_train_batch_size",
               "steps_per_generation", "max_completion_length", "temperature", "top_p", "top_k",
               "use_cpu", "bf16", "trust_remote_code")
SAID = {True: "holds", False: "**does not hold (not reproduced)**"}
NOTEBOOK = "07_grpo_tiny_transformer"


def _saved(fig, name: str, params: dict, caption: str):
    """Save ``fig`` as figures/<name> under claim P8 and return it, for the notebook to show."""
    from rlvr_core.notebook.figures import savefig

    savefig(fig, name, notebook=NOTEBOOK, claim="P8", params=params, caption=caption)
    return fig


def sizes(profile: str) -> dict:
    """Every size of the notebook for ``profile`` (the learning-rate grid, seeds, steps, the two
    scratchpad lengths, the plateau and AdamW runs): ``tiny_plan``'s, the one place they live."""
    return tiny_plan(profile)


def configs(S: dict, warm_start_seed: int = 0) -> dict:
    """{(set, scratch_len): [RunConfig]} for every run the notebook reads, each starting from the
    warm start of ``warm_start_seed`` (0: the committed runs' start; another seed is another
    starting model, so its runs are trained when first read)."""
    return {key: [dataclasses.replace(c, warm_start_seed=warm_start_seed) for c in cfgs]
            for key, cfgs in tiny_all_configs(S).items()}


def sizes_line(S: dict, cfgs: dict) -> str:
    short, long_ = S["lengths"]
    return (f"{len(S['lrs'])} learning rates {S['lrs'][0]}..{S['lrs'][-1]}, seeds {S['seeds']}, "
            f"{S['steps']} steps; scratchpad lengths {short} and {long_}; "
            f"{sum(map(len, cfgs.values()))} tiny-model runs")


def config_report(cfg) -> str:
    """The TRL ``GRPOConfig`` fields that make GRPO the theory's raw step, and the device new runs
    would train on."""
    fields = grpo_config_fields(cfg, "out")
    lines = [f"{k:>28} = {fields[k]!r}" for k in CONFIG_KEYS]
    lines.append(f"{'device of new runs':>28} = {device_info(on_cpu(cfg))}")
    return "\n".join(lines)


def load_runs(cfgs: dict, recompute: bool = False) -> dict:
    """Every run of ``cfgs`` from the cache (``recompute=True`` retrains them)."""
    return {key: run_all(c, refresh=recompute, progress=False) for key, c in cfgs.items()}


# ---- the warm starts ---------------------------------------------------------------------------

def warm_starts(all_runs: dict, lengths) -> SimpleNamespace:
    """The warm start each stored run of each length records, read from the runs themselves: every
    run of one length must record the same one (and the same weights hash, where it stores one)."""
    warm, J0s, starts, hashes, counts = {}, {}, {}, {}, {}
    for L in lengths:
        runs_L = [r for rs in all_runs.values() for r in rs if r["config"]["scratch_len"] == L]
        starts[L] = {(r["warm_start"]["steps"], r["warm_start"]["success_rate_final"]) for r in runs_L}
        hashes[L] = {r["provenance"].get("weights") for r in runs_L} - {None}
        warm[L], counts[L] = runs_L[0]["warm_start"], len(runs_L)
        J0s[L] = warm_start_J0(warm[L])
    sps = np.array([r["provenance"]["seconds_per_step"] for rs in all_runs.values() for r in rs])
    n_steps = sum(len(r["metrics"]) for rs in all_runs.values() for r in rs)
    return SimpleNamespace(warm=warm, J0s=J0s, starts=starts, hashes=hashes, counts=counts,
                           lengths=tuple(lengths), n_runs=sum(map(len, all_runs.values())),
                           n_steps=n_steps, seconds_per_step=float(np.median(sps)))


def warm_start_report(ws: SimpleNamespace) -> str:
    lines = []
    for L in ws.lengths:
        w, (j, se) = ws.warm[L], ws.J0s[L]
        lines.append(f"L={L:>2}: {w['steps']} supervised steps, stopped at check success "
                     f"{w['success_rate_check']:.2f}; J0 = {j:.3f} ± {se:.3f} (s.e., "
                     f"{w.get('final_samples', 512)} samples); {w['num_parameters']} parameters; "
                     f"{ws.counts[L]} runs, {len(ws.starts[L])} distinct warm-start record(s), "
                     f"{len(ws.hashes[L])} distinct weights hash(es) among the runs that store one")
    lines.append(f"{ws.n_runs} tiny-model runs, {ws.n_steps} GRPO steps; median "
                 f"{ws.seconds_per_step:.2f} s/step (recorded when each was computed, one thread)")
    return "\n".join(lines)


def start_sentence(ws: SimpleNamespace) -> str:
    """The two lengths' starts: equal success, unequal supervised training (a confounder)."""
    short, long_ = ws.lengths
    (j_s, se_s), (j_l, se_l) = ws.J0s[short], ws.J0s[long_]
    d, d_se = j_l - j_s, math.hypot(se_l, se_s)
    return (f"[measured] Both warm starts stopped at the first check reaching the same target "
            f"({ws.warm[short]['params']['target']:.1f}): J0 = {j_s:.3f} ± {se_s:.3f} at L={short} and "
            f"{j_l:.3f} ± {se_l:.3f} at L={long_}, a difference of {d:+.3f} ({d / d_se:+.1f} s.e.). "
            f"What differs is the supervised training behind them: {ws.warm[short]['steps']} steps at "
            f"L={short}, {ws.warm[long_]['steps']} at L={long_}, a confounder of every length "
            f"comparison: measured and stated here, not removed.")


# ---- §1 the learning-rate threshold ------------------------------------------------------------

def lr_sweep(runs: list[dict], J0: float, J0_se: float) -> SimpleNamespace:
    """§1's sweep read by the rule: per-seed final success, stable fraction per rate, the bracket
    and its bootstrap CI over seeds."""
    lrs, seeds, table = sweep_table(runs)
    thr, lo, hi = threshold(lrs, table, J0, se=J0_se).as_tuple()
    frac = stable_fraction(table, J0, J0_se)
    verdict = np.where(frac >= STABLE_BAND[1], "pass", np.where(frac <= STABLE_BAND[0], "fail", "ambiguous"))
    return SimpleNamespace(runs=runs, lrs=lrs, seeds=seeds, table=table, thr=thr, lo=lo, hi=hi,
                           ci=threshold_ci(lrs, table, J0, J0_se), frac=frac, verdict=verdict,
                           mean_final=table.mean(1), J0=J0, J0_se=J0_se)


def lr_table(sw: SimpleNamespace, L: int) -> str:
    lines = [f"start J0 = {sw.J0:.3f} ± {sw.J0_se:.3f}; a seed is stable when its last-5 mean >= "
             f"{sw.J0 - SE_MULT * sw.J0_se:.3f}",
             "   lr      final success per seed       mean   stable   rate"]
    for lr, row, f, v in zip(sw.lrs, sw.table, sw.frac, sw.verdict):
        lines.append(f"{lr:7.3g}   " + "  ".join(f"{x:4.2f}" for x in row)
                     + f"    {np.mean(row):4.2f}   {round(f * len(row))}/{len(row)}    {v}")
    lines.append(f"measured threshold (grpo, L={L}, {len(sw.seeds)} seeds): {sw.thr:.2g}  (pass <= "
                 f"{sw.lo:.3g}, fail at {sw.hi:.3g}); 90% bootstrap CI over seeds [{sw.ci[0]:.2g}, "
                 f"{sw.ci[1]:.2g}]")
    return "\n".join(lines)


def threshold_sentence(sw: SimpleNamespace) -> str:
    """§1's verdict: where the sweep turns from improving to collapsing."""
    if math.isnan(sw.thr):
        return "[measured] No threshold by the rule: no passing rate is followed by a failing one."
    best = sw.mean_final[sw.lrs <= sw.lo].max()
    return (f"[measured] With plain SGD the tiny model improves up to η = {sw.lo:.3g} (best mean final "
            f"success {best:.2f} from J0 = {sw.J0:.2f}) and collapses from η = {sw.hi:.3g} (stable "
            f"seeds there: {round(sw.frac[sw.lrs >= sw.hi].max() * len(sw.seeds))}/{len(sw.seeds)} at "
            f"most): threshold {sw.thr:.2g}, 90% bootstrap CI over {len(sw.seeds)} seeds "
            f"[{sw.ci[0]:.2g}, {sw.ci[1]:.2g}], resolved to one step of the grid.")


def plot_lr_threshold(sw: SimpleNamespace, S: dict, L: int):
    """§1's figure: success per step for every rate (thick: mean over seeds), and final success
    against the rate with J0's band and the measured threshold band."""
    import matplotlib.pyplot as plt

    from rlvr_core.notebook.figures import rate_colours

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    colour = rate_colours(fig, axes[0], sw.lrs)
    for lr in sw.lrs:
        runs = [r for r in sw.runs if r["config"]["learning_rate"] == lr]
        for r in runs:
            axes[0].plot([m["reward"] for m in r["metrics"]], color=colour[lr], alpha=0.25, lw=0.8)
        axes[0].plot(mean_curve(runs), color=colour[lr], lw=2)
    axes[0].set(xlabel="GRPO step k", ylabel="batch success rate",
                title=f"tiny model, grpo, L = {L} (thick: mean over seeds)")
    for j in range(sw.table.shape[1]):
        axes[1].plot(sw.lrs, sw.table[:, j], "o", color="gray", alpha=0.5, ms=4)
    axes[1].plot(sw.lrs, sw.mean_final, "o-", color="C0", label="mean final success (measured)")
    axes[1].axhline(sw.J0, color="k", ls=":", label="start $J_0$")
    axes[1].axhspan(sw.J0 - SE_MULT * sw.J0_se, sw.J0 + SE_MULT * sw.J0_se, color="k", alpha=0.1,
                    label=r"$J_0 \pm 2$ s.e. (stable: above the band's floor)")
    axes[1].axvspan(sw.lo, sw.hi, color="C3", alpha=0.15, label="measured threshold band")
    axes[1].set(xscale="log", xlabel="learning rate η (SGD, no clipping)", ylabel="success, last 5 steps",
                title="converges below, collapses above")
    axes[1].legend(fontsize=8, loc="lower left")
    params = {"lrs": list(map(float, sw.lrs)), "seeds": list(map(int, sw.seeds)), "steps": S["steps"],
              "loss_type": "grpo", "scratch_len": L, "optim": "sgd", "max_grad_norm": 0.0}
    return _saved(fig, "llm_lr_threshold_tiny", params,
                  "GRPO (TRL, SGD, no clipping) on the tiny model: success rises below a learning-rate "
                  "threshold and collapses above it.")


# ---- §2 length normalisation --------------------------------------------------------------------

def length_comparison(all_runs: dict, J0s: dict, lengths) -> SimpleNamespace:
    """Each loss type's threshold at both lengths by the same rule, and the three consequences of
    the L_max/T algebra: (i) ratio dr_grpo/grpo at the short length >= 2, (ii) dr_grpo's threshold
    does not rise with length, (iii) grpo's changes by a larger factor than dr_grpo's."""
    short, long_ = lengths
    cmp_runs = {k: v for k, v in all_runs.items() if k[0] in LOSS_TYPES}
    thresholds, cis, T0, fracs, n_seeds, curves = {}, {}, {}, {}, {}, {}
    for (lt, L), runs in cmp_runs.items():
        sm = sweep_summary(runs, *J0s[L])
        thresholds[(lt, L)], cis[(lt, L)] = sm["bracket"].as_tuple(), sm["ci"]
        fracs[(lt, L)], n_seeds[(lt, L)] = sm["stable_fraction"], sm["min_seeds"]
        T0[(lt, L)] = float(np.mean([r["metrics"][0]["completions/mean_length"] for r in runs]))
        lr_, _, tab = sweep_table(runs)
        curves[(lt, L)] = (lr_, np.nanmean(tab, 1))
    ratio = thresholds[("dr_grpo", short)][0] / thresholds[("grpo", short)][0]
    growth = {lt: thresholds[(lt, long_)][0] / thresholds[(lt, short)][0] for lt in LOSS_TYPES}
    claims = {"(i)": bool(ratio >= 2.0), "(ii)": bool(growth["dr_grpo"] <= 1.0),
              "(iii)": bool(growth["grpo"] > growth["dr_grpo"])}
    return SimpleNamespace(thresholds=thresholds, cis=cis, T0=T0, fracs=fracs, n_seeds=n_seeds,
                           curves=curves, ratio_short=ratio, growth=growth, claims=claims,
                           predicted=L_MAX / T0[("grpo", short)], lengths=tuple(lengths))


def length_table(lc: SimpleNamespace, lrs) -> str:
    short, long_ = lc.lengths
    lines = ["stable seeds per rate: " + " ".join(f"{lr:g}" for lr in lrs),
             " loss_type   L   T (start)  seeds  stable/seeds per rate       threshold   pass <=   "
             "fail at   90% CI"]
    for (lt, L), (t_, lo_, hi_) in sorted(lc.thresholds.items()):
        k = lc.n_seeds[(lt, L)]
        cells = " ".join(f"{round(f * k)}/{k}" for f in lc.fracs[(lt, L)])
        lines.append(f"{lt:>9}  {L:>2}   {lc.T0[(lt, L)]:6.0f}     {k:>3}   {cells}   {t_:8.2g}  "
                     f"{lo_:8.3g}  {hi_:8.3g}   [{lc.cis[(lt, L)][0]:.2g}, {lc.cis[(lt, L)][1]:.2g}]")
    lines.append(f"dr_grpo / grpo threshold at L={short}: {lc.ratio_short:.1f}  (predicted ~ 24/T = "
                 f"{lc.predicted:.0f})")
    lines.append(f"threshold(L={long_}) / threshold(L={short}):  "
                 + "   ".join(f"{lt} {g:.2g}" for lt, g in lc.growth.items()))
    lines.append("claims holding under the rule: "
                 + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in lc.claims.items()))
    return "\n".join(lines)


def length_sentence(lc: SimpleNamespace, warm: dict) -> str:
    """§2's verdict on the three consequences, each with its number."""
    short, long_ = lc.lengths
    g = lc.growth
    return (f"[measured] Under the rule with {min(lc.n_seeds.values())}+ seeds per rate: (i) at "
            f"L={short} the dr_grpo threshold is ×{lc.ratio_short:.1f} the grpo one (predicted "
            f"×{lc.predicted:.0f}, asserted ≥ 2): {SAID[lc.claims['(i)']]}. (ii) Without per-response "
            f"normalisation (dr_grpo) the threshold changes by ×{g['dr_grpo']:.2g} from L={short} to "
            f"L={long_} (Theorem 3: ≤ 1): {SAID[lc.claims['(ii)']]}. (iii) With it, grpo's threshold "
            f"changes by ×{g['grpo']:.2g} against dr_grpo's ×{g['dr_grpo']:.2g} (predicted larger): "
            f"{SAID[lc.claims['(iii)']]}; dapo changes by ×{g['dapo']:.2g}. Each threshold is resolved "
            f"to one grid step, and the two lengths' warm starts took {warm[short]['steps']} and "
            f"{warm[long_]['steps']} supervised steps, so a length effect is not separated from theirs.")


def plot_length_thresholds(lc: SimpleNamespace, S: dict):
    """§2's figure: mean final success per loss type and length, measured thresholds (dashed) and
    dr_grpo's threshold predicted from grpo's by L_max/T (dotted)."""
    import matplotlib.pyplot as plt

    short, long_ = lc.lengths
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
    for ax, lt in zip(axes, LOSS_TYPES):
        for L, c in ((short, "C0"), (long_, "C1")):
            lr_, mean = lc.curves[(lt, L)]
            ax.plot(lr_, mean, "o-", color=c, label=f"L = {L} (T ≈ {lc.T0[(lt, L)]:.0f})")
            t_ = lc.thresholds[(lt, L)][0]
            if not math.isnan(t_):
                ax.axvline(t_, color=c, ls="--", lw=1)
        ax.set(xscale="log", xlabel="learning rate η", title=f"loss_type = {lt}")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("mean success, last 5 steps")
    # the prediction of the derivation: dr_grpo's threshold = grpo's x (L_max / T)
    for L, c in ((short, "C0"), (long_, "C1")):
        t_g = lc.thresholds[("grpo", L)][0]
        if not math.isnan(t_g):
            axes[1].axvline(t_g * L_MAX / lc.T0[("grpo", L)], color=c, ls=":", lw=2,
                            label=f"predicted from grpo, L={L}")
    axes[1].legend(fontsize=8)
    params = {"lrs": S["lrs"], "lengths": [short, long_], "max_completion_length": L_MAX,
              "optim": "sgd", "max_grad_norm": 0.0}
    return _saved(fig, "llm_length_normalisation_threshold_tiny", params,
                  "Measured thresholds (dashed) per loss_type and scratchpad length; dotted: "
                  "dr_grpo's threshold predicted from grpo's by the factor L_max/T.")


# ---- §3 a fixed learning rate -------------------------------------------------------------------

def plateau(runs: list[dict]) -> SimpleNamespace:
    """The long fixed-rate runs: the tail's mean, the 90% t-interval over seeds of its slope (per
    100 steps) and the rule's reading (flat / still rising / undetermined); per-seed peaks and tails
    show where the seeds disagree."""
    curve = mean_curve(runs)
    n_tail = len(curve) // 4
    slopes = per_run_tail_slopes(runs, frac=0.25) * 100
    slope, lo, hi = mean_ci(slopes, level=0.9)
    rewards = [[m["reward"] for m in r["metrics"]] for r in runs]
    tails = [float(np.nanmean(x[-n_tail:])) for x in rewards]
    peaks = [max(float(np.nanmean(x[i:i + 25])) for i in range(0, len(x), 25)) for x in rewards]
    return SimpleNamespace(runs=runs, curve=curve, n_tail=n_tail, tail=float(np.nanmean(curve[-n_tail:])),
                           first=float(np.nanmean(curve[:10])), slopes=slopes, slope=slope,
                           slope_lo=lo, slope_hi=hi, state=tail_state(lo, hi), seed_tails=tails,
                           seed_peaks=peaks, worst=int(np.argmax(np.array(peaks) - np.array(tails))),
                           blocks=[float(np.nanmean(curve[i:i + 25])) for i in range(0, len(curve), 25)])


def plateau_report(pl: SimpleNamespace, lr: float) -> str:
    return "\n".join([
        f"fixed η = {lr}, {len(pl.runs)} seeds x {len(pl.curve)} steps: success first 10 steps "
        f"{pl.first:.2f}, last {pl.n_tail} steps {pl.tail:.2f}",
        "mean success per 25-step block: " + " ".join(f"{b:.2f}" for b in pl.blocks),
        f"last {pl.n_tail} steps per seed: " + ", ".join(
            f"seed {r['config']['seed']} {t:.2f} (best 25-step block {p:.2f})"
            for r, t, p in zip(pl.runs, pl.seed_tails, pl.seed_peaks)),
        f"slope of the last {pl.n_tail} steps per 100 steps, per seed: "
        + ", ".join(f"{x:+.3f}" for x in pl.slopes)
        + f"; mean {pl.slope:+.3f}, 90% CI [{pl.slope_lo:+.3f}, {pl.slope_hi:+.3f}] -> {pl.state} "
          f"(flat: CI within ±{FLAT_SLOPE})"])


def plateau_caption(pl: SimpleNamespace) -> str:
    return (f"At a fixed learning rate the training success rate is {pl.state} over the last "
            f"{pl.n_tail} of {len(pl.curve)} steps ({len(pl.runs)} seeds; slope per 100 steps "
            f"{pl.slope:+.3f}, 90% CI [{pl.slope_lo:+.3f}, {pl.slope_hi:+.3f}]), at {pl.tail:.2f}.")


def plateau_sentence(pl: SimpleNamespace) -> str:
    """§3's verdict: the tail's level and whether the rule calls it flat."""
    head = (f"[measured] The mean success over the last {pl.n_tail} steps is {pl.tail:.2f}, below "
            f"100%; its slope is {pl.slope:+.3f} per 100 steps (90% CI over {len(pl.runs)} seeds "
            f"[{pl.slope_lo:+.3f}, {pl.slope_hi:+.3f}]): ")
    if pl.state == "flat":
        body = f"a flat tail (the CI lies within ±{FLAT_SLOPE}), a plateau at this rate and step budget. "
    else:
        body = (f"the tail is {pl.state} after {len(pl.curve)} steps, so these runs do not show a "
                "plateau by the rule. ")
    others = ", ".join(f"{t:.2f}" for k, t in enumerate(pl.seed_tails) if k != pl.worst)
    return (head + body + f"The seeds disagree where one falls back: seed "
            f"{pl.runs[pl.worst]['config']['seed']} went from a best 25-step mean of "
            f"{pl.seed_peaks[pl.worst]:.2f} to {pl.seed_tails[pl.worst]:.2f}, the others end at {others}.")


def plot_plateau(pl: SimpleNamespace, S: dict, L: int):
    """§3's figure: the long fixed-rate runs, their moving mean and the tail's level."""
    lr = S["plateau_lr"]
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in pl.runs:
        ax.plot([m["reward"] for m in r["metrics"]], color="C0", alpha=0.3, lw=0.8)
    k = np.arange(len(pl.curve))
    smooth = np.convolve(np.nan_to_num(pl.curve), np.ones(10) / 10, mode="valid")
    ax.plot(k[9:], smooth, color="C0", lw=2, label="success, 10-step moving mean")
    ax.axhline(1.0, color="k", ls=":", label="100%")
    ax.axhline(pl.tail, color="C3", ls="--", label=f"mean of the last {pl.n_tail} steps = {pl.tail:.2f}")
    ax.set(xlabel="GRPO step k", ylabel="batch success rate", ylim=(0, 1.05),
           title=f"tiny model, fixed η = {lr} (SGD, grpo, L = {L})")
    ax.legend(fontsize=8)
    params = {"lr": lr, "steps": S["plateau_steps"], "seeds": list(S["plateau_seeds"])}
    return _saved(fig, "llm_fixed_lr_plateau_tiny", params, plateau_caption(pl))


# ---- §4-5 the Gradient-Gap callback and an independent estimate --------------------------------

def callback_runs(sw: SimpleNamespace) -> SimpleNamespace:
    """Seed 0 at the last passing and the first failing rate, and the two readings of the update's
    alignment with the sampled Gap (from the parameters and from the gradients) over all SGD runs."""
    stable_lr, unstable_lr = float(sw.lo), float(sw.hi)
    pick = {lab: next(r for r in sw.runs if r["config"]["learning_rate"] == lr and r["config"]["seed"] == 0)
            for lab, lr in (("stable", stable_lr), ("collapsing", unstable_lr))}
    diff = max(abs(m["gap/cos_update_gap"] - m["gap/cos_grad_gap"]) for r in sw.runs
               for m in r["metrics"] if m.get("gap/cos_update_gap") is not None)
    cos_stable = [m["gap/cos_update_gap"] for m in pick["stable"]["metrics"]
                  if m.get("gap/cos_update_gap") is not None]
    return SimpleNamespace(pick=pick, diff=diff, cos_stable=float(np.mean(cos_stable)),
                           stable_lr=stable_lr, unstable_lr=unstable_lr)


def callback_report(cb: SimpleNamespace) -> str:
    shown = "< 1e-3" if cb.diff < 1e-3 else f"{cb.diff:.1e}"
    return (f"max |cos(Δθ, ĝ) - cos(-∇loss, ĝ)| over all SGD runs: {shown}\n"
            f"stable run (η = {cb.stable_lr:.3g}): mean cos(Δθ, ĝ) = {cb.cos_stable:.2f}")


def plot_callback(cb: SimpleNamespace):
    """§4's figure: success, the sampled Gap's norm and the update's alignment with it, for a
    stable and a collapsing run."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for (lab, r), c in zip(cb.pick.items(), ("C0", "C3")):
        lr = r["config"]["learning_rate"]

        def get(k, r=r):
            return [np.nan if m.get(k) is None else m[k] for m in r["metrics"]]
        axes[0].plot(get("gap/success"), color=c, label=f"{lab}, η = {lr:.3g}")
        axes[1].plot(get("gap/gap_norm"), color=c)
        axes[2].plot(get("gap/cos_update_gap"), color=c, label=f"cos(Δθ, ĝ), η = {lr:.3g}")
        axes[2].plot(get("gap/cos_grad_gap"), "x", color=c, ms=4, label="cos(−∇loss, ĝ)")
    axes[0].set(xlabel="step", ylabel="batch success (callback)", title="success")
    axes[1].set(xlabel="step", ylabel="‖ĝ‖", yscale="log", title="Gradient Gap norm (sampled)")
    axes[2].set(xlabel="step", ylabel="cosine", ylim=(-1.05, 1.05), title="alignment of the update with ĝ")
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=7)
    params = {"stable_lr": cb.stable_lr, "collapsing_lr": cb.unstable_lr, "seed": 0}
    return _saved(fig, "llm_gradient_gap_callback_tiny", params,
                  "The Gradient-Gap callback on a stable and a collapsing run: success, ‖ĝ‖, and the "
                  "alignment of the update with ĝ (gaps where no prompt had mixed rewards).")


def alignment(runs: list[dict]) -> SimpleNamespace:
    """The update's cosine with the Gap estimated on held-out completions (two disjoint halves of
    the problems), the noise ceiling cos(g_A, g_B), the attenuation-corrected alignment, and their
    mean and 90% CI over seeds at the start (the start is the same for every rate)."""
    align = pd.DataFrame(alignment_rows(runs))
    align["cos(update, g)"] = align[["cos(update, g_A)", "cos(update, g_B)"]].mean(axis=1)
    align["corrected"] = align["cos(update, g)"] / np.sqrt(
        align["cos(g_A, g_B)"].where(align["cos(g_A, g_B)"] > 0))
    start = align[align.step == 0].drop_duplicates("seed")
    ci = {col: mean_ci(start[col]) for col in ("cos same batch", "cos(update, g)", "cos(g_A, g_B)",
                                               "corrected")}
    return SimpleNamespace(table=align, start=start, ci=ci)


def alignment_report(al: SimpleNamespace) -> str:
    with pd.option_context("display.float_format", "{:.2f}".format, "display.width", 200):
        lines = [al.table.to_string(index=False)]
    lines.append(f"at the start ({len(al.start)} seeds; mean and 90% CI over seeds):")
    lines += [f"  {col:>16}: {m:.2f} [{lo:.2f}, {hi:.2f}]" for col, (m, lo, hi) in al.ci.items()]
    return "\n".join(lines)


def alignment_sentence(al: SimpleNamespace) -> str:
    """§5's verdict: aligned with an estimate the update never saw, at the start."""
    (s, _, _), (u, u_lo, _), (c, _, _), (k, k_lo, k_hi) = (al.ci[c] for c in (
        "cos same batch", "cos(update, g)", "cos(g_A, g_B)", "corrected"))
    aligned = "positively aligned" if u_lo > 0 else "not shown to be aligned"
    return (f"[measured] At the start the same-batch cosine is {s:.2f}, the cosine with the "
            f"independent estimate {u:.2f} (90% CI lower end {u_lo:.2f}) under a noise ceiling of "
            f"{c:.2f}; corrected for that noise the alignment is {k:.2f} [{k_lo:.2f}, {k_hi:.2f}]. The "
            f"update is {aligned} with a Gap estimate it never saw, over {len(al.start)} seeds.")


# ---- §6 AdamW with clipping ---------------------------------------------------------------------

def adamw(all_runs: dict, L: int, J0: float, J0_se: float, sgd_thr: float) -> SimpleNamespace:
    """AdamW's threshold with clipping 1.0 and without, by the same rule and J0, and the ratios the
    checks read (with/without clipping; AdamW/SGD as the negative control)."""
    clip = sweep_summary(all_runs[("adamw", L)], J0, J0_se)
    noclip = sweep_summary(all_runs[("adamw_noclip", L)], J0, J0_se)
    a_lrs = np.asarray(clip["lrs"])
    return SimpleNamespace(clip=clip, noclip=noclip, thr=clip["bracket"].as_tuple(),
                           n_thr=noclip["bracket"].as_tuple(), sgd_thr=sgd_thr,
                           step=float(np.max(a_lrs[1:] / a_lrs[:-1])),
                           ratio=clip["bracket"].estimate / noclip["bracket"].estimate,
                           vs_sgd=noclip["bracket"].estimate / sgd_thr)


def adamw_report(ad: SimpleNamespace) -> str:
    def curve(sm):
        return "  ".join(f"{lr:.2g}:{v:.2f}" for lr, v in zip(sm["lrs"], np.nanmean(sm["final"], 1)))
    (t, lo, hi), (nt, nlo, nhi) = ad.thr, ad.n_thr
    return "\n".join([
        "AdamW + clipping 1.0:  lr -> final success", curve(ad.clip),
        f"AdamW threshold {t:.2g} (stable <= {lo:.2g}, collapsed >= {hi:.2g}; 90% CI "
        f"[{ad.clip['ci'][0]:.2g}, {ad.clip['ci'][1]:.2g}], {len(ad.clip['seeds'])} seeds) vs SGD "
        f"threshold {ad.sgd_thr:.2g}",
        "AdamW, no clipping:    lr -> final success", curve(ad.noclip),
        f"AdamW without clipping: threshold {nt:.2g} (stable <= {nlo:.2g}, collapsed >= {nhi:.2g}; "
        f"90% CI [{ad.noclip['ci'][0]:.2g}, {ad.noclip['ci'][1]:.2g}], {len(ad.noclip['seeds'])} seeds); "
        f"with / without clipping = {ad.ratio:.2f} (one grid step = x{ad.step:.2f})",
        f"negative control, the same comparison between optimisers: AdamW (no clipping) / SGD = "
        f"{ad.vs_sgd:.3f}, far outside one grid step"])


def within_step(ratio: float, step: float) -> bool:
    """Two bracket estimates on a grid of this step agree when they differ by at most one step."""
    return bool(1 / (1.01 * step) <= ratio <= 1.01 * step)


def adamw_sentence(ad: SimpleNamespace) -> str:
    """§6's verdict: clipping does not move AdamW's threshold; the optimiser does."""
    clip_said = "within" if within_step(ad.ratio, ad.step) else "more than"
    return (f"[measured] AdamW's threshold is {ad.thr[0]:.2g} with clipping at 1.0 and {ad.n_thr[0]:.2g} "
            f"without (ratio {ad.ratio:.2f}, {clip_said} one grid step of ×{ad.step:.2f}), against "
            f"SGD's {ad.sgd_thr:.2g}: the optimiser moves the threshold by ×{1 / ad.vs_sgd:.0f}, "
            f"clipping does not.")


def plot_adamw(sw: SimpleNamespace, ad: SimpleNamespace):
    """§6's figure: the same sweep with SGD and with AdamW, with and without clipping."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(sw.lrs, sw.mean_final, "o-", label="SGD, no clipping")
    ax.plot(ad.clip["lrs"], np.nanmean(ad.clip["final"], 1), "s-", label="AdamW, clipping 1.0")
    ax.plot(ad.noclip["lrs"], np.nanmean(ad.noclip["final"], 1), "^--", label="AdamW, no clipping")
    ax.axhline(sw.J0, color="k", ls=":", label="start")
    ax.set(xscale="log", xlabel="learning rate η", ylabel="mean success, last 5 steps",
           title="the optimiser moves the threshold")
    ax.legend(fontsize=8)
    params = {"sgd_lrs": list(map(float, sw.lrs)), "adamw_lrs": list(map(float, ad.clip["lrs"]))}
    return _saved(fig, "llm_sgd_vs_adamw_tiny", params,
                  "The same sweep with SGD (the theory's step) and AdamW with and without clipping.")


# ---- How long does a 30-step threshold hold? (the plan configs/plans/tiny_horizon.yaml) --------

HORIZON_PLAN = "tiny_horizon"
HORIZON_STEPS = (30, 100, 300, 600)


def horizon_plan(warm_start_seed: int = 0):
    """The horizon plan (rates, seeds, collapse rule, prediction: fixed in its YAML before the
    runs), its runs starting from the warm start of ``warm_start_seed``."""
    from ..llm.plans import load_plan, plan_path

    plan = load_plan(plan_path(HORIZON_PLAN))
    return dataclasses.replace(plan, configs=[dataclasses.replace(c, warm_start_seed=warm_start_seed)
                                              for c in plan.configs])


def horizon_runs(plan, recompute: bool = False) -> list[dict]:
    """The plan's runs that are stored (a plan still running: the part stored so far), read through
    the store; ``recompute=True`` trains every one of them again."""
    from ..llm.store import stored_runs

    if recompute:
        return run_all(plan.configs, refresh=True, progress=False)
    return stored_runs(plan.configs)


def _mult_label(m: float) -> str:
    return f"{m:g}×"


def horizon(plan, runs: list[dict]) -> SimpleNamespace:
    """Per rate of the plan: each stored seed's collapse step by the plan's rule, and the fraction
    of seeds collapsed by step t (t = 1..max_steps) with a Wilson 90% interval."""
    from ..llm.horizon import collapse_fraction, collapse_step, fraction_table, run_rewards

    a = plan.analysis
    thr, mults, rule = float(a["threshold_30"]), [float(m) for m in a["multipliers"]], a["collapse"]
    rates = sorted({c.learning_rate for c in plan.configs})
    planned = [float(f"{thr * m:.2g}") for m in mults]
    if planned != rates:
        raise ValueError(f"plan {plan.name}: rates {rates} are not threshold_30 x multipliers {planned}")
    horizon_len = max(c.max_steps for c in plan.configs)
    seeds_planned = sorted({c.seed for c in plan.configs})
    per_rate, fractions = {}, {}
    for lr, m in zip(rates, mults):
        rs = sorted((r for r in runs if r["config"]["learning_rate"] == lr), key=lambda r: r["config"]["seed"])
        J0 = [warm_start_J0(r["warm_start"])[0] for r in rs]
        steps = [collapse_step(run_rewards(r), j, **rule) for r, j in zip(rs, J0)]
        # described after the runs, not pre-registered: a collapsed seed whose last window is back at
        # or above its start
        back = [t is not None and np.nanmean(run_rewards(r)[-rule["window"]:]) >= j
                for r, j, t in zip(rs, J0, steps)]
        per_rate[m] = {"lr": lr, "seeds": [r["config"]["seed"] for r in rs], "steps": steps,
                       "recovered": int(sum(back))}
        fractions[_mult_label(m)] = collapse_fraction(steps, horizon_len)
    J0s = {round(warm_start_J0(r["warm_start"])[0], 6) for r in runs}
    return SimpleNamespace(plan=plan, runs=runs, thr=thr, mults=mults, rates=rates, rule=rule,
                           horizon=horizon_len, seeds_planned=seeds_planned, per_rate=per_rate,
                           fractions=fractions, J0s=sorted(J0s),
                           table=fraction_table(fractions, HORIZON_STEPS))


def horizon_k(hz: SimpleNamespace, mult: float, step: int) -> tuple[int, int]:
    """(k collapsed by ``step``, n seeds stored) at the rate ``mult`` x the threshold."""
    f = hz.fractions[_mult_label(mult)]
    return int(f["k"][step - 1]), f["n"]


def horizon_report(hz: SimpleNamespace) -> str:
    """The seeds read per rate, each seed's collapse step, and the table k/n [Wilson 90%]."""
    lines = [f"plan {hz.plan.name}: 30-step threshold {hz.thr:g}; collapsed from the first step t >= "
             f"{hz.rule['window']} at which the trailing {hz.rule['window']}-step mean success < "
             f"{hz.rule['level']:g} x J0 (J0 = {', '.join(f'{j:.3f}' for j in hz.J0s)})"]
    for m, p in hz.per_rate.items():
        lines.append(f"{_mult_label(m):>5} (η = {p['lr']:g}): {len(p['seeds'])}/{len(hz.seeds_planned)} "
                     "seeds stored; collapse step per seed: "
                     + ", ".join(f"{s}:{'-' if t is None else t}" for s, t in zip(p["seeds"], p["steps"])))
    lines.append("collapsed seeds whose last window is back at or above J0 (not pre-registered): "
                 + ", ".join(f"{_mult_label(m)} {p['recovered']}/{sum(t is not None for t in p['steps'])}"
                             for m, p in hz.per_rate.items()))
    sps = [r["provenance"]["seconds_per_step"] for r in hz.runs if "seconds_per_step" in r.get("provenance", {})]
    if sps:
        lines.append(f"{len(hz.runs)} runs stored; median {np.median(sps):.2f} s/step when computed "
                     f"(RECOMPUTE=True retrains all {len(hz.plan.configs)})")
    lines.append("collapsed by step t, k/n [Wilson 90%]:")
    lines.append("  rate  " + "".join(f"{f't = {t}':>20}" for t in HORIZON_STEPS))
    for label in hz.fractions:
        cells = [row for row in hz.table if row["rate"] == label]
        lines.append(f"{label:>6}  " + "".join(
            f"{_cell(c):>20}" for c in cells))
    return "\n".join(lines)


def _cell(row: dict) -> str:
    return f"{row['k']}/{row['n']} [{row['lo']:.2f}, {row['hi']:.2f}]"


def horizon_predictions(hz: SimpleNamespace) -> dict:
    """The plan's pre-registered predictions P1-P3, each (holds, the counts it read)."""
    pr = hz.plan.analysis["prediction"]
    end = hz.horizon
    p1 = {m: horizon_k(hz, m, 30) for m in pr["p1_multipliers"]}
    k30, k_end = horizon_k(hz, pr["p2_multiplier"], 30), horizon_k(hz, pr["p2_multiplier"], end)
    ks = [horizon_k(hz, m, end)[0] for m in hz.mults]
    return {"P1": (all(k <= pr["p1_max_collapsed_by_30"] for k, _ in p1.values()), p1),
            "P2": (k_end[0] > k30[0], (k30, k_end)),
            "P3": (all(a <= b + pr["p3_slack"] for a, b in zip(ks, ks[1:])), ks)}


def horizon_check_lines(hz: SimpleNamespace) -> str:
    """The predictions' verdicts in counts k/n (stable across CPUs: read from the stored runs)."""
    pr, out = hz.plan.analysis["prediction"], horizon_predictions(hz)
    ok1, p1 = out["P1"]
    ok2, ((k30, n), (k_end, _)) = out["P2"]
    ok3, ks = out["P3"]
    return "\n".join([
        f"P1 by step 30, at most {pr['p1_max_collapsed_by_30']} collapsed at "
        + ", ".join(f"{_mult_label(m)}: {k}/{n}" for m, (k, n) in p1.items()) + f" -> {SAID[ok1]}",
        f"P2 at {_mult_label(pr['p2_multiplier'])}: {k30}/{n} collapsed by step 30, {k_end}/{n} by step "
        f"{hz.horizon} -> {SAID[ok2]}",
        f"P3 by step {hz.horizon}: " + ", ".join(f"{_mult_label(m)} {k}" for m, k in zip(hz.mults, ks))
        + f" collapsed, ordered in the rate within {pr['p3_slack']} seed -> {SAID[ok3]}"])


def horizon_sentence(hz: SimpleNamespace) -> str:
    """The [measured] answer: what a 30-step threshold promises a user who trains for 600 steps."""
    parts = []
    for m in hz.mults:
        k30, n = horizon_k(hz, m, 30)
        k_end, _ = horizon_k(hz, m, hz.horizon)
        f = hz.fractions[_mult_label(m)]
        parts.append(f"at {_mult_label(m)} the threshold (η = {hz.per_rate[m]['lr']:g}) {k30}/{n} seeds "
                     f"had collapsed by step 30 and {k_end}/{n} by step {hz.horizon} (90% Wilson interval "
                     f"{f['lo'][-1]:.2f}-{f['hi'][-1]:.2f})")
    below = [m for m in hz.mults if m < 1]
    grew = {m: horizon_k(hz, m, hz.horizon)[0] - horizon_k(hz, m, 30)[0] for m in below}
    if any(grew.values()):
        tail = (f"a rate below the 30-step threshold can still collapse: between step 30 and step "
                f"{hz.horizon} the count of collapsed seeds grew by "
                + " and ".join(f"{g} at {_mult_label(m)}" for m, g in grew.items()) + ".")
    else:
        his = ", ".join(f"{hz.fractions[_mult_label(m)]['hi'][-1]:.2f} at {_mult_label(m)}" for m in below)
        tail = ("no seed below the 30-step threshold collapsed after step 30 here; these seeds do "
                f"not rule out a fraction up to {his} by step {hz.horizon}.")
    return ("[measured] " + "; ".join(parts) + ". For a user who trains for "
            f"{hz.horizon} steps, " + tail)


def horizon_verdict_sentence(hz: SimpleNamespace) -> str:
    """The pre-registered predictions' verdicts, and what the rule's "collapsed" does not mean."""
    out = horizon_predictions(hz)
    verdicts = ", ".join(f"{k} {SAID[v[0]]}" for k, v in out.items())
    n_coll = {m: sum(t is not None for t in p["steps"]) for m, p in hz.per_rate.items()}
    back = "; ".join(f"{p['recovered']} of the {n_coll[m]} collapsed at {_mult_label(m)}"
                     for m, p in hz.per_rate.items() if n_coll[m])
    tail = (f" A collapse by this rule is not always the end of a run: {back} ended with their last "
            f"{hz.rule['window']} steps back at or above J0 (read after the runs, not predicted)."
            if back else "")
    return (f"[measured] Of the predictions written before the runs (configs/plans/tiny_horizon.yaml), "
            f"with {_seed_range(hz)} seeds per rate: {verdicts}." + tail)


def _seed_range(hz: SimpleNamespace) -> str:
    ns = [f["n"] for f in hz.fractions.values()]
    return f"{min(ns)}" if min(ns) == max(ns) else f"{min(ns)}-{max(ns)}"


def horizon_not_reproduced(hz: SimpleNamespace) -> str:
    """The line for "What we could not reproduce": the predictions that did not hold, if any."""
    failed = [k for k, v in horizon_predictions(hz).items() if not v[0]]
    if not failed:
        return "[measured] §7: every prediction written before the horizon runs holds."
    return (f"[measured] §7: prediction(s) {', '.join(failed)}, written before the horizon runs as "
            "asserted checks, do not hold on the stored seeds; they are reported, not asserted.")


def plot_collapse_fraction(hz: SimpleNamespace):
    """The fraction of seeds collapsed by step t per rate, with Wilson 90% bands; the 30-step mark."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.8))
    w = hz.rule["window"]
    for i, (label, f) in enumerate(hz.fractions.items()):
        m, t = hz.mults[i], f["t"][w - 1:]   # no verdict before a full window
        ax.step(t, f["frac"][w - 1:], where="post", color=f"C{i}", lw=3 - 0.8 * i, ls=("-", "--", "-.")[i % 3],
                label=f"{label} threshold (η = {hz.per_rate[m]['lr']:g}), n = {f['n']} seeds")
        ax.fill_between(t, f["lo"][w - 1:], f["hi"][w - 1:], step="post", color=f"C{i}", alpha=0.15)
    ax.axvline(30, color="k", ls=":", label="step 30: the horizon of the threshold")
    ax.set(xlabel=f"GRPO step t (from step {w}, the first full {w}-step window)",
           ylabel="fraction of seeds collapsed by step t", ylim=(-0.02, 1.02), xlim=(w, hz.horizon),
           xscale="log", title=f"tiny model, SGD, grpo, L = 2: rates × the 30-step threshold {hz.thr:g}")
    ticks = [t for t in (20, 30, 50, 100, 200, 300, 600) if w <= t <= hz.horizon]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.tight_layout()
    params = {"plan": hz.plan.name, "threshold_30": hz.thr, "multipliers": hz.mults,
              "seeds": [len(p["seeds"]) for p in hz.per_rate.values()], "rule": hz.rule}
    caption = ("Fraction of seeds collapsed by step t (trailing 20-step success below half the start), "
               "with Wilson 90% bands, at 0.1x, 0.3x and 1x the 30-step threshold; dotted: step 30. "
               "Seeds read per rate: " + ", ".join(f"{l} {f['n']}" for l, f in hz.fractions.items()) + ".")
    return _saved(fig, "tiny_collapse_fraction_vs_step", params, caption)
